// Lands: value leaves over Lightning. The ceremony spends the user's VTXOs to a `land` output
// owned by the gateway VTXO key; in its settlement transaction `onSettled` stores the payment
// (`lightning_payments`, status `pending`, unique per payment hash, intent and session) and keeps
// the 31340 for later. Then the payment is made, at most once:
//
//   pending ──(lnd asked first)──▶ in_flight ──▶ succeeded   (land movement, VTXO → inventory, 31340 + preimage)
//                                            └──▶ failed ──refund──▶ refunded   (31341 5003)
//
// One worker at a time per payment hash (a claim). `in_flight` is written BEFORE the payment is
// sent; whoever finds a payment `pending` or `in_flight` asks lnd for it first (trackPayment) and
// only sends when lnd has never seen it — so a crash anywhere between sending and storing the
// result re-attaches to the same payment instead of paying again (lnd also refuses a second
// payment of a hash in flight or paid). A failure lnd reports is final: the land is refunded.
import type { LightningObserver } from './lift.ts';
import { createHash } from 'node:crypto';
import type { LightningBackend, LightningPayment } from '../backends/lnd/lightning-backend.ts';
import { decodeBolt11 } from '../backends/lnd/bolt11.ts';
import type { AssetsBackend } from '../backends/tapd/assets-backend.ts';
import { BackendError } from '../backends/types.ts';
import type { ArkBackend } from '../backends/ark/ark-backend.ts';
import type { InventorySigner, SettledGroup } from '../ceremony/engine.ts';
import type { StoredCommitment } from '../ceremony/context.ts';
import type { CeremonyRecords, Trx } from '../ceremony/records.ts';
import { commitmentJson } from '../domain/allocation-commitment.ts';
import { ERROR_CODES } from '../domain/error-codes.ts';
import type { NostrEvent } from '../domain/nostr-protocol.ts';
import { bookMovement } from '../ledger/movements.ts';
import type { VtxoStore } from '../ledger/vtxo-store.ts';
import type { Logger } from '../logging.ts';
import type { Publisher } from '../nostr/publisher.ts';
import type { Database } from '../store/database.ts';
import type { LightningPaymentsTable } from '../store/schema.ts';
import { toBigInt } from '../store/values.ts';
import type { Selectable } from 'kysely';
import { withClaim } from './claim.ts';
import { landVtxoOf, type LandVtxo } from './land-ledger.ts';
import { MSAT_PER_UNIT } from './lift.ts';
import { recordRefundWithin, submitRefund, type RefundTarget } from './refund.ts';

export type PaymentRow = Selectable<LightningPaymentsTable>;

const SWEEP_BATCH = 100;

export interface LandDeps {
  readonly database: Database;
  /** The ceremony's records: a land's session and its built transaction. */
  readonly records: CeremonyRecords;
  readonly lightning: LightningBackend;
  readonly assets: AssetsBackend;
  readonly ark: ArkBackend;
  readonly vtxos: VtxoStore;
  readonly publisher: Publisher;
  readonly key: InventorySigner;
  /** The asset paid in plain BTC (gBTC); others pay through tapd. */
  readonly btcAssetId: string;
  /** The inventory pool a paid land's sats join. */
  readonly inventoryAssetId: string;
  readonly feeLimitSat: bigint;
  readonly paymentTimeoutS: number;
  readonly lockTtlMs: number;
  readonly instanceId: string;
  /** Asks a worker to pay soon (after the settlement commits); the sweep is the backstop. */
  readonly kick?: (paymentHash: string) => void;
  readonly logger: Logger;
  readonly now?: () => number;
}

export type PayOutcome = 'succeeded' | 'refunded' | 'in_flight' | 'busy' | 'unknown';

/** Payment hash of a land that found its invoice taken by another land: refunded, never paid. */
function duplicateKey(intentEventId: string): string {
  return createHash('sha256').update(`duplicate-land:${intentEventId}`).digest('hex');
}

