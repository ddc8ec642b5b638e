// The simulated regtest world the three simulators share: one SQLite file under DATA_DIR/sim
// (not the gateway database) holding the seed, the chain, the Ark server's VTXOs and pending
// txs, the asset daemon's assets and the Lightning node's invoices and payments. Every change
// is one IMMEDIATE transaction, so several processes (API, workers, `arkrelay sim pay`) share
// one consistent world, and a restart keeps it. Streams poll change logs by sequence number:
// a change made by another process is seen within POLL_MS, one made here at once.
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { DatabaseSync, type SQLInputValue } from 'node:sqlite';
import { StartupError } from '../../errors.ts';
import { prepareOwnerOnlySqlite } from '../../store/file-modes.ts';
import { deriveKey, type SimKey } from './keys.ts';

export const POLL_MS = 100;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS blocks (height INTEGER PRIMARY KEY, hash TEXT NOT NULL, time INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS chain_txs (
  txid TEXT PRIMARY KEY, kind TEXT NOT NULL, height INTEGER NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS scripts (script TEXT PRIMARY KEY, owner TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS vtxos (
  outpoint TEXT PRIMARY KEY, txid TEXT NOT NULL, vout INTEGER NOT NULL, owner TEXT, script TEXT NOT NULL,
  amount TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, created_by TEXT NOT NULL,
  spent_by TEXT, pending_by TEXT, preconfirmed INTEGER NOT NULL, swept INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS vtxos_script ON vtxos (script);
CREATE INDEX IF NOT EXISTS vtxos_pending ON vtxos (pending_by);
CREATE TABLE IF NOT EXISTS ark_txs (
  txid TEXT PRIMARY KEY, state TEXT NOT NULL, final_ark_psbt TEXT NOT NULL, checkpoints TEXT NOT NULL,
  inputs TEXT NOT NULL, created_at INTEGER NOT NULL, finalized_at INTEGER);
CREATE TABLE IF NOT EXISTS ark_events (seq INTEGER PRIMARY KEY AUTOINCREMENT, payload TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS assets (
  asset_id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, decimals INTEGER NOT NULL,
  group_key TEXT, minted TEXT NOT NULL, balance TEXT NOT NULL, genesis_point TEXT NOT NULL,
  batch_key TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS asset_addresses (
  encoded TEXT PRIMARY KEY, asset_id TEXT NOT NULL, amount TEXT NOT NULL, script_key TEXT NOT NULL,
  created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS asset_transfers (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, anchor_txid TEXT NOT NULL, created_at INTEGER NOT NULL,
  outputs TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS invoices (
  payment_hash TEXT PRIMARY KEY, node TEXT NOT NULL, payment_request TEXT NOT NULL, preimage TEXT NOT NULL,
  amount_msat TEXT NOT NULL, memo TEXT NOT NULL, state TEXT NOT NULL, created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL, add_index INTEGER NOT NULL, settle_index INTEGER NOT NULL DEFAULT 0,
  settled_at INTEGER, amount_paid_msat TEXT, asset_id TEXT, asset_amount TEXT);
CREATE INDEX IF NOT EXISTS invoices_settle ON invoices (node, settle_index);
CREATE TABLE IF NOT EXISTS invoice_events (seq INTEGER PRIMARY KEY AUTOINCREMENT, payment_hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS payments (
  payment_hash TEXT PRIMARY KEY, payment_request TEXT NOT NULL, destination TEXT NOT NULL,
  amount_msat TEXT NOT NULL, fee_msat TEXT NOT NULL, state TEXT NOT NULL, preimage TEXT,
  failure_reason TEXT, created_at INTEGER NOT NULL, planned TEXT NOT NULL, planned_reason TEXT,
  resolve_at_ms INTEGER NOT NULL, asset_id TEXT, asset_amount TEXT);
`;

export type Row = Record<string, unknown>;

export interface SimWorldOptions {
  /** DATA_DIR; the world lives in DATA_DIR/sim/world.sqlite. Undefined: in memory (tests). */
  readonly dataDir: string | undefined;
  /** Seed of every key; must match the stored one when the world exists. */
  readonly seed?: string;
  /** Milliseconds since the epoch; injectable for tests. */
  readonly now?: () => number;
}

export interface SimKeys {
  readonly arkServer: SimKey;
  readonly lnNode: SimKey;
  readonly lnExternal: SimKey;
  readonly tapd: SimKey;
}

export class SimWorld {
  readonly db: DatabaseSync;
  readonly keys: SimKeys;
  readonly seed: string;
  readonly path: string;
  readonly now: () => number;
  readonly #listeners = new Set<() => void>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: SimWorldOptions) {
    this.now = options.now ?? Date.now;
    if (options.dataDir) {
      this.path = join(options.dataDir, 'sim', 'world.sqlite');
      // It holds the simulated daemons' seed: owner-only, like everything under DATA_DIR.
      prepareOwnerOnlySqlite(this.path);
    } else {
      this.path = ':memory:';
    }
    this.db = new DatabaseSync(this.path);
    this.db.exec('PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL;');
    this.db.exec(SCHEMA);
    this.seed = this.tx(() => {
      const stored = this.meta('seed');
      if (stored !== undefined) {
        if (options.seed !== undefined && options.seed !== stored) {
          throw new StartupError(
            'SIM_SEED',
            `differs from the seed of the simulated world in ${this.path}; unset it or move that world away`,
          );
        }
        return stored;
      }
      const seed = options.seed ?? randomBytes(32).toString('hex');
      this.setMeta('seed', seed);
      return seed;
    });
    this.keys = {
      arkServer: deriveKey(this.seed, 'ark-server'),
      lnNode: deriveKey(this.seed, 'ln-node'),
      lnExternal: deriveKey(this.seed, 'ln-external'),
      tapd: deriveKey(this.seed, 'tapd'),
    };
    if (this.tip() === undefined) this.tx(() => this.mine(101, []));
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Unix seconds of the world clock. */
  nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }

  /** A value derived from the seed, for preimages and ids: deterministic given the seed. */
  derive(label: string, ...parts: (string | number | bigint)[]): Buffer {
    return createHash('sha256')
      .update(`arkrelay-sim/${label}/${this.seed}/${parts.join('/')}`)
      .digest();
  }

  /** Runs fn in one IMMEDIATE transaction (nested calls join the outer one). */
  tx<T>(fn: () => T): T {
    if (this.db.isTransaction) return fn();
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const result = fn();
      this.db.exec('COMMIT');
      return result;
    } catch (error) {
      this.db.exec('ROLLBACK');
      throw error;
    }
  }

  all(sql: string, ...params: SQLInputValue[]): Row[] {
    return this.db.prepare(sql).all(...params) as Row[];
  }

  get(sql: string, ...params: SQLInputValue[]): Row | undefined {
    return this.db.prepare(sql).get(...params) as Row | undefined;
  }

  run(sql: string, ...params: SQLInputValue[]): { changes: number; lastInsertRowid: number } {
    const result = this.db.prepare(sql).run(...params);
    return { changes: Number(result.changes), lastInsertRowid: Number(result.lastInsertRowid) };
  }

  meta(key: string): string | undefined {
    return this.get('SELECT value FROM meta WHERE key = ?', key)?.value as string | undefined;
  }

  setMeta(key: string, value: string): void {
    this.run(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      key,
      value,
    );
  }

  tip(): { height: number; hash: string; time: number } | undefined {
    const row = this.get('SELECT height, hash, time FROM blocks ORDER BY height DESC LIMIT 1');
    return row ? { height: Number(row.height), hash: String(row.hash), time: Number(row.time) } : undefined;
  }

  /** Mines `count` blocks; the first one confirms `txids`. Returns the new height. */
  mine(count: number, txids: readonly string[]): number {
    return this.tx(() => {
      let tip = this.tip() ?? { height: -1, hash: '00'.repeat(32), time: this.nowSeconds() - 101 * 600 };
      for (let i = 0; i < count; i++) {
        const height = tip.height + 1;
        const time = Math.max(this.nowSeconds(), tip.time + 1);
        const hash = createHash('sha256')
          .update(`${tip.hash}/${height}/${i === 0 ? txids.join(',') : ''}`)
          .digest('hex');
        this.run('INSERT INTO blocks (height, hash, time) VALUES (?, ?, ?)', height, hash, time);
        tip = { height, hash, time };
      }
      return tip.height;
    });
  }

  /** Tells every stream of this process to look for changes now (other processes: next poll). */
  notify(): void {
    for (const listener of this.#listeners) queueMicrotask(listener);
  }

  /** Calls `listener` on every poll tick and after every local change; returns the remover. */
  watch(listener: () => void): () => void {
    this.#listeners.add(listener);
    if (!this.#timer) {
      this.#timer = setInterval(() => {
        for (const l of this.#listeners) l();
      }, POLL_MS);
      this.#timer.unref();
    }
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0 && this.#timer) {
        clearInterval(this.#timer);
        this.#timer = undefined;
      }
    };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#listeners.clear();
    this.db.close();
  }
}
