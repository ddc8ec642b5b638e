// Lifts: value enters over Lightning. `lift_lightning {asset_id, amount}` creates an invoice (a
// BTC invoice from lnd for gBTC, 1 unit = 1 sat; an asset invoice from tapd for another Taproot
// Asset) and stores it; when it is paid the user is credited EXACTLY ONCE:
//
//   open ──settled (subscription or sweep)──▶ settled ──credit──▶ credited
//   open ──canceled by lnd / past expiry──▶ expired (31502 lift_expired)
//
// Crediting is the Issuer's gateway-only Ark transaction paying the user's own VTXO script; it
// books the `lift` movement once per (kind, payment hash, asset) and answers a repeated call with
// the first result. One worker at a time per payment hash (a claim), so the daemon part is never
// run twice concurrently; a crash between the settlement and the credit leaves the row `settled`,
// which the sweep credits again (the Issuer then returns what it already did). The row turns
// `credited` in the transaction that queues the 31340 and the 31502 `lift_paid`.
import type { Issuer } from '../ceremony/issue.ts';
import type { LightningBackend, LightningInvoice } from '../backends/lnd/lightning-backend.ts';
import type { AssetsBackend } from '../backends/tapd/assets-backend.ts';
import { BackendError } from '../backends/types.ts';
import { ProtocolError } from '../domain/error-codes.ts';
import type { Logger } from '../logging.ts';
import type { Publisher } from '../nostr/publisher.ts';
import type { Database } from '../store/database.ts';
import type { LightningInvoicesTable } from '../store/schema.ts';
import { isUniqueViolation } from '../store/db-errors.ts';
import { circulatingSupply } from '../ledger/movements.ts';
import { toBigInt } from '../store/values.ts';
import type { Selectable } from 'kysely';
import { withClaim } from './claim.ts';

export type InvoiceRow = Selectable<LightningInvoicesTable>;

/** gBTC is 1 sat per unit; the simulator's asset invoices quote 1 unit = 1 sat as well. */
export const MSAT_PER_UNIT = 1000n;
/** An open invoice this long past its expiry is expired even if lnd has not cancelled it yet. */
const EXPIRY_GRACE_MS = 60_000;
const SWEEP_BATCH = 200;
const CREDIT_CLAIM_MS = 10 * 60_000;

export interface LiftRequest {
  readonly owner: string;
  readonly assetId: string;
  readonly amount: bigint;
  readonly requestId: string;
  readonly requestEventId: string;
}

export interface LiftReply {
  readonly bolt11: string;
  readonly payment_hash: string;
  /** Unix seconds. */
  readonly expires_at: number;
  readonly amount: string;
  readonly amount_msat: string;
  readonly asset_id: string;
}

export interface LiftDeps {
  readonly database: Database;
  readonly lightning: LightningBackend;
  readonly assets: AssetsBackend;
  readonly issuer: Issuer;
  readonly publisher: Publisher;
  readonly invoiceExpiryS: number;
  /** The asset paid in plain BTC invoices (gBTC). */
  readonly btcAssetId: string;
  /** Names this process in claims. */
  readonly instanceId: string;
  readonly logger: Logger;
  readonly now?: () => number;
}

export interface LiftSweepResult {
  readonly checked: number;
  readonly credited: number;
  readonly expired: number;
}

function replyOf(row: InvoiceRow): LiftReply {
  return {
    bolt11: row.bolt11,
    payment_hash: row.payment_hash,
    expires_at: Math.floor(Number(row.expires_at) / 1000),
    amount: toBigInt(row.amount).toString(),
    amount_msat: toBigInt(row.amount_msat).toString(),
    asset_id: row.asset_id,
  };
}

/** What monitoring counts (lifts_total); set by the composition root. */
export interface LightningObserver {
  lift(assetId: string, outcome: 'credited' | 'expired' | 'cancelled'): void;
  land(assetId: string, outcome: 'paid' | 'refunded'): void;
}

export class LiftService {
  observer: LightningObserver | undefined;
  readonly #deps: LiftDeps;
  readonly #now: () => number;

  constructor(deps: LiftDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
  }

  async get(paymentHash: string): Promise<InvoiceRow | undefined> {
    return this.#deps.database.db
      .selectFrom('lightning_invoices')
      .selectAll()
      .where('payment_hash', '=', paymentHash)
      .executeTakeFirst();
  }

