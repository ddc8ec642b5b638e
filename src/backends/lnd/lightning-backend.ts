// Lightning (lnd) as the gateway needs it. A lift creates an invoice, stores it, and learns it
// was paid through the invoice subscription, which resumes from the `settle_index` the gateway
// persisted, so a settlement that happened while the gateway was down is delivered after the
// restart (and a periodic sweep can look invoices up by payment hash). A land decodes the
// user's payment request (network, amount, expiry, payee), pays it with a timeout and an
// absolute fee limit, and after a crash re-attaches to the payment by payment hash instead of
// paying twice (lnd refuses a second payment of the same hash). The reserve and the inventory
// monitor read on-chain and channel balances and the on-chain fee estimate.
import type { BackendLifecycle, Unsubscribe } from '../types.ts';

export interface LightningInfo {
  /** Compressed (33-byte) hex node key. */
  readonly nodePubkey: string;
  readonly alias: string;
  /** bitcoin | testnet | signet | regtest */
  readonly network: string;
  readonly blockHeight: number;
  readonly syncedToChain: boolean;
  readonly activeChannels: number;
  readonly peers: number;
  readonly version: string;
}

export type InvoiceState = 'open' | 'settled' | 'canceled' | 'accepted';

export interface LightningInvoice {
  readonly paymentRequest: string;
  /** 32-byte hex; sha256 of the preimage. */
  readonly paymentHash: string;
  readonly amountMsat: bigint;
  readonly memo: string;
  readonly state: InvoiceState;
  /** Unix seconds. */
  readonly createdAt: number;
  readonly expiresAt: number;
  /** lnd's add_index: order of creation. */
  readonly addIndex: bigint;
  /** lnd's settle_index; 0 until settled. Persist the highest seen to resume the subscription. */
  readonly settleIndex: bigint;
  readonly settledAt?: number;
  readonly amountPaidMsat?: bigint;
  /** Hex; present once settled (and for invoices this node created). */
  readonly preimage?: string;
}

export interface InvoiceRequest {
  readonly amountMsat: bigint;
  readonly memo?: string;
  /** Default 3600. */
  readonly expirySeconds?: number;
}

export interface DecodedPaymentRequest {
  readonly paymentHash: string;
  /** Undefined for a zero-amount invoice. */
  readonly amountMsat?: bigint;
  /** Payee's compressed hex node key. */
  readonly destination: string;
  /** bitcoin | testnet | signet | regtest, from the bech32 prefix. */
  readonly network: string;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly description?: string;
  readonly descriptionHash?: string;
  readonly minFinalCltvExpiry: number;
}

export type PaymentState = 'in_flight' | 'succeeded' | 'failed';

/** lnd's payment failure reasons, lower-cased. */
export type PaymentFailureReason =
  'timeout' | 'no_route' | 'error' | 'incorrect_payment_details' | 'insufficient_balance' | 'canceled';

export interface LightningPayment {
  readonly paymentHash: string;
  readonly state: PaymentState;
  readonly amountMsat: bigint;
  readonly feeMsat: bigint;
  /** Hex; present when succeeded. */
  readonly preimage?: string;
  readonly failureReason?: PaymentFailureReason;
  /** Unix seconds. */
  readonly createdAt: number;
}

export interface PaymentRequest {
  readonly paymentRequest: string;
  /** Absolute routing fee limit in sats; the payment fails rather than pay more. */
  readonly maxFeeSats: bigint;
  /** lnd gives up routing after this and the payment fails with `timeout`. */
  readonly timeoutSeconds: number;
  /** Only for zero-amount invoices. */
  readonly amountMsat?: bigint;
}

export interface LightningBalances {
  readonly onchainConfirmedSats: bigint;
  readonly onchainUnconfirmedSats: bigint;
  readonly channelLocalSats: bigint;
  readonly channelRemoteSats: bigint;
  readonly channelPendingSats: bigint;
}

export interface InvoiceSubscriptionCursor {
  /** Deliver every invoice settled with a settle_index above this first (lnd's settle_index). */
  readonly settleIndex: bigint;
  /** Deliver every invoice added with an add_index above this first (0: only new ones). */
  readonly addIndex?: bigint;
}

export interface LightningBackend extends BackendLifecycle {
  readonly name: 'lnd';
  getInfo(): Promise<LightningInfo>;
  createInvoice(request: InvoiceRequest): Promise<LightningInvoice>;
  /** Undefined when this node has no invoice with that hash. */
  lookupInvoice(paymentHash: string): Promise<LightningInvoice | undefined>;
  /** Every invoice update (creation, settlement, cancellation) from the cursor on, in order.
   * `onError` is told when the stream breaks; subscribe again from the persisted cursor. */
  subscribeInvoices(
    cursor: InvoiceSubscriptionCursor,
    onInvoice: (invoice: LightningInvoice) => void,
    onError?: (error: Error) => void,
  ): Unsubscribe;
  /** Rejects with `rejected` for a string that is not a valid BOLT11 payment request. */
  decodePaymentRequest(paymentRequest: string): Promise<DecodedPaymentRequest>;
  /** Pays and resolves with the final state (`succeeded` or `failed`); a second call for a hash
   * already paid or in flight rejects with `rejected` (lnd refuses duplicate payments). */
  payInvoice(request: PaymentRequest): Promise<LightningPayment>;
  /** The payment with that hash (after a restart too); `wait` resolves only at a final state. */
  trackPayment(
    paymentHash: string,
    options?: { readonly wait?: boolean },
  ): Promise<LightningPayment | undefined>;
  getBalances(): Promise<LightningBalances>;
  /** On-chain fee rate for confirmation within `targetConfirmations` blocks, sat/vB. */
  estimateFeeRate(targetConfirmations: number): Promise<bigint>;
  /** Routing fee lnd expects to pay for this amount to this destination, msat. */
  estimateRoutingFee(destination: string, amountMsat: bigint): Promise<bigint>;
}