interface LandOf {
  readonly land: LandVtxo;
  readonly arkTxid: string;
  readonly actionId: string;
  readonly intentEvent: NostrEvent;
  readonly fee: { readonly asset_id: string; readonly amount: string };
  /** The land's Ark tx's allocation commitment, announced with its 31340. */
  readonly commitment: StoredCommitment | null;
}

export class LandService {
  observer: LightningObserver | undefined;
  readonly #deps: LandDeps;
  readonly #now: () => number;
  readonly #stopping = new AbortController();

  constructor(deps: LandDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
  }

  async get(paymentHash: string): Promise<PaymentRow | undefined> {
    return this.#deps.database.db
      .selectFrom('lightning_payments')
      .selectAll()
      .where('payment_hash', '=', paymentHash)
      .executeTakeFirst();
  }

  /**
   * CeremonyHooks.onSettled, inside the settlement transaction: the payment row of each land of
   * the group. A land announces itself (31340 with the preimage, or 31341 after a refund).
   */
  async onSettled(trx: Trx, settled: SettledGroup): Promise<{ readonly announce: boolean } | void> {
    let lands = 0;
    const kicks: string[] = [];
    for (const [i, context] of settled.contexts.entries()) {
      if (context.kind !== 'land') continue;
      lands++;
      const session = settled.sessions[i]!;
      const params = context.intent.params as { asset_id: string; amount: number | string; invoice: string };
      const decoded = decodeBolt11(params.invoice);
      const amount = BigInt(params.amount);
      const taken = await trx
        .selectFrom('lightning_payments')
        .select(['intent_event_id'])
        .where('payment_hash', '=', decoded.paymentHash)
        .executeTakeFirst();
      if (taken?.intent_event_id === context.intent.event_id) continue;
      const now = settled.settledAt;
      // Two lands of one invoice raced past checkIntent: only the first pays; this one is refunded.
      const duplicate = taken !== undefined;
      const paymentHash = duplicate ? duplicateKey(context.intent.event_id) : decoded.paymentHash;
      await trx
        .insertInto('lightning_payments')
        .values({
          payment_hash: paymentHash,
          session_id: session.sessionId,
          intent_event_id: context.intent.event_id,
          user_pubkey: context.intent.author,
          asset_id: params.asset_id,
          amount,
          amount_msat: decoded.amountMsat ?? amount * MSAT_PER_UNIT,
          bolt11: params.invoice,
          fee_limit_sat: this.#deps.feeLimitSat,
          fee_paid_msat: null,
          status: duplicate ? 'failed' : 'pending',
          preimage: null,
          failure_reason: duplicate ? 'the invoice is already being paid by another land' : null,
          refund_vtxo_id: null,
          attempted_at: null,
          completed_at: duplicate ? now : null,
          created_at: now,
          updated_at: now,
        })
        .execute();
      kicks.push(paymentHash);
    }
    if (lands === 0) return;
    // Runs after this transaction commits (the engine awaits the commit before anything else).
    if (this.#deps.kick) for (const hash of kicks) setTimeout(() => this.#deps.kick!(hash), 20);
    return { announce: false };
  }

  async #landOf(row: PaymentRow): Promise<LandOf> {
    const session = await this.#deps.records.session(row.session_id!);
    const arkTxid = session?.context.tx?.arkTxid;
    if (!session || !arkTxid) throw new Error(`land payment ${row.payment_hash} has no settled session`);
    const { context } = session;
    return {
      land: landVtxoOf(arkTxid, context),
      arkTxid,
      actionId: session.actionId,
      intentEvent: context.intent.event,
      fee: context.intent.fee,
      commitment: context.tx?.commitment ?? null,
    };
  }

  /** Pays (or re-attaches to, or refunds) one land; never sends a payment lnd already has. */
  async pay(paymentHash: string): Promise<PayOutcome> {
    const claimed = await withClaim(
      this.#deps.database,
      `lightning.pay:${paymentHash}`,
      {
        ttlMs: this.#deps.paymentTimeoutS * 1000 + 60_000,
        holder: this.#deps.instanceId,
        now: this.#now,
      },
      () => this.#pay(paymentHash),
    );
    return claimed.busy ? 'busy' : claimed.result;
  }

