// Read-only views of the ledger for the HTTP routes and the `sync_state` service action: a
// user's VTXOs (paged by id), balances, ledger statistics and open signing sessions. Amounts
// leave as decimal strings; nothing here writes.
import { sql } from 'kysely';
import { nip19 } from 'nostr-tools';
import type { Database } from '../store/database.ts';
import type { SessionState, VtxoStatus } from '../store/schema.ts';
import { toBigInt } from '../store/values.ts';
import { OwnerPageCache } from './owner-page-cache.ts';
import { VtxoStore, type AssetBalance, type VtxoRecord } from './vtxo-store.ts';
import { isoTime, isoTimeOrNull } from '../domain/iso-time.ts';

/** Sessions in these states are over; every other state is shown as open. */
export const TERMINAL_SESSION_STATES: readonly SessionState[] = [
  'failed',
  'expired',
  'cancelled',
  'confirmed',
];
/** A page cursor: the last vtxo_id of the previous page. */
export const VTXO_ID_PATTERN = '^[0-9a-f]{64}:\\d{1,10}$';

export class InvalidPubkeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidPubkeyError';
  }
}

/** An x-only public key as 64 hex characters (any case) or an npub; returns lowercase hex. */
export function parsePubkey(text: string): string {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return trimmed.toLowerCase();
  if (trimmed.startsWith('npub1')) {
    try {
      const decoded = nip19.decode(trimmed);
      if (decoded.type === 'npub') return decoded.data;
    } catch {
      // fall through to the one error below
    }
  }
  throw new InvalidPubkeyError('pubkey must be 64 hex characters or an npub');
}

export interface VtxoPage {
  readonly vtxos: readonly VtxoRecord[];
  /** Pass as `cursor` for the next page; null on the last one. */
  readonly nextCursor: string | null;
}

export interface PageOptions {
  readonly assetId?: string;
  readonly statuses?: readonly VtxoStatus[];
  readonly limit: number;
  readonly cursor?: string;
}

export interface StatusStats {
  readonly status: VtxoStatus;
  readonly assetId: string;
  readonly count: number;
  readonly amount: bigint;
  readonly sats: bigint;
}

export interface OpenSession {
  readonly sessionId: string;
  readonly actionId: string | null;
  readonly sessionType: string;
  readonly state: SessionState;
  readonly currentStep: number;
  readonly stepTotal: number;
  readonly arkTxid: string | null;
  readonly batchId: string | null;
  readonly deadlineAt: number;
  readonly stepDeadlineAt: number | null;
  readonly createdAt: number;
}

/** VTXOs by status and asset, with their amounts: the ledger's one roll-up (routes, metrics, /stats). */
export async function vtxoStats(database: Database): Promise<StatusStats[]> {
  const rows = await database.db
    .selectFrom('vtxos')
    .select([
      'status',
      'asset_id',
      (eb) => eb.fn.countAll<number | string>().as('n'),
      (eb) => eb.fn.sum<string | number | bigint>('amount').as('amount'),
      (eb) => eb.fn.sum<string | number | bigint>('sats').as('sats'),
    ])
    .groupBy(['status', 'asset_id'])
    .orderBy('asset_id')
    .orderBy('status')
    .execute();
  return rows.map((r) => ({
    status: r.status,
    assetId: r.asset_id,
    count: Number(r.n),
    amount: toBigInt(r.amount ?? 0),
    sats: toBigInt(r.sats ?? 0),
  }));
}

/** Per asset: VTXOs available now, and made in all (the inventory alert reads both). */
export async function inventoryCounts(
  database: Database,
): Promise<Map<string, { available: number; made: number }>> {
  const rows = await database.db
    .selectFrom('vtxos')
    .select([
      'asset_id',
      sql<number>`sum(case when status = 'available' then 1 else 0 end)`.as('available'),
      sql<number>`count(*)`.as('made'),
    ])
    .groupBy('asset_id')
    .execute();
  return new Map(rows.map((r) => [r.asset_id, { available: Number(r.available), made: Number(r.made) }]));
}

