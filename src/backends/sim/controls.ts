// What only the simulator can do: play the outside world. An external payer settles (or the
// node cancels) one of our invoices, outgoing payments succeed, fail or hang as told, and an
// "external" node issues invoices for lands to pay. Reached from `arkrelay sim pay` and the
// simulator-only HTTP routes; neither exists when Lightning is a real lnd.
import type { LightningInvoice, PaymentFailureReason } from '../lnd/lightning-backend.ts';

export interface PaymentBehaviour {
  /** `hold`: the payment stays in flight until its timeout passes, then fails with `timeout`. */
  readonly outcome: 'succeed' | 'fail' | 'hold';
  /** Time before a succeed/fail outcome is reached, ms (simulated routing time). */
  readonly delayMs: number;
  readonly failureReason: PaymentFailureReason;
  /** Routing fee charged on success, msat (still capped by the payment's fee limit). */
  readonly feeMsat: bigint;
}

export interface LightningSimControls {
  /** Pays one of our open invoices as an external payer would (by BOLT11 string or payment
   * hash); resolves with the settled invoice. Rejects for unknown, expired or non-open ones. */
  payInvoice(bolt11OrPaymentHash: string): Promise<LightningInvoice>;
  /** Cancels one of our open invoices (the payer gave up / it was refused). */
  cancelInvoice(paymentHash: string): Promise<LightningInvoice>;
  /** How outgoing payments from now on end. */
  setPaymentBehaviour(behaviour: Partial<PaymentBehaviour>): PaymentBehaviour;
  paymentBehaviour(): PaymentBehaviour;
  /** A BOLT11 invoice issued by the simulated external node (for lands to pay). */
  createExternalInvoice(request: { amountMsat: bigint; memo?: string; expirySeconds?: number }): Promise<{
    paymentRequest: string;
    paymentHash: string;
    preimage: string;
  }>;
}

export interface SimControls {
  /** Present only when the Lightning backend is the simulator. */
  readonly lightning: LightningSimControls | undefined;
  /** Mines blocks in the simulated chain; resolves with the new height. */
  mineBlocks(count: number): Promise<number>;
  /** The on-chain fee rate the simulated node estimates for slow confirmation, sat/vB. */
  setFeeRate(satPerVbyte: bigint): void;
}