  async #pay(paymentHash: string): Promise<PayOutcome> {
    const row = await this.get(paymentHash);
    if (!row) throw new Error(`no land payment ${paymentHash} (yet)`);
    if (row.status === 'succeeded') return 'succeeded';
    if (row.status === 'refunded') return 'refunded';
    if (row.status === 'failed') return this.#refund(row);
    // pending or in_flight: lnd first. Known to lnd → wait for its final state; never sent → send.
    const known = await this.#deps.lightning.trackPayment(paymentHash, { wait: false });
    let payment: LightningPayment | undefined;
    if (known) {
      if (row.status === 'pending') await this.#markInFlight(row, ['pending']);
      payment = known.state === 'in_flight' ? await this.#wait(paymentHash) : known;
    } else {
      if (!(await this.#markInFlight(row, ['pending', 'in_flight']))) return 'unknown';
      payment = await this.#send(row);
    }
    if (!payment || payment.state === 'in_flight') return 'in_flight';
    if (payment.state === 'succeeded') return this.#succeeded(row, payment);
    await this.#failed(row, payment.failureReason ?? 'error');
    const failed = await this.get(paymentHash);
    return failed?.status === 'failed' ? this.#refund(failed) : 'unknown';
  }

  /** Stops waiting for daemons (payments stay in flight in lnd; the next run re-attaches). */
  stop(): void {
    this.#stopping.abort();
  }

  /** `promise`, or undefined once this service stops (a shutdown must not wait for routing). */
  async #untilStopped<T>(promise: Promise<T>): Promise<T | undefined> {
    const signal = this.#stopping.signal;
    if (signal.aborted) return undefined;
    let onAbort: (() => void) | undefined;
    const stopped = new Promise<undefined>((resolve) => {
      onAbort = () => resolve(undefined);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([promise, stopped]);
    } finally {
      signal.removeEventListener('abort', onAbort!);
    }
  }

  /** The final state of a payment lnd has; undefined when stopped meanwhile. */
  async #wait(paymentHash: string): Promise<LightningPayment | undefined> {
    return this.#untilStopped(this.#deps.lightning.trackPayment(paymentHash, { wait: true }));
  }

