// The VTXO state service: the ONLY code that changes a VTXO row's status. The rows are the one
// source of truth of who owns what; balances are derived from them, never stored.
//
//   assigned ──lockForSession──▶ pending_spend      available (inventory) ──lockInventory──▶ pending_spend
//   pending_spend ──releaseSession / expireLocks──▶ assigned, or available for inventory (amount 0)
//   pending_spend ──markSpent (lock holder only)──▶ spent
//   available | assigned ──expireVtxos (past expires_at)──▶ expired
//   assigned (a land's units, held by the gateway) ──retireWithin (payment settled)──▶ available
//
// A user never becomes an owner by a row change alone: inventory reaches a user only as the
// input of an Ark transaction whose output pays the user's script (markSpent records both).
//
// Every transition is one transaction whose UPDATE repeats the expected state in its WHERE
// (`status = …`, the lock holder, the owner) and whose affected-row count is checked: when
// two callers race, the database lets exactly one of them change a row. Multi-row transitions
// are all-or-nothing: a short count rolls the whole transaction back.
//
// MariaDB: the rows of a lock are first locked with SELECT … FOR UPDATE in primary-key order,
// so two sessions wanting overlapping sets queue on the same first row instead of deadlocking;
// a deadlock or lock wait timeout that still happens is retried (isTransientConflict).
// SQLite: transactions begin immediate (one writer at a time), so the same code is serial.
import { sql, type Transaction } from 'kysely';
import type { Coin, Selection, SelectionOptions } from '../domain/coin-selection.ts';
import { ProtocolError } from '../domain/error-codes.ts';
import { SpendableCoins } from './spendable-coins.ts';
import type { Database } from '../store/database.ts';
import { isTransientConflict, isUniqueViolation } from '../store/db-errors.ts';
import type { Schema, Vtxo, VtxoStatus } from '../store/schema.ts';
import { toBigInt } from '../store/values.ts';
import { bookMovement, type NewMovement } from './movements.ts';

/** A VTXO row with its amounts read exactly. */
export interface VtxoRecord {
  readonly vtxoId: string;
  readonly txid: string;
  readonly vout: number;
  readonly ownerPubkey: string;
  readonly assetId: string;
  readonly amount: bigint;
  readonly sats: bigint;
  readonly status: VtxoStatus;
  readonly scriptHex: string | null;
  readonly lockedBySession: string | null;
  readonly lockExpiresAt: number | null;
  readonly batchTxid: string | null;
  readonly expiresAt: number | null;
  readonly createdByTxid: string | null;
  readonly spentByTxid: string | null;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly version: number;
}

/** A VTXO to record: an output of an Ark transaction (payment, change, split) or inventory. */
export interface NewOutput {
  readonly txid: string;
  readonly vout: number;
  readonly ownerPubkey: string;
  readonly assetId: string;
  readonly amount: bigint;
  readonly sats: bigint;
  /** `assigned` for a user's output (default), `available` for gateway inventory. */
  readonly status?: 'assigned' | 'available';
  readonly scriptHex?: string | null;
  readonly batchTxid?: string | null;
  readonly expiresAt?: number | null;
  readonly createdByTxid?: string | null;
}

export interface AssetBalance {
  readonly assetId: string;
  /** Spendable now: the owner's `assigned` VTXOs. */
  readonly available: bigint;
  /** Locked by open sessions: `pending_spend`. */
  readonly pending: bigint;
  readonly availableCount: number;
  readonly pendingCount: number;
}

export interface ListOptions {
  readonly assetId?: string;
  readonly statuses?: readonly VtxoStatus[];
  /** Page size (default 100, at most 1 000). */
  readonly limit?: number;
  /** The last vtxo_id of the previous page. */
  readonly after?: string;
}

export interface VtxoStoreOptions {
  /** The clock, in unix ms (tests pass a fake one). */
  readonly now?: () => number;
  /** Attempts for a transaction that lost a lock conflict (default 8). */
  readonly maxAttempts?: number;
  /**
   * Time coin selection may spend on its prefix search before the range reads (default 10 ms,
   * see SpendableCoins). Both give the same answer; tests that check which path ran lift it.
   */
  readonly prefixSearchBudgetMs?: number;
}

type Trx = Transaction<Schema>;