  /** `lift_lightning`: one invoice per request event (a rerun answers with the same one). */
  async createInvoice(request: LiftRequest): Promise<LiftReply> {
    const { database } = this.#deps;
    const earlier = await database.db
      .selectFrom('lightning_invoices')
      .selectAll()
      .where('request_event_id', '=', request.requestEventId)
      .executeTakeFirst();
    if (earlier) return replyOf(earlier);
    const asset = await database.db
      .selectFrom('assets')
      .select(['enabled', 'min_amount', 'max_amount', 'tapd_asset_id', 'total_supply'])
      .where('asset_id', '=', request.assetId)
      .executeTakeFirst();
    if (!asset || Number(asset.enabled) !== 1) {
      throw new ProtocolError('BELOW_LIMITS', `asset ${request.assetId} is not available on this gateway`, {
        asset_id: request.assetId,
      });
    }
    const max = asset.max_amount === null ? undefined : toBigInt(asset.max_amount);
    if (request.amount < toBigInt(asset.min_amount) || (max !== undefined && request.amount > max)) {
      throw new ProtocolError(
        'BELOW_LIMITS',
        `${request.amount} ${request.assetId} is outside the asset's limits`,
        {
          asset_id: request.assetId,
        },
      );
    }
    // A lift puts issued units into circulation: never more than the issuer has left.
    const circulating = (await circulatingSupply(database.db)).get(request.assetId) ?? 0n;
    const remaining = toBigInt(asset.total_supply) - circulating;
    if (request.amount > remaining) {
      throw new ProtocolError(
        'BELOW_LIMITS',
        `${request.amount} ${request.assetId} is more than the ${remaining > 0n ? remaining : 0n} left of its issued supply`,
        { asset_id: request.assetId },
      );
    }
    const memo = `ArkRelay lift: ${request.amount} ${request.assetId}`;
    let invoice: LightningInvoice;
    try {
      if (request.assetId === this.#deps.btcAssetId) {
        invoice = await this.#deps.lightning.createInvoice({
          amountMsat: request.amount * MSAT_PER_UNIT,
          memo,
          expirySeconds: this.#deps.invoiceExpiryS,
        });
      } else {
        if (!asset.tapd_asset_id) {
          throw new ProtocolError('BELOW_LIMITS', `asset ${request.assetId} cannot be lifted over Lightning`);
        }
        invoice = await this.#deps.assets.addAssetInvoice({
          assetId: asset.tapd_asset_id,
          assetAmount: request.amount,
          memo,
          expirySeconds: this.#deps.invoiceExpiryS,
        });
      }
    } catch (error) {
      if (error instanceof BackendError) throw error.toProtocolError();
      throw error;
    }
    const now = this.#now();
    const row = {
      payment_hash: invoice.paymentHash,
      user_pubkey: request.owner,
      asset_id: request.assetId,
      amount: request.amount,
      amount_msat: invoice.amountMsat,
      bolt11: invoice.paymentRequest,
      status: 'open' as const,
      request_id: request.requestId.slice(0, 64),
      request_event_id: request.requestEventId,
      add_index: invoice.addIndex,
      settle_index: null,
      credited_vtxo_id: null,
      expires_at: invoice.expiresAt * 1000,
      settled_at: null,
      credited_at: null,
      created_at: now,
      updated_at: now,
    };
    try {
      await database.db.insertInto('lightning_invoices').values(row).execute();
    } catch (error) {
      // A payment hash is the invoice's identity: lnd never issues one twice.
      if (isUniqueViolation(error))
        throw new ProtocolError('SERVICE_UNAVAILABLE', 'invoice collision; retry');
      throw error;
    }
    this.#deps.logger.info(
      { payment_hash: row.payment_hash, asset_id: row.asset_id, amount: row.amount.toString() },
      'lift invoice created',
    );
    return replyOf(row);
  }

  /**
   * An invoice update from lnd (subscription, replay after a restart, or the sweep's lookup).
   * True when the invoice is ours. A settled one is recorded, then credited; a repeated
   * settlement changes nothing and credits nothing twice.
   */
  async onInvoice(invoice: LightningInvoice): Promise<boolean> {
    const row = await this.get(invoice.paymentHash);
    if (!row) return false;
    if (invoice.state === 'settled') {
      const now = this.#now();
      // From `expired` too: lnd took the payment, so the user is owed the units.
      await this.#deps.database.db
        .updateTable('lightning_invoices')
        .set({
          status: 'settled',
          settle_index: invoice.settleIndex,
          settled_at: invoice.settledAt !== undefined ? invoice.settledAt * 1000 : now,
          updated_at: now,
        })
        .where('payment_hash', '=', invoice.paymentHash)
        .where('status', 'in', ['open', 'expired', 'cancelled'])
        .execute();
      try {
        await this.credit(invoice.paymentHash);
      } catch (error) {
        // The row is `settled`: the sweep credits it.
        this.#deps.logger.warn(
          { payment_hash: invoice.paymentHash, err: error },
          'lift credit failed; the sweep retries',
        );
      }
    } else if (invoice.state === 'canceled' && row.status === 'open') {
      await this.#expire(row);
    }
    return true;
  }

  /** Credits a settled invoice once: 'credited' now or before, or why not. */
  async credit(paymentHash: string): Promise<'credited' | 'busy' | 'not_settled'> {
    const claimed = await withClaim(
      this.#deps.database,
      `lightning.credit:${paymentHash}`,
      { ttlMs: CREDIT_CLAIM_MS, holder: this.#deps.instanceId, now: this.#now },
      async () => {
        const row = await this.get(paymentHash);
        if (row?.status === 'credited') return 'credited' as const;
        if (row?.status !== 'settled') return 'not_settled' as const;
        const amount = toBigInt(row.amount);
        const { arkTxid, vtxo } = await this.#deps.issuer.issue({
          owner: row.user_pubkey,
          assetId: row.asset_id,
          amount,
          reference: paymentHash,
          kind: 'lift',
        });
        const { publisher, database } = this.#deps;
        const now = this.#now();
        const created = {
          vtxo_id: vtxo.vtxoId,
          owner: row.user_pubkey,
          asset_id: row.asset_id,
          amount: amount.toString(),
        };
        const creditedNow = await database.db.transaction().execute(async (trx) => {
          const marked = await trx
            .updateTable('lightning_invoices')
            .set({ status: 'credited', credited_vtxo_id: vtxo.vtxoId, credited_at: now, updated_at: now })
            .where('payment_hash', '=', paymentHash)
            .where('status', '=', 'settled')
            .executeTakeFirst();
          if (marked.numUpdatedRows !== 1n) return false;
          await publisher.send(
            [
              publisher.confirmation({
                intentEventIds: row.request_event_id ? [row.request_event_id] : [],
                parties: [row.user_pubkey],
                d: arkTxid,
                content: {
                  action_ids: [],
                  ark_txid: arkTxid,
                  spent: [],
                  created: [created],
                  fees: [],
                  settled_at: Math.floor(now / 1000),
                  lightning: { payment_hash: paymentHash },
                },
              }),
              publisher.notification(
                { to: row.user_pubkey },
                {
                  type: 'lift_paid',
                  payment_hash: paymentHash,
                  request_id: row.request_id,
                  asset_id: row.asset_id,
                  amount: amount.toString(),
                  vtxo_id: vtxo.vtxoId,
                  ark_txid: arkTxid,
                },
                `lift_paid:${paymentHash}`,
              ),
            ],
            trx,
          );
          return true;
        });
        publisher.flush();
        if (creditedNow) this.observer?.lift(row.asset_id, 'credited');
        this.#deps.logger.info({ payment_hash: paymentHash, vtxo_id: vtxo.vtxoId }, 'lift credited');
        return 'credited' as const;
      },
    );
    return claimed.busy ? 'busy' : claimed.result;
  }

  /** Marks an open invoice expired (or cancelled before its time) and tells the user. */
  async #expire(row: InvoiceRow): Promise<boolean> {
    const now = this.#now();
    const status = now >= Number(row.expires_at) ? 'expired' : 'cancelled';
    const { publisher } = this.#deps;
    const changed = await this.#deps.database.db.transaction().execute(async (trx) => {
      const result = await trx
        .updateTable('lightning_invoices')
        .set({ status, updated_at: now })
        .where('payment_hash', '=', row.payment_hash)
        .where('status', '=', 'open')
        .executeTakeFirst();
      if (result.numUpdatedRows !== 1n) return false;
      await publisher.send(
        [
          publisher.notification(
            { to: row.user_pubkey },
            {
              type: 'lift_expired',
              payment_hash: row.payment_hash,
              request_id: row.request_id,
              asset_id: row.asset_id,
              amount: toBigInt(row.amount).toString(),
              status,
            },
            `lift_expired:${row.payment_hash}`,
          ),
        ],
        trx,
      );
      return true;
    });
    if (changed) publisher.flush();
    if (changed) this.observer?.lift(row.asset_id, status);
    return changed;
  }

  /**
   * The reconciliation sweep: credits what is settled but not credited (a crash in between),
   * looks up every open invoice in lnd (a settlement the subscription missed), and expires
   * what lnd cancelled or what is well past its expiry.
   */
  async sweep(): Promise<LiftSweepResult> {
    const db = this.#deps.database.db;
    let credited = 0;
    let expired = 0;
    const settled = await db
      .selectFrom('lightning_invoices')
      .select('payment_hash')
      .where('status', '=', 'settled')
      .limit(SWEEP_BATCH)
      .execute();
    for (const { payment_hash } of settled) {
      try {
        if ((await this.credit(payment_hash)) === 'credited') credited++;
      } catch (error) {
        this.#deps.logger.warn({ payment_hash, err: error }, 'lift credit failed; next sweep retries');
      }
    }
    const open = await db
      .selectFrom('lightning_invoices')
      .selectAll()
      .where('status', '=', 'open')
      .orderBy('expires_at')
      .limit(SWEEP_BATCH)
      .execute();
    for (const row of open) {
      const invoice = await this.#deps.lightning.lookupInvoice(row.payment_hash);
      if (invoice && invoice.state === 'settled') {
        await this.onInvoice(invoice);
        if ((await this.get(row.payment_hash))?.status === 'credited') credited++;
      } else if (invoice?.state === 'canceled' || this.#now() > Number(row.expires_at) + EXPIRY_GRACE_MS) {
        if (await this.#expire(row)) expired++;
      }
    }
    return { checked: settled.length + open.length, credited, expired };
  }
}