  async #markInFlight(row: PaymentRow, from: ('pending' | 'in_flight')[]): Promise<boolean> {
    const now = this.#now();
    const result = await this.#deps.database.db
      .updateTable('lightning_payments')
      .set({ status: 'in_flight', attempted_at: now, updated_at: now })
      .where('payment_hash', '=', row.payment_hash)
      .where('status', 'in', from)
      .executeTakeFirst();
    return result.numUpdatedRows === 1n;
  }

  /** Sends the payment once; an answer we cannot read leaves it in flight for the next look. */
  async #send(row: PaymentRow): Promise<LightningPayment | undefined> {
    const request = {
      paymentRequest: row.bolt11,
      maxFeeSats: toBigInt(row.fee_limit_sat),
      timeoutSeconds: this.#deps.paymentTimeoutS,
    };
    this.#deps.logger.info(
      { payment_hash: row.payment_hash, amount_msat: String(row.amount_msat) },
      'paying land',
    );
    try {
      if (row.asset_id === this.#deps.btcAssetId) {
        return await this.#untilStopped(this.#deps.lightning.payInvoice(request));
      }
      const asset = await this.#deps.database.db
        .selectFrom('assets')
        .select('tapd_asset_id')
        .where('asset_id', '=', row.asset_id)
        .executeTakeFirst();
      if (!asset?.tapd_asset_id) {
        return {
          paymentHash: row.payment_hash,
          state: 'failed',
          amountMsat: 0n,
          feeMsat: 0n,
          failureReason: 'error',
          createdAt: 0,
        };
      }
      return await this.#untilStopped(
        this.#deps.assets.payAssetInvoice({ ...request, assetId: asset.tapd_asset_id }),
      );
    } catch (error) {
      if (error instanceof BackendError && error.kind === 'rejected') {
        // lnd refuses a second payment of a hash in flight or paid: that payment is ours.
        return this.#wait(row.payment_hash);
      }
      this.#deps.logger.warn(
        { payment_hash: row.payment_hash, err: error },
        'land payment outcome unknown; re-attaching later',
      );
      return undefined;
    }
  }

  /** Success: land movement, the land VTXO into inventory, payment recorded, 31340 with the preimage. */
  async #succeeded(row: PaymentRow, payment: LightningPayment): Promise<PayOutcome> {
    const land = await this.#landOf(row);
    const { publisher, database } = this.#deps;
    const now = this.#now();
    await database.db.transaction().execute(async (trx) => {
      const marked = await trx
        .updateTable('lightning_payments')
        .set({
          status: 'succeeded',
          preimage: payment.preimage ?? null,
          fee_paid_msat: payment.feeMsat,
          completed_at: now,
          updated_at: now,
        })
        .where('payment_hash', '=', row.payment_hash)
        .where('status', 'in', ['pending', 'in_flight'])
        .executeTakeFirst();
      if (marked.numUpdatedRows !== 1n) return;
      const txRows = await trx
        .selectFrom('vtxos')
        .select(['vtxo_id', 'owner_pubkey', 'asset_id', 'amount', 'spent_by_txid', 'created_by_txid'])
        .where((eb) =>
          eb.or([eb('spent_by_txid', '=', land.arkTxid), eb('created_by_txid', '=', land.arkTxid)]),
        )
        .orderBy('vtxo_id')
        .execute();
      const retired = await this.#deps.vtxos.retireWithin(
        trx,
        land.land,
        this.#deps.key.pubkey,
        this.#deps.inventoryAssetId,
      );
      if (retired) {
        await bookMovement(
          trx,
          {
            assetId: land.land.assetId,
            kind: 'land',
            amount: land.land.amount,
            reference: row.payment_hash,
            userPubkey: row.user_pubkey,
            vtxoId: land.land.vtxoId,
            arkTxid: land.arkTxid,
          },
          now,
        );
      } else {
        // Only an expiry (booked as a burn) takes the land VTXO out of the gateway's hands.
        this.#deps.logger.error(
          { payment_hash: row.payment_hash, vtxo_id: land.land.vtxoId },
          'land paid but its VTXO is no longer the assigned land output; no land movement booked',
        );
      }
      const wire = (v: (typeof txRows)[number]) => ({
        vtxo_id: v.vtxo_id,
        owner: v.owner_pubkey,
        asset_id: v.asset_id,
        amount: toBigInt(v.amount).toString(),
      });
      await publisher.send(
        [
          publisher.confirmation({
            intentEventIds: [row.intent_event_id],
            parties: [row.user_pubkey],
            d: land.arkTxid,
            content: {
              action_ids: [land.actionId],
              ark_txid: land.arkTxid,
              spent: txRows
                .filter((v) => v.spent_by_txid === land.arkTxid && toBigInt(v.amount) > 0n)
                .map(wire),
              created: txRows
                .filter((v) => v.created_by_txid === land.arkTxid && toBigInt(v.amount) > 0n)
                .map(wire),
              fees: [{ asset_id: land.fee.asset_id, amount: land.fee.amount, payer: row.user_pubkey }],
              ...(land.commitment ? { commitment: commitmentJson(land.commitment) } : {}),
              settled_at: Math.floor(now / 1000),
              lightning: {
                payment_hash: row.payment_hash,
                preimage: payment.preimage ?? null,
                fee_paid_msat: payment.feeMsat.toString(),
              },
            },
          }),
        ],
        trx,
      );
    });
    publisher.flush();
    this.#deps.logger.info({ payment_hash: row.payment_hash }, 'land paid');
    this.observer?.land(land.land.assetId, 'paid');
    return 'succeeded';
  }

  async #failed(row: PaymentRow, reason: string): Promise<void> {
    const now = this.#now();
    await this.#deps.database.db
      .updateTable('lightning_payments')
      .set({ status: 'failed', failure_reason: reason, completed_at: now, updated_at: now })
      .where('payment_hash', '=', row.payment_hash)
      .where('status', 'in', ['pending', 'in_flight'])
      .execute();
    this.#deps.logger.warn({ payment_hash: row.payment_hash, reason }, 'land payment failed; refunding');
  }

  /** The refund of a failed land, once; then the intent fails with 5003 and the user is told. */
  async #refund(row: PaymentRow): Promise<PayOutcome> {
    const land = await this.#landOf(row);
    const vtxo = await this.#deps.vtxos.get(land.land.vtxoId);
    if (!vtxo) throw new Error(`land VTXO ${land.land.vtxoId} is not in the ledger`);
    const target: RefundTarget = {
      paymentHash: row.payment_hash,
      user: row.user_pubkey,
      land: vtxo,
      intendedVtxoId: row.refund_vtxo_id,
    };
    const deps = {
      database: this.#deps.database,
      records: this.#deps.records,
      vtxos: this.#deps.vtxos,
      ark: this.#deps.ark,
      key: this.#deps.key,
      lockTtlMs: this.#deps.lockTtlMs,
      now: this.#now,
    };
    const submitted = await submitRefund(deps, target);
    // The lock may have lapsed during a long outage: take it again (a no-op when still ours).
    await this.#deps.vtxos.lockForSession(
      submitted.lockId,
      [vtxo.vtxoId],
      this.#deps.key.pubkey,
      vtxo.assetId,
      deps.lockTtlMs,
    );
    const { publisher } = this.#deps;
    const now = this.#now();
    const reason = row.failure_reason ?? 'error';
    await this.#deps.database.db.transaction().execute(async (trx) => {
      const created = await recordRefundWithin(trx, deps, target, submitted);
      const marked = await trx
        .updateTable('lightning_payments')
        .set({ status: 'refunded', refund_vtxo_id: created.vtxoId, updated_at: now })
        .where('payment_hash', '=', row.payment_hash)
        .where('status', '=', 'failed')
        .executeTakeFirst();
      if (marked.numUpdatedRows !== 1n)
        throw new Error(`refund of ${row.payment_hash} was recorded by another worker`);
      const code = ERROR_CODES.LIGHTNING_PAYMENT_FAILED.code;
      const message = `Lightning payment failed (${reason}); the landed amount was refunded`;
      await trx
        .updateTable('intents')
        .set({ status: 'failed', error_code: code, error_message: message, updated_at: now })
        .where('intent_event_id', '=', row.intent_event_id)
        .execute();
      await publisher.send(
        [
          publisher.failureNotice(
            land.intentEvent,
            {
              action_id: land.actionId,
              code,
              message,
              details: {
                payment_hash: row.payment_hash,
                failure_reason: reason,
                refund_vtxo_id: created.vtxoId,
                refund_ark_txid: submitted.arkTxid,
                land_ark_txid: land.arkTxid,
              },
            },
            {},
          ),
        ],
        trx,
      );
    });
    publisher.flush();
    this.#deps.logger.info(
      { payment_hash: row.payment_hash, refund_ark_txid: submitted.arkTxid },
      'land refunded',
    );
    this.observer?.land(land.land.assetId, 'refunded');
    return 'refunded';
  }

  /** Every land not finished: start, re-attach or refund (each under its claim). */
  async sweep(): Promise<{ readonly checked: number; readonly outcomes: Record<string, number> }> {
    const rows = await this.#deps.database.db
      .selectFrom('lightning_payments')
      .select('payment_hash')
      .where('status', 'in', ['pending', 'in_flight', 'failed'])
      .orderBy('created_at')
      .limit(SWEEP_BATCH)
      .execute();
    const outcomes: Record<string, number> = {};
    const results = await Promise.allSettled(rows.map((r) => this.pay(r.payment_hash)));
    for (const [i, result] of results.entries()) {
      const key = result.status === 'fulfilled' ? result.value : 'error';
      outcomes[key] = (outcomes[key] ?? 0) + 1;
      if (result.status === 'rejected') {
        this.#deps.logger.warn(
          { payment_hash: rows[i]!.payment_hash, err: result.reason },
          'land payment step failed; next sweep retries',
        );
      }
    }
    return { checked: rows.length, outcomes };
  }
}