export class LedgerReads {
  readonly #database: Database;
  readonly #store: VtxoStore;
  readonly #pages: OwnerPageCache;

  constructor(database: Database, store: VtxoStore = new VtxoStore(database)) {
    this.#database = database;
    this.#store = store;
    this.#pages = new OwnerPageCache(database);
  }

  /**
   * The body of GET /vtxos/user/{pk} as JSON text — `{ pubkey, vtxos, next_cursor }` — served
   * from the page cache while the owner's VTXOs are unchanged (see owner-page-cache.ts).
   */
  userVtxosJson(owner: string, options: PageOptions): Promise<string> {
    const key = JSON.stringify([options.assetId, options.statuses, options.limit, options.cursor]);
    return this.#pages.page(owner, key, async () => {
      const page = await this.userVtxos(owner, options);
      return JSON.stringify({
        pubkey: owner,
        vtxos: page.vtxos.map(vtxoJson),
        next_cursor: page.nextCursor,
      });
    });
  }

  /** One page of an owner's VTXOs by id; asks one row more than the page to know if another follows. */
  async userVtxos(owner: string, options: PageOptions): Promise<VtxoPage> {
    const rows = await this.#store.listByOwner(owner, {
      ...(options.assetId !== undefined ? { assetId: options.assetId } : {}),
      ...(options.statuses?.length ? { statuses: options.statuses } : {}),
      ...(options.cursor !== undefined ? { after: options.cursor } : {}),
      limit: options.limit + 1,
    });
    const page = rows.slice(0, options.limit);
    return { vtxos: page, nextCursor: rows.length > options.limit ? page[page.length - 1]!.vtxoId : null };
  }

  balances(owner: string): Promise<AssetBalance[]> {
    return this.#store.balances(owner);
  }

  /** Counts and sums of VTXOs by status and asset (a scan of the (status, asset_id) index). */
  stats(): Promise<StatusStats[]> {
    return vtxoStats(this.#database);
  }

  /** The owner's sessions that are not over, newest first, at most `limit`. */
  async openSessions(owner: string, limit: number): Promise<OpenSession[]> {
    const rows = await this.#database.db
      .selectFrom('signing_sessions')
      .selectAll()
      .where('owner_pubkey', '=', owner)
      .where('state', 'not in', TERMINAL_SESSION_STATES)
      .orderBy('created_at', 'desc')
      .orderBy('session_id')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      sessionId: r.session_id,
      actionId: r.action_id,
      sessionType: r.session_type,
      state: r.state,
      currentStep: Number(r.current_step),
      stepTotal: Number(r.step_total),
      arkTxid: r.ark_txid,
      batchId: r.batch_id,
      deadlineAt: Number(r.deadline_at),
      stepDeadlineAt: r.step_deadline_at === null ? null : Number(r.step_deadline_at),
      createdAt: Number(r.created_at),
    }));
  }
}

/** A VTXO for the HTTP API: amounts as decimal strings, times as ISO 8601. */
export function vtxoJson(v: VtxoRecord) {
  return {
    vtxo_id: v.vtxoId,
    txid: v.txid,
    vout: v.vout,
    owner_pubkey: v.ownerPubkey,
    asset_id: v.assetId,
    amount: v.amount.toString(),
    sats: v.sats.toString(),
    status: v.status,
    locked_by_session: v.lockedBySession,
    lock_expires_at: isoTimeOrNull(v.lockExpiresAt),
    batch_txid: v.batchTxid,
    expires_at: isoTimeOrNull(v.expiresAt),
    created_by_txid: v.createdByTxid,
    spent_by_txid: v.spentByTxid,
    created_at: isoTime(v.createdAt),
    updated_at: isoTime(v.updatedAt),
  };
}

export function balanceJson(b: AssetBalance) {
  return {
    asset_id: b.assetId,
    available: b.available.toString(),
    pending: b.pending.toString(),
    available_count: b.availableCount,
    pending_count: b.pendingCount,
  };
}
