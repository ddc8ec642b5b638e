// The VTXO inventory: `available` VTXOs owned by the gateway's inventory key, each holding
// sats and no asset units (amount 0), kept per asset pool (the asset they will be handed out
// for). A batch is created by the Ark server in one commitment tx and recorded through the
// VTXO store. A crash between the daemon's answer and the database write loses no VTXO:
// reconcile() lists the inventory script's spendable batch VTXOs on the server and records the
// ones the ledger lacks (idempotent; run it at start and whenever in doubt).
import type { ArkBackend, ArkVtxo } from '../backends/ark/ark-backend.ts';
import { ERROR_CODES, ProtocolError } from '../domain/error-codes.ts';
import type { Logger } from '../logging.ts';
import type { Database } from '../store/database.ts';
import type { VtxoStatus } from '../store/schema.ts';
import type { InventoryKey } from './inventory-key.ts';
import type { InventoryUpdate, InventoryUpdates } from './inventory-updates.ts';
import { VTXO_STATUSES, type NewOutput, type VtxoStore } from './vtxo-store.ts';

/** The asset pool inventory serves when none is named. */
export const DEFAULT_INVENTORY_ASSET = 'gBTC';
/** Most VTXOs one batch may hold (the simulator's limit, and a sane bound for arkd rounds). */
export const MAX_BATCH_VTXOS = 10_000;
/** Rows per statement and per transaction when recording a batch (placeholder limits). */
const CHUNK = 500;

export interface BatchRequest {
  readonly assetId: string;
  readonly count: number;
  readonly amountSats: bigint;
}

export interface BatchResult {
  readonly assetId: string;
  readonly commitmentTxid: string;
  /** VTXOs recorded now (all of the batch, unless reconcile got to some first). */
  readonly count: number;
  readonly amountSats: bigint;
  readonly vtxoIds: readonly string[];
}

export interface ReconcileResult {
  readonly assetId: string;
  /** Spendable batch VTXOs of the inventory script on the Ark server. */
  readonly onServer: number;
  /** Of them, recorded now because the ledger lacked them. */
  readonly recorded: number;
}

export interface LastBatch {
  readonly commitmentTxid: string;
  readonly at: number;
  readonly count: number;
}

export interface InventoryServiceOptions {
  readonly database: Database;
  readonly vtxos: VtxoStore;
  readonly ark: ArkBackend;
  readonly key: InventoryKey;
  readonly updates: InventoryUpdates;
  readonly logger: Logger;
  readonly now?: () => number;
}

export class InventoryService {
  readonly #o: InventoryServiceOptions;
  readonly #now: () => number;
  #pkScript: string | undefined;