/** Thrown inside a transaction to roll it back; carries the protocol error to report. */
class Rollback extends Error {
  readonly reason: ProtocolError;
  constructor(reason: ProtocolError) {
    super(reason.message);
    this.reason = reason;
  }
}

const TXID = /^[0-9a-f]{64}$/;
export const VTXO_STATUSES: readonly VtxoStatus[] = [
  'available',
  'assigned',
  'pending_spend',
  'spent',
  'expired',
];
const UNSPENT: readonly VtxoStatus[] = ['assigned', 'pending_spend'];

export function toRecord(row: Vtxo): VtxoRecord {
  return {
    vtxoId: row.vtxo_id,
    txid: row.txid,
    vout: Number(row.vout),
    ownerPubkey: row.owner_pubkey,
    assetId: row.asset_id,
    amount: toBigInt(row.amount),
    sats: toBigInt(row.sats),
    status: row.status,
    scriptHex: row.script_hex,
    lockedBySession: row.locked_by_session,
    lockExpiresAt: row.lock_expires_at === null ? null : Number(row.lock_expires_at),
    batchTxid: row.batch_txid,
    expiresAt: row.expires_at === null ? null : Number(row.expires_at),
    createdByTxid: row.created_by_txid,
    spentByTxid: row.spent_by_txid,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    version: Number(row.version),
  };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A lock by `sessionId` until now + ttl. */
const locked = (sessionId: string, now: number, lockTtlMs: number) => ({
  status: 'pending_spend' as const,
  locked_by_session: sessionId,
  locked_at: now,
  lock_expires_at: now + lockTtlMs,
  updated_at: now,
  version: sql<number>`version + 1`,
});

/** A released lock: the VTXO is its owner's again (release and expiry alike); an inventory
 * VTXO (amount 0, see NewOutput) goes back to the inventory. */
const unlocked = (now: number) => ({
  status: sql<VtxoStatus>`case when amount = 0 then 'available' else 'assigned' end`,
  locked_by_session: null,
  locked_at: null,
  lock_expires_at: null,
  updated_at: now,
  version: sql<number>`version + 1`,
});

export class VtxoStore {
  readonly #database: Database;
  readonly #now: () => number;
  readonly #coins: SpendableCoins;
  readonly #maxAttempts: number;

  constructor(database: Database, options: VtxoStoreOptions = {}) {
    this.#database = database;
    this.#now = options.now ?? Date.now;
    this.#maxAttempts = options.maxAttempts ?? 8;
    this.#coins = new SpendableCoins(database, this.#now, options.prefixSearchBudgetMs);
  }

  /** Runs `work` in a transaction, again when it lost a deadlock; a Rollback becomes its error. */
  async #transaction<T>(work: (trx: Trx) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#database.db.transaction().execute(work);
      } catch (error) {
        if (error instanceof Rollback) throw error.reason;
        if (!isTransientConflict(error) || attempt >= this.#maxAttempts) throw error;
        // Jittered backoff so the retried transactions do not collide again in step.
        await pause(Math.random() * 5 * attempt);
      }
    }
  }

  /**
   * Locks `count` inventory VTXOs of `assetId` holding at least `minSats` each for `sessionId`,
   * oldest expiry last (the freshest VTXOs live longest in users' hands, so they go first).
   * Rows another session takes meanwhile are skipped; 2001 when the inventory has too few.
   */
  async lockInventory(
    sessionId: string,
    assetId: string,
    count: number,
    minSats: bigint,
    lockTtlMs: number,
  ): Promise<VtxoRecord[]> {
    if (!sessionId) throw new TypeError('sessionId is required');
    if (!Number.isSafeInteger(count) || count <= 0) throw new RangeError('count must be > 0');
    return this.#transaction(async (trx) => {
      const now = this.#now();
      // Read without locking, then take rows one conditional update at a time: a row another
      // session takes meanwhile matches no more (InnoDB re-reads the committed row for an
      // UPDATE) and is skipped. (FOR UPDATE SKIP LOCKED would lock every row the ORDER BY
      // examines, so concurrent sessions would skip everything.)
      const candidates = (
        await trx
          .selectFrom('vtxos')
          .select('vtxo_id')
          .where('status', '=', 'available')
          .where('asset_id', '=', assetId)
          .where('sats', '>=', minSats)
          .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now + lockTtlMs)]))
          .orderBy('expires_at', 'desc')
          .orderBy('vtxo_id')
          .limit(count * 4 + 16)
          .execute()
      ).map((r) => r.vtxo_id);
      const taken: string[] = [];
      for (const id of candidates) {
        if (taken.length === count) break;
        const result = await trx
          .updateTable('vtxos')
          .set(locked(sessionId, now, lockTtlMs))
          .where('vtxo_id', '=', id)
          .where('status', '=', 'available')
          .executeTakeFirst();
        if (result.numUpdatedRows === 1n) taken.push(id);
      }
      if (taken.length < count) {
        throw new Rollback(
          new ProtocolError('SERVICE_UNAVAILABLE', `the gateway's ${assetId} inventory is short of VTXOs`),
        );
      }
      return this.#read(trx, taken);
    });
  }

  /**
   * Locks `vtxoIds` (owned by `owner`, of `assetId`) for `sessionId` until now + lockTtlMs: every
   * one of them or none. Locking again what the session already holds is a no-op (it renews the
   * expiry). 2003 for an unknown VTXO or one of another owner or asset; 2002 for one already
   * spent, expired or locked by another session.
   */
  async lockForSession(
    sessionId: string,
    vtxoIds: readonly string[],
    owner: string,
    assetId: string,
    lockTtlMs: number,
  ): Promise<VtxoRecord[]> {
    if (!sessionId) throw new TypeError('sessionId is required');
    if (!Number.isSafeInteger(lockTtlMs) || lockTtlMs <= 0) throw new RangeError('lockTtlMs must be > 0');
    const ids = uniqueSorted(vtxoIds);
    return this.#transaction(async (trx) => {
      const rows = await this.#lockRows(trx, ids);
      for (const id of ids) {
        const row = rows.get(id);
        if (!row || row.owner_pubkey !== owner || row.asset_id !== assetId) {
          throw new Rollback(new ProtocolError('VTXO_UNKNOWN', `unknown VTXO or not owned: ${id}`));
        }
        const mine = row.status === 'pending_spend' && row.locked_by_session === sessionId;
        if (row.status !== 'assigned' && !mine) {
          throw new Rollback(
            new ProtocolError(
              'VTXO_SPENT',
              `VTXO ${id} is ${row.status === 'pending_spend' ? 'locked' : row.status}`,
            ),
          );
        }
      }
      const now = this.#now();
      const result = await trx
        .updateTable('vtxos')
        .set(locked(sessionId, now, lockTtlMs))
        .where('vtxo_id', 'in', ids)
        .where('owner_pubkey', '=', owner)
        .where('asset_id', '=', assetId)
        .where((eb) =>
          eb.or([
            eb('status', '=', 'assigned'),
            eb.and([eb('status', '=', 'pending_spend'), eb('locked_by_session', '=', sessionId)]),
          ]),
        )
        .executeTakeFirst();
      // Without FOR UPDATE (SQLite) another writer could only have come before our BEGIN
      // IMMEDIATE; the count still guards both dialects.
      if (result.numUpdatedRows !== BigInt(ids.length)) {
        throw new Rollback(new ProtocolError('VTXO_SPENT', 'a VTXO was locked by another session'));
      }
      return this.#read(trx, ids);
    });
  }

  /** Returns every VTXO `sessionId` holds to its owner (`assigned`); the count released. */
  async releaseSession(sessionId: string): Promise<number> {
    return this.#transaction((trx) => this.releaseWithin(trx, sessionId));
  }

  /**
   * A land's VTXO once its Lightning payment settled: the gateway's `assigned` VTXO holding
   * exactly `amount` of `assetId` becomes inventory of `inventoryAssetId` (`available`, amount
   * 0, its sats kept), inside the caller's transaction that books the `land` movement. False
   * when the row is not in that state (already retired, refunded, or not this land's).
   */
  async retireWithin(
    trx: Trx,
    vtxo: { readonly vtxoId: string; readonly assetId: string; readonly amount: bigint },
    gatewayPubkey: string,
    inventoryAssetId: string,
  ): Promise<boolean> {
    const result = await trx
      .updateTable('vtxos')
      .set({
        status: 'available',
        asset_id: inventoryAssetId,
        amount: 0n,
        locked_by_session: null,
        locked_at: null,
        lock_expires_at: null,
        updated_at: this.#now(),
        version: sql<number>`version + 1`,
      })
      .where('vtxo_id', '=', vtxo.vtxoId)
      .where('status', '=', 'assigned')
      .where('owner_pubkey', '=', gatewayPubkey)
      .where('asset_id', '=', vtxo.assetId)
      .where('amount', '=', vtxo.amount)
      .where('sats', '>', 0n)
      .executeTakeFirst();
    return result.numUpdatedRows === 1n;
  }

  /** releaseSession inside the caller's transaction (a session failing releases as it fails). */
  async releaseWithin(trx: Trx, sessionId: string): Promise<number> {
    const result = await trx
      .updateTable('vtxos')
      .set(unlocked(this.#now()))
      .where('locked_by_session', '=', sessionId)
      .where('status', '=', 'pending_spend')
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /**
   * Marks spent, by `spentByTxid`, every VTXO `sessionId` holds (or exactly `vtxoIds` of them,
   * releasing the rest), and records the transaction's `outputs` in the same transaction (see
   * spendWithin). Only the lock holder can: 2002 when the session holds none of them.
   */
  async markSpent(
    sessionId: string,
    spentByTxid: string,
    options: {
      readonly vtxoIds?: readonly string[];
      readonly outputs?: readonly NewOutput[];
      /** Supply changes this spend accounts for (a land, a burn), booked in the same transaction. */
      readonly movements?: readonly NewMovement[];
    } = {},
  ): Promise<{ spent: VtxoRecord[]; created: VtxoRecord[] }> {
    const ids = options.vtxoIds ? uniqueSorted(options.vtxoIds) : undefined;
    return this.#transaction(async (trx) => {
      const held = ids ?? (await this.#heldBy(trx, sessionId));
      if (held.length === 0) {
        throw new Rollback(new ProtocolError('VTXO_SPENT', `session ${sessionId} holds no VTXO`));
      }
      return this.spendWithin(
        trx,
        [{ sessionId, vtxoIds: held }],
        spentByTxid,
        options.outputs ?? [],
        options.movements,
      );
    });
  }

  /**
   * Settlement of one Ark transaction inside the caller's transaction (which also records the
   * sessions and the announcement): exactly the VTXOs the transaction spends, each held by the
   * session named with it, become spent by `spentByTxid`; `outputs` are recorded and `movements`
   * booked. Anything else those sessions still hold is released (a lock a crash left behind).
   * Throws ProtocolError 2002 when a session lost a lock — the caller's transaction then rolls back.
   */
  async spendWithin(
    trx: Trx,
    inputs: readonly { readonly sessionId: string; readonly vtxoIds: readonly string[] }[],
    spentByTxid: string,
    outputs: readonly NewOutput[],
    movements: readonly NewMovement[] = [],
  ): Promise<{ spent: VtxoRecord[]; created: VtxoRecord[] }> {
    if (!TXID.test(spentByTxid)) throw new TypeError('spentByTxid must be 64 lowercase hex');
    const now = this.#now();
    const spent: string[] = [];
    for (const { sessionId, vtxoIds } of inputs) {
      const ids = uniqueSorted(vtxoIds);
      await this.#lockRows(trx, ids);
      if (!(await this.#spend(trx, sessionId, ids, spentByTxid, now))) {
        throw new ProtocolError('VTXO_SPENT', `session ${sessionId} does not hold every input`);
      }
      spent.push(...ids);
    }
    for (const sessionId of new Set(inputs.map((i) => i.sessionId))) await this.releaseWithin(trx, sessionId);
    const created = await this.#insert(trx, outputs, spentByTxid);
    for (const movement of movements) await bookMovement(trx, movement, now);
    return { spent: await this.#read(trx, spent.sort()), created };
  }

  /**
   * Settlement of an Ark transaction the Ark server has finalized, inside the caller's
   * transaction: exactly `vtxoIds` become spent by `spentByTxid`, whoever's lock holds them — the
   * server is the truth, so a lock another session took meanwhile loses (that session's own
   * transaction can no longer be accepted by the server). `outputs` are recorded and `movements`
   * booked. Throws a plain Error (never a protocol code: this is the ledger disagreeing with the
   * server) when one of them is already spent or expired; the caller's transaction rolls back.
   */
  async settleWithin(
    trx: Trx,
    vtxoIds: readonly string[],
    spentByTxid: string,
    outputs: readonly NewOutput[],
    movements: readonly NewMovement[] = [],
  ): Promise<{ spent: VtxoRecord[]; created: VtxoRecord[] }> {
    if (!TXID.test(spentByTxid)) throw new TypeError('spentByTxid must be 64 lowercase hex');
    const ids = uniqueSorted(vtxoIds);
    const now = this.#now();
    await this.#lockRows(trx, ids);
    const result = await trx
      .updateTable('vtxos')
      .set({
        status: 'spent',
        spent_by_txid: spentByTxid,
        locked_by_session: null,
        locked_at: null,
        lock_expires_at: null,
        updated_at: now,
        version: sql<number>`version + 1`,
      })
      .where('vtxo_id', 'in', ids)
      .where('status', 'in', ['available', 'assigned', 'pending_spend'])
      .executeTakeFirst();
    if (result.numUpdatedRows !== BigInt(ids.length)) {
      throw new Error(
        `the Ark server finalized ${spentByTxid}, but the ledger has some of its inputs spent or expired already`,
      );
    }
    const created = await this.#insert(trx, outputs, spentByTxid);
    for (const movement of movements) await bookMovement(trx, movement, now);
    return { spent: await this.#read(trx, ids), created };
  }

  /**
   * Keeps `sessionId`'s locks until `until` (unix ms): its transaction is at the Ark server, and
   * only settlement or the reconciliation may free its inputs — never a lock expiry.
   */
  async holdWithin(trx: Trx, sessionId: string, until: number): Promise<void> {
    await trx
      .updateTable('vtxos')
      .set({ lock_expires_at: until, updated_at: this.#now(), version: sql<number>`version + 1` })
      .where('locked_by_session', '=', sessionId)
      .where('status', '=', 'pending_spend')
      .execute();
  }

  /**
   * Locks `vtxoIds` for `holderId` until `until` whatever they are now, unless spent or expired:
   * the reconciliation found them held at the Ark server by a pending transaction (a wallet that
   * submitted on its own), so nothing may pick them. Returns how many it holds.
   */
  async holdForServer(vtxoIds: readonly string[], holderId: string, until: number): Promise<number> {
    const ids = uniqueSorted(vtxoIds);
    return this.#transaction(async (trx) => {
      await this.#lockRows(trx, ids);
      const now = this.#now();
      const result = await trx
        .updateTable('vtxos')
        .set(locked(holderId, now, until - now))
        .where('vtxo_id', 'in', ids)
        .where('status', 'in', ['available', 'assigned', 'pending_spend'])
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    });
  }

  /** Releases exactly `vtxoIds`, each only while `holderId` still holds it; the count released. */
  async releaseVtxos(vtxoIds: readonly string[], holderId: string): Promise<number> {
    const ids = uniqueSorted(vtxoIds);
    return this.#transaction(async (trx) => {
      const result = await trx
        .updateTable('vtxos')
        .set(unlocked(this.#now()))
        .where('vtxo_id', 'in', ids)
        .where('locked_by_session', '=', holderId)
        .where('status', '=', 'pending_spend')
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    });
  }

  /**
   * Records new VTXOs (outputs of an Ark transaction, or inventory) and the supply changes
   * they account for (a lift, a mint), in one transaction.
   */
  async createOutputs(
    outputs: readonly NewOutput[],
    movements: readonly NewMovement[] = [],
  ): Promise<VtxoRecord[]> {
    return this.#transaction(async (trx) => {
      const created = await this.#insert(trx, outputs);
      for (const movement of movements) await bookMovement(trx, movement, this.#now());
      return created;
    });
  }

  /**
   * VTXOs past their `expires_at` that are not spent become `expired` (an Ark server may sweep
   * them). A user's VTXO leaves circulation: its amount is booked as a `burn` with reference
   * `expiry:<vtxo_id>` in the same transaction, so the invariant holds. A VTXO locked by an open
   * session is left alone (the session ends first). At most `limit` per call, oldest first.
   */
  async expireVtxos(now: number = this.#now(), limit = 1000): Promise<VtxoRecord[]> {
    return this.#transaction(async (trx) => {
      let query = trx
        .selectFrom('vtxos')
        .selectAll()
        .where('status', 'in', ['available', 'assigned'])
        .where('expires_at', '<=', now)
        .orderBy('expires_at')
        .orderBy('vtxo_id')
        .limit(limit);
      if (this.#database.kind === 'mariadb') query = query.forUpdate();
      const rows = await query.execute();
      const expired: VtxoRecord[] = [];
      for (const row of rows) {
        const result = await trx
          .updateTable('vtxos')
          .set({ status: 'expired', updated_at: now, version: sql<number>`version + 1` })
          .where('vtxo_id', '=', row.vtxo_id)
          .where('status', '=', row.status)
          .executeTakeFirst();
        if (result.numUpdatedRows !== 1n) continue;
        const record = toRecord(row);
        if (record.status === 'assigned' && record.amount > 0n) {
          await bookMovement(
            trx,
            {
              assetId: record.assetId,
              kind: 'burn',
              amount: record.amount,
              reference: `expiry:${record.vtxoId}`,
              userPubkey: record.ownerPubkey,
              vtxoId: record.vtxoId,
            },
            now,
          );
        }
        expired.push({ ...record, status: 'expired', updatedAt: now, version: record.version + 1 });
      }
      return expired;
    });
  }

  /** Locks past their `lock_expires_at` go back to `assigned`; returns how many. */
  async expireLocks(now: number = this.#now()): Promise<number> {
    return this.#transaction(async (trx) => {
      const result = await trx
        .updateTable('vtxos')
        .set(unlocked(now))
        .where('status', '=', 'pending_spend')
        .where('lock_expires_at', '<=', now)
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    });
  }

  /** Per asset, the owner's spendable (`assigned`) and locked (`pending_spend`) amounts. */
  async balances(owner: string): Promise<AssetBalance[]> {
    const rows = await this.#database.db
      .selectFrom('vtxos')
      .select(['asset_id', 'status', (eb) => eb.fn.sum<string | number | bigint>('amount').as('total')])
      .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
      .where('owner_pubkey', '=', owner)
      .where('status', 'in', UNSPENT)
      .groupBy(['asset_id', 'status'])
      .orderBy('asset_id')
      .execute();
    const byAsset = new Map<
      string,
      { available: bigint; pending: bigint; availableCount: number; pendingCount: number }
    >();
    for (const row of rows) {
      const entry = byAsset.get(row.asset_id) ?? {
        available: 0n,
        pending: 0n,
        availableCount: 0,
        pendingCount: 0,
      };
      const total = toBigInt(row.total);
      const count = Number(row.n);
      if (row.status === 'assigned') {
        entry.available += total;
        entry.availableCount += count;
      } else {
        entry.pending += total;
        entry.pendingCount += count;
      }
      byAsset.set(row.asset_id, entry);
    }
    return [...byAsset].map(([assetId, b]) => ({ assetId, ...b }));
  }

  /** The owner's VTXOs, by id, one page at a time. */
  async listByOwner(owner: string, options: ListOptions = {}): Promise<VtxoRecord[]> {
    const limit = Math.min(Math.max(1, options.limit ?? 100), 1000);
    let query = this.#database.db.selectFrom('vtxos').selectAll().where('owner_pubkey', '=', owner);
    if (options.assetId !== undefined) query = query.where('asset_id', '=', options.assetId);
    if (options.statuses?.length) query = query.where('status', 'in', options.statuses);
    if (options.after !== undefined) query = query.where('vtxo_id', '>', options.after);
    const rows = await query.orderBy('vtxo_id').limit(limit).execute();
    return rows.map(toRecord);
  }

  /** One VTXO, or undefined. */
  async get(vtxoId: string): Promise<VtxoRecord | undefined> {
    const row = await this.#database.db
      .selectFrom('vtxos')
      .selectAll()
      .where('vtxo_id', '=', vtxoId)
      .executeTakeFirst();
    return row && toRecord(row);
  }

  /** The owner's spendable VTXOs of an asset, as coin selection wants them (not past expiry). */
  candidates(owner: string, assetId: string): Promise<Coin[]> {
    return this.#coins.candidates(owner, assetId);
  }

  /** Coin selection for `owner` paying `target` of `assetId` (see SpendableCoins.selectInputs). */
  selectInputs(
    owner: string,
    assetId: string,
    target: bigint,
    options: SelectionOptions,
  ): Promise<Selection> {
    return this.#coins.selectInputs(owner, assetId, target, options);
  }

  /**
   * Reads `ids` and, on MariaDB, row-locks them in primary-key order (the deterministic order
   * that keeps overlapping lockers from deadlocking).
   */
  async #lockRows(trx: Trx, ids: readonly string[]): Promise<Map<string, Vtxo>> {
    let query = trx.selectFrom('vtxos').selectAll().where('vtxo_id', 'in', ids).orderBy('vtxo_id');
    if (this.#database.kind === 'mariadb') query = query.forUpdate();
    const rows = await query.execute();
    return new Map(rows.map((row) => [row.vtxo_id, row]));
  }

  /** `ids`, all held by `sessionId`, become spent by `spentByTxid`; false unless every one did. */
  async #spend(
    trx: Trx,
    sessionId: string,
    ids: readonly string[],
    spentByTxid: string,
    now: number,
  ): Promise<boolean> {
    const result = await trx
      .updateTable('vtxos')
      .set({
        status: 'spent',
        spent_by_txid: spentByTxid,
        lock_expires_at: null,
        updated_at: now,
        version: sql<number>`version + 1`,
      })
      .where('vtxo_id', 'in', ids)
      .where('status', '=', 'pending_spend')
      .where('locked_by_session', '=', sessionId)
      .executeTakeFirst();
    return result.numUpdatedRows === BigInt(ids.length);
  }

  async #heldBy(trx: Trx, sessionId: string): Promise<string[]> {
    let query = trx
      .selectFrom('vtxos')
      .select('vtxo_id')
      .where('locked_by_session', '=', sessionId)
      .where('status', '=', 'pending_spend')
      .orderBy('vtxo_id');
    if (this.#database.kind === 'mariadb') query = query.forUpdate();
    return (await query.execute()).map((row) => row.vtxo_id);
  }

  async #read(trx: Trx, ids: readonly string[]): Promise<VtxoRecord[]> {
    if (ids.length === 0) return [];
    const rows = await trx
      .selectFrom('vtxos')
      .selectAll()
      .where('vtxo_id', 'in', ids)
      .orderBy('vtxo_id')
      .execute();
    return rows.map(toRecord);
  }

  async #insert(trx: Trx, outputs: readonly NewOutput[], createdByTxid?: string): Promise<VtxoRecord[]> {
    if (outputs.length === 0) return [];
    const now = this.#now();
    const rows = outputs.map((o) => {
      if (!TXID.test(o.txid)) throw new TypeError(`output txid must be 64 lowercase hex: ${o.txid}`);
      if (!Number.isSafeInteger(o.vout) || o.vout < 0) throw new TypeError(`bad vout ${o.vout}`);
      if (typeof o.sats !== 'bigint' || o.sats < 0n) throw new TypeError('sats must be a bigint >= 0');
      // Inventory carries sats for the gateway and no asset units; a user's VTXO carries units.
      if (o.status === 'available') {
        if (o.amount !== 0n || o.sats <= 0n) {
          throw new ProtocolError('BELOW_LIMITS', 'an inventory VTXO holds sats and an asset amount of 0');
        }
      } else if (typeof o.amount !== 'bigint' || o.amount <= 0n) {
        throw new ProtocolError('BELOW_LIMITS', `a VTXO must hold a positive amount, not ${o.amount}`);
      }
      return {
        vtxo_id: `${o.txid}:${o.vout}`,
        txid: o.txid,
        vout: o.vout,
        owner_pubkey: o.ownerPubkey,
        asset_id: o.assetId,
        amount: o.amount,
        sats: o.sats,
        status: o.status ?? 'assigned',
        script_hex: o.scriptHex ?? null,
        batch_txid: o.batchTxid ?? null,
        expires_at: o.expiresAt ?? null,
        created_by_txid: o.createdByTxid ?? createdByTxid ?? o.txid,
        created_at: now,
        updated_at: now,
      };
    });
    try {
      await trx.insertInto('vtxos').values(rows).execute();
    } catch (error) {
      if (isUniqueViolation(error))
        throw new Rollback(new ProtocolError('VTXO_SPENT', 'a VTXO with this id exists'));
      throw error;
    }
    return this.#read(
      trx,
      rows.map((r) => r.vtxo_id),
    );
  }
}

function uniqueSorted(ids: readonly string[]): string[] {
  if (ids.length === 0) throw new ProtocolError('VTXO_UNKNOWN', 'no VTXO given');
  const sorted = [...new Set(ids)].sort();
  if (sorted.length !== ids.length) throw new ProtocolError('MALFORMED_CONTENT', 'a VTXO is listed twice');
  return sorted;
}
