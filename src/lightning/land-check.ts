// The checks a `lightning:land` intent must pass before the ceremony locks anything
// (CeremonyHooks.checkIntent): the BOLT11 decodes (1002), is for lnd's network (1002), is not the
// gateway's own invoice (1002), asks exactly the landed amount (1002: amount × 1000 msat — gBTC is
// 1 sat per unit), has not expired (1003), and is neither paid by us nor being paid by another
// open land (1002). A daemon that cannot answer refuses with its 5xxx code; nothing is locked.
import type {
  DecodedPaymentRequest,
  LightningBackend,
  LightningInfo,
} from '../backends/lnd/lightning-backend.ts';
import { BackendError } from '../backends/types.ts';
import { ProtocolError } from '../domain/error-codes.ts';
import type { Intent } from '../domain/intents.ts';
import type { Database } from '../store/database.ts';
import { MSAT_PER_UNIT } from './lift.ts';

export interface LandCheckDeps {
  readonly database: Database;
  readonly lightning: LightningBackend;
  readonly now: () => number;
}

/** Intent states of a land that may still pay its invoice. */
const OPEN_INTENT_STATES = ['received', 'accepted', 'in_session'] as const;

export class LandChecker {
  readonly #deps: LandCheckDeps;
  #info: LightningInfo | undefined;

  constructor(deps: LandCheckDeps) {
    this.#deps = deps;
  }

  async #nodeInfo(): Promise<LightningInfo> {
    this.#info ??= await this.#deps.lightning.getInfo();
    return this.#info;
  }

  async decode(invoice: string): Promise<DecodedPaymentRequest> {
    try {
      return await this.#deps.lightning.decodePaymentRequest(invoice);
    } catch (error) {
      if (error instanceof BackendError && (error.kind === 'rejected' || error.kind === 'internal')) {
        throw new ProtocolError(
          'MALFORMED_CONTENT',
          `params.invoice is not a valid BOLT11 invoice: ${error.message}`,
        );
      }
      if (error instanceof BackendError) throw error.toProtocolError();
      throw error;
    }
  }

  async check(intent: Intent): Promise<void> {
    const p = intent.params;
    if (p.type !== 'lightning:land') return;
    const decoded = await this.decode(p.invoice);
    let info: LightningInfo;
    try {
      info = await this.#nodeInfo();
    } catch (error) {
      if (error instanceof BackendError) throw error.toProtocolError();
      throw error;
    }
    if (decoded.network !== info.network) {
      throw new ProtocolError(
        'MALFORMED_CONTENT',
        `the invoice is for ${decoded.network}; this gateway pays on ${info.network}`,
      );
    }
    if (decoded.destination === info.nodePubkey) {
      throw new ProtocolError('MALFORMED_CONTENT', "the invoice is the gateway's own");
    }
    const expected = p.amount * MSAT_PER_UNIT;
    if (decoded.amountMsat === undefined) {
      throw new ProtocolError(
        'MALFORMED_CONTENT',
        'the invoice has no amount; a land pays exactly its amount',
      );
    }
    if (decoded.amountMsat !== expected) {
      throw new ProtocolError(
        'MALFORMED_CONTENT',
        `the invoice asks ${decoded.amountMsat} msat; landing ${p.amount} ${p.assetId} pays ${expected} msat`,
      );
    }
    if (decoded.expiresAt * 1000 <= this.#deps.now()) {
      throw new ProtocolError('EXPIRED', 'the invoice has expired');
    }
    const db = this.#deps.database.db;
    const paid = await db
      .selectFrom('lightning_payments')
      .select('status')
      .where('payment_hash', '=', decoded.paymentHash)
      .executeTakeFirst();
    if (paid) {
      throw new ProtocolError(
        'MALFORMED_CONTENT',
        `the invoice is already paid or being paid (${paid.status})`,
      );
    }
    // A land settled in Ark but not yet paid has its payment row; one still signing has only its
    // intent. Few are open at once, so they are read and compared here.
    const open = await db
      .selectFrom('intents')
      .select(['intent_event_id', 'params_json'])
      .where('intent_type', '=', 'lightning:land')
      .where('status', 'in', [...OPEN_INTENT_STATES])
      .execute();
    const mine = p.invoice.trim().toLowerCase();
    for (const other of open) {
      if (other.intent_event_id === intent.eventId) continue;
      const invoice = (JSON.parse(other.params_json) as { invoice?: unknown }).invoice;
      if (typeof invoice === 'string' && invoice.trim().toLowerCase() === mine) {
        throw new ProtocolError('MALFORMED_CONTENT', 'another land of this invoice is in progress');
      }
    }
  }
}