  constructor(options: InventoryServiceOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  /** x-only hex key that owns inventory and fee VTXOs. */
  get pubkey(): string {
    return this.#o.key.pubkey;
  }

  /** The inventory key's VTXO script under this Ark server (hex scriptPubKey). */
  async pkScript(): Promise<string> {
    this.#pkScript ??= (await this.#o.ark.vtxoScript(this.pubkey)).pkScript;
    return this.#pkScript;
  }

  /** Whether the asset is registered, and enabled; undefined when unknown. */
  async asset(assetId: string): Promise<{ readonly enabled: boolean } | undefined> {
    const row = await this.#o.database.db
      .selectFrom('assets')
      .select('enabled')
      .where('asset_id', '=', assetId)
      .executeTakeFirst();
    return row && { enabled: Number(row.enabled) === 1 };
  }

  /** Every VTXO of the asset pool by status (each status present, 0 when none). */
  async counts(assetId: string): Promise<Record<VtxoStatus, number>> {
    const rows = await this.#o.database.db
      .selectFrom('vtxos')
      .select(['status', (eb) => eb.fn.countAll<number | string>().as('n')])
      .where('asset_id', '=', assetId)
      .groupBy('status')
      .execute();
    const counts = Object.fromEntries(VTXO_STATUSES.map((s) => [s, 0])) as Record<VtxoStatus, number>;
    for (const row of rows) counts[row.status] = Number(row.n);
    return counts;
  }

  /** Inventory VTXOs (`available`) of one asset. */
  async available(assetId: string): Promise<number> {
    const row = await this.#o.database.db
      .selectFrom('vtxos')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('status', '=', 'available')
      .where('asset_id', '=', assetId)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /**
   * Available VTXOs per asset: every enabled asset of the registry (0 when it has none) and any
   * asset that holds inventory. The source of the low-inventory alert and gauge.
   */
  async availableByAsset(): Promise<{ readonly asset: string; readonly count: number }[]> {
    const db = this.#o.database.db;
    const [assets, rows] = await Promise.all([
      db.selectFrom('assets').select('asset_id').where('enabled', '=', 1).execute(),
      db
        .selectFrom('vtxos')
        .select(['asset_id', (eb) => eb.fn.countAll<number | string>().as('n')])
        .where('status', '=', 'available')
        .groupBy('asset_id')
        .execute(),
    ]);
    const counts = new Map<string, number>(assets.map((a) => [a.asset_id, 0]));
    for (const row of rows) counts.set(row.asset_id, Number(row.n));
    return [...counts].sort(([a], [b]) => (a < b ? -1 : 1)).map(([asset, count]) => ({ asset, count }));
  }

  /** The newest inventory batch recorded for the asset, if any. */
  async lastBatch(assetId: string): Promise<LastBatch | undefined> {
    const db = this.#o.database.db;
    const newest = await db
      .selectFrom('vtxos')
      .select(['batch_txid', 'created_at'])
      .where('owner_pubkey', '=', this.pubkey)
      .where('asset_id', '=', assetId)
      .where('amount', '=', 0)
      .where('batch_txid', 'is not', null)
      .orderBy('created_at', 'desc')
      .orderBy('vtxo_id', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (!newest?.batch_txid) return undefined;
    const count = await db
      .selectFrom('vtxos')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('batch_txid', '=', newest.batch_txid)
      .where('asset_id', '=', assetId)
      .executeTakeFirst();
    return { commitmentTxid: newest.batch_txid, at: Number(newest.created_at), count: Number(count?.n ?? 0) };
  }

  /**
   * Creates `count` inventory VTXOs of `amountSats` each for `assetId` in one Ark batch and
   * records them `available`. 2004 for a count or amount outside the server's limits.
   */
  async createBatch(request: BatchRequest): Promise<BatchResult> {
    const { assetId, count, amountSats } = request;
    if (!Number.isSafeInteger(count) || count < 1 || count > MAX_BATCH_VTXOS) {
      throw new ProtocolError('BELOW_LIMITS', `a batch holds 1 to ${MAX_BATCH_VTXOS} VTXOs, not ${count}`);
    }
    if (typeof amountSats !== 'bigint') throw new TypeError('amountSats must be a bigint');
    const info = await this.#o.ark.getInfo();
    const minimum = info.dust > info.vtxoMinAmount ? info.dust : info.vtxoMinAmount;
    if (amountSats < minimum) {
      throw new ProtocolError(
        'BELOW_LIMITS',
        `${amountSats} sats is below the Ark server's minimum of ${minimum}`,
      );
    }
    if (info.vtxoMaxAmount >= 0n && amountSats > info.vtxoMaxAmount) {
      throw new ProtocolError(
        'BELOW_LIMITS',
        `${amountSats} sats is above the Ark server's maximum of ${info.vtxoMaxAmount}`,
      );
    }
    const pkScript = await this.pkScript();
    const batch = await this.#o.ark.createInventoryBatch({
      ownerPubkey: this.pubkey,
      amounts: Array.from({ length: count }, () => amountSats),
      ownerSecretKey: this.#o.key.secretKey,
    });
    // The daemon's answer is input from outside: only outputs to our script are ours.
    const ours = batch.vtxos.filter((v) => v.script === pkScript && !v.spent);
    if (ours.length !== count || ours.some((v) => v.amount !== amountSats)) {
      this.#o.logger.error(
        {
          commitmentTxid: batch.commitmentTxid,
          asked: count,
          received: batch.vtxos.length,
          ours: ours.length,
        },
        'the Ark server returned a batch other than the one asked for; recording only the outputs to the inventory script',
      );
    }
    const recorded = await this.#record(ours, assetId, batch.commitmentTxid);
    this.#o.logger.info(
      {
        asset: assetId,
        commitmentTxid: batch.commitmentTxid,
        count: recorded.length,
        amountSats: String(amountSats),
      },
      'inventory batch created',
    );
    await this.#publish(assetId, 'batch', batch.commitmentTxid);
    return {
      assetId,
      commitmentTxid: batch.commitmentTxid,
      count: recorded.length,
      amountSats,
      vtxoIds: recorded,
    };
  }

  /**
   * Records the inventory script's spendable batch VTXOs that the ledger lacks, under
   * `assetId`. Only batch outputs (not preconfirmed) are inventory: a VTXO the inventory key
   * received in an offchain tx (a fee, change) is the ceremony's to record, never guessed here.
   */
  async reconcile(assetId: string = DEFAULT_INVENTORY_ASSET): Promise<ReconcileResult> {
    const pkScript = await this.pkScript();
    const onServer = (await this.#o.ark.listVtxos({ scripts: [pkScript], spendableOnly: true })).filter(
      (v) => v.script === pkScript && !v.preconfirmed && !v.spent && !v.swept,
    );
    const recorded = await this.#record(onServer, assetId);
    if (recorded.length > 0) {
      this.#o.logger.warn(
        { asset: assetId, recorded: recorded.length },
        'inventory VTXOs found on the Ark server but not in the ledger were recorded',
      );
      await this.#publish(assetId, 'reconcile');
    }
    return { assetId, onServer: onServer.length, recorded: recorded.length };
  }

  /** Publishes the asset's available count (never throws). */
  async publishCount(assetId: string, reason: InventoryUpdate['reason']): Promise<void> {
    await this.#publish(assetId, reason);
  }

  async #publish(assetId: string, reason: InventoryUpdate['reason'], commitmentTxid?: string): Promise<void> {
    try {
      const available = await this.available(assetId);
      await this.#o.updates.publish({
        asset_id: assetId,
        available,
        reason,
        ...(commitmentTxid ? { commitment_txid: commitmentTxid } : {}),
        at: this.#now(),
      });
    } catch (error) {
      this.#o.logger.warn({ asset: assetId, err: String(error) }, 'inventory update not published');
    }
  }

  /** Inserts the VTXOs the ledger does not know yet; returns their ids. Safe to run concurrently. */
  async #record(vtxos: readonly ArkVtxo[], assetId: string, batchTxid?: string): Promise<string[]> {
    const recorded: string[] = [];
    for (let i = 0; i < vtxos.length; i += CHUNK) {
      const chunk = vtxos.slice(i, i + CHUNK);
      // A concurrent reconcile may insert some of these between our read and our insert: the
      // store then refuses the whole chunk (duplicate id) and we read again.
      for (let attempt = 1; ; attempt++) {
        const missing = await this.#missing(chunk);
        if (missing.length === 0) break;
        try {
          const created = await this.#o.vtxos.createOutputs(
            missing.map((v) => this.#output(v, assetId, batchTxid)),
          );
          recorded.push(...created.map((r) => r.vtxoId));
          break;
        } catch (error) {
          if (!(error instanceof ProtocolError) || error.code !== ERROR_CODES.VTXO_SPENT.code || attempt >= 3)
            throw error;
        }
      }
    }
    return recorded;
  }

  async #missing(vtxos: readonly ArkVtxo[]): Promise<ArkVtxo[]> {
    if (vtxos.length === 0) return [];
    const ids = vtxos.map((v) => `${v.outpoint.txid}:${v.outpoint.vout}`);
    const known = await this.#o.database.db
      .selectFrom('vtxos')
      .select('vtxo_id')
      .where('vtxo_id', 'in', ids)
      .execute();
    const have = new Set(known.map((r) => r.vtxo_id));
    return vtxos.filter((_, i) => !have.has(ids[i]!));
  }

  #output(v: ArkVtxo, assetId: string, batchTxid: string | undefined): NewOutput {
    return {
      txid: v.outpoint.txid,
      vout: v.outpoint.vout,
      ownerPubkey: this.pubkey,
      assetId,
      amount: 0n,
      sats: v.amount,
      status: 'available',
      scriptHex: v.script,
      batchTxid: batchTxid ?? v.createdBy,
      // The server states expiry in unix seconds; the ledger keeps ms.
      expiresAt: v.expiresAt > 0 ? v.expiresAt * 1000 : null,
      createdByTxid: batchTxid ?? v.createdBy,
    };
  }
}
