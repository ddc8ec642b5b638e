// The real Lightning client: lnd over gRPC (default port 10009) through the `lightning`
// package, with the TLS certificate and macaroon from configuration. Every call goes through
// the daemon's DaemonGuard (timeout, retry, breaker).
import bolt11 from 'bolt11';
import {
  authenticatedLndGrpc,
  createInvoice,
  decodePaymentRequest,
  getChainBalance,
  getChainFeeRate,
  getChannelBalance,
  getInvoice,
  getPayment,
  getPendingChainBalance,
  getRouteToDestination,
  getWalletInfo,
  subscribeToInvoices,
  subscribeToPastPayment,
  subscribeToPayViaRequest,
  type AuthenticatedLnd,
  type GetPaymentResult,
} from 'lightning';
import type { DaemonEndpoint } from '../../config.ts';
import { StartupError } from '../../errors.ts';
import type { Logger } from '../../logging.ts';
import { loadCertificate, loadMacaroon } from '../credentials.ts';
import { DaemonGuard, type ResilienceOptions } from '../resilience/guard.ts';
import { BackendError, type BackendStatus, type DaemonCallObserver, type Unsubscribe } from '../types.ts';
import { classifyLnd } from './errors.ts';
import type {
  DecodedPaymentRequest,
  InvoiceRequest,
  InvoiceSubscriptionCursor,
  LightningBackend,
  LightningBalances,
  LightningInfo,
  LightningInvoice,
  LightningPayment,
  PaymentFailureReason,
  PaymentRequest,
} from './lightning-backend.ts';

export interface RealLndDeps {
  readonly logger: Logger;
  readonly resilience?: ResilienceOptions;
  /** Told about every call to the daemon (the daemon_call_seconds histogram). */
  readonly observeCall?: DaemonCallObserver;
}

export async function createRealLnd(endpoint: DaemonEndpoint, deps: RealLndDeps): Promise<LightningBackend> {
  if (!endpoint.address) throw new StartupError('LND_HOST', 'is required when LND_MODE is real');
  if (!endpoint.macaroon) throw new StartupError('LND_MACAROON', 'is required when LND_MODE is real');
  return new RealLnd(endpoint, deps);
}

// Genesis block hashes (as lnd reports them in GetInfo's chains) to network names.
const GENESIS: Record<string, string> = {
  '000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f': 'bitcoin',
  '000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943': 'testnet',
  '00000000da84f2bafbbc53dee25a72ae507ff4914b867c565be350b0da8bf043': 'testnet',
  '00000008819873e925422c1ff0f99f7cc9bbb232af63a077a480a3633bee1ef6': 'signet',
  '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206': 'regtest',
};
const reverseHex = (hex: string) => Buffer.from(hex, 'hex').reverse().toString('hex');

function networkOfChain(chain: string | undefined): string {
  if (!chain) return 'unknown';
  return GENESIS[chain] ?? GENESIS[reverseHex(chain)] ?? 'unknown';
}

/** The network a BOLT11 string is for, from its human-readable prefix. */
export function networkOfPaymentRequest(request: string): string {
  const prefix = /^ln([a-z]+?)(\d|1)/.exec(request.toLowerCase())?.[1] ?? '';
  if (prefix.startsWith('bcrt')) return 'regtest';
  if (prefix.startsWith('tbs')) return 'signet';
  if (prefix.startsWith('tb')) return 'testnet';
  if (prefix.startsWith('bc')) return 'bitcoin';
  return 'unknown';
}

const seconds = (iso: string | undefined): number => (iso ? Math.floor(Date.parse(iso) / 1000) : 0);
const big = (value: string | number | undefined): bigint =>
  value === undefined || value === '' ? 0n : BigInt(typeof value === 'number' ? Math.trunc(value) : value);

interface PackageInvoice {
  id: string;
  request?: string;
  mtokens?: string;
  description?: string;
  is_confirmed?: boolean;
  is_canceled?: boolean;
  is_held?: boolean;
  created_at: string;
  expires_at: string;
  confirmed_at?: string;
  confirmed_index?: number;
  index: number;
  received_mtokens?: string;
  secret?: string;
}

function toInvoice(i: PackageInvoice): LightningInvoice {
  const state = i.is_confirmed ? 'settled' : i.is_canceled ? 'canceled' : i.is_held ? 'accepted' : 'open';
  return {
    paymentRequest: i.request ?? '',
    paymentHash: i.id,
    amountMsat: big(i.mtokens),
    memo: i.description ?? '',
    state,
    createdAt: seconds(i.created_at),
    expiresAt: seconds(i.expires_at),
    addIndex: big(i.index),
    settleIndex: big(i.confirmed_index),
    ...(state === 'settled'
      ? { settledAt: seconds(i.confirmed_at), amountPaidMsat: big(i.received_mtokens) }
      : {}),
    ...(i.secret ? { preimage: i.secret } : {}),
  };
}

interface FailedFlags {
  is_canceled?: boolean;
  is_insufficient_balance?: boolean;
  is_invalid_payment?: boolean;
  is_pathfinding_timeout?: boolean;
  is_route_not_found?: boolean;
}

function failureReason(f: FailedFlags | undefined): PaymentFailureReason {
  if (!f) return 'error';
  if (f.is_insufficient_balance) return 'insufficient_balance';
  if (f.is_invalid_payment) return 'incorrect_payment_details';
  if (f.is_pathfinding_timeout) return 'timeout';
  if (f.is_route_not_found) return 'no_route';
  if (f.is_canceled) return 'canceled';
  return 'error';
}

interface Settled {
  id: string;
  mtokens: string;
  fee_mtokens: string;
  secret: string;
  confirmed_at?: string;
  created_at?: string;
}

function succeeded(p: Settled): LightningPayment {
  return {
    paymentHash: p.id,
    state: 'succeeded',
    amountMsat: big(p.mtokens) - big(p.fee_mtokens),
    feeMsat: big(p.fee_mtokens),
    preimage: p.secret,
    createdAt: seconds(p.created_at ?? p.confirmed_at),
  };
}

function failed(paymentHash: string, flags: FailedFlags | undefined, amountMsat = 0n): LightningPayment {
  return {
    paymentHash,
    state: 'failed',
    amountMsat,
    feeMsat: 0n,
    failureReason: failureReason(flags),
    createdAt: 0,
  };
}

export class RealLnd implements LightningBackend {
  readonly name = 'lnd' as const;
  readonly mode = 'real' as const;
  readonly #endpoint: DaemonEndpoint;
  readonly #guard: DaemonGuard;
  readonly #logger: Logger;
  #lnd: AuthenticatedLnd;
  readonly #subscriptions = new Set<() => void>();

  constructor(endpoint: DaemonEndpoint, deps: RealLndDeps) {
    this.#endpoint = endpoint;
    this.#logger = deps.logger;
    this.#lnd = this.#connect();
    this.#guard = new DaemonGuard({
      daemon: 'lnd',
      timeoutMs: endpoint.timeoutMs,
      logger: deps.logger,
      classify: classifyLnd,
      ...(deps.observeCall ? { observe: deps.observeCall } : {}),
      ...endpoint.resilience,
      ...deps.resilience,
    });
  }

  #connect(): AuthenticatedLnd {
    const e = this.#endpoint;
    const cert = e.tlsCert
      ? Buffer.from(loadCertificate('LND_TLS_CERT', e.tlsCert)).toString('base64')
      : undefined;
    const macaroon = e.macaroon ? loadMacaroon('LND_MACAROON', e.macaroon, { allowBase64: true }) : undefined;
    return authenticatedLndGrpc({
      socket: e.address,
      ...(cert ? { cert } : {}),
      ...(macaroon ? { macaroon } : {}),
    }).lnd;
  }

  #call<T>(
    op: string,
    fn: (lnd: AuthenticatedLnd) => Promise<T>,
    options: { idempotent?: boolean; timeoutMs?: number } = {},
  ) {
    return this.#guard.call(op, () => fn(this.#lnd), options);
  }

  async probe(): Promise<void> {
    await this.#guard.call('GetInfo', () => getWalletInfo({ lnd: this.#lnd }), { retry: false });
  }

  status(): BackendStatus {
    return { name: 'lnd', mode: 'real', address: this.#endpoint.address ?? '', ...this.#guard.status() };
  }

  async reconnect(): Promise<void> {
    const next = this.#connect();
    const old = this.#lnd;
    this.#lnd = next;
    closeLnd(old);
    this.#guard.reset();
  }

  async close(): Promise<void> {
    for (const stop of [...this.#subscriptions]) stop();
    closeLnd(this.#lnd);
  }

  async getInfo(): Promise<LightningInfo> {
    const info = await this.#call('GetInfo', (lnd) => getWalletInfo({ lnd }));
    return {
      nodePubkey: info.public_key,
      alias: info.alias,
      network: networkOfChain(info.chains[0]),
      blockHeight: info.current_block_height,
      syncedToChain: info.is_synced_to_chain,
      activeChannels: info.active_channels_count,
      peers: info.peers_count,
      version: info.version,
    };
  }

  async createInvoice(request: InvoiceRequest): Promise<LightningInvoice> {
    const expiresAt = new Date(Date.now() + (request.expirySeconds ?? 3600) * 1000).toISOString();
    // Not idempotent: a retry after a lost reply would create a second invoice.
    const created = await this.#call(
      'AddInvoice',
      (lnd) =>
        createInvoice({
          lnd,
          mtokens: request.amountMsat.toString(),
          description: request.memo ?? '',
          expires_at: expiresAt,
        }),
      { idempotent: false },
    );
    const found = await this.lookupInvoice(created.id);
    if (!found)
      throw new BackendError(
        'lnd',
        'internal',
        `lnd AddInvoice: invoice ${created.id} not found after creation`,
      );
    return found;
  }

  async lookupInvoice(paymentHash: string): Promise<LightningInvoice | undefined> {
    try {
      const invoice = await this.#call('LookupInvoice', (lnd) => getInvoice({ lnd, id: paymentHash }));
      return toInvoice(invoice as unknown as PackageInvoice);
    } catch (error) {
      if (error instanceof BackendError && error.kind === 'not_found') return undefined;
      throw error;
    }
  }

  subscribeInvoices(
    cursor: InvoiceSubscriptionCursor,
    onInvoice: (invoice: LightningInvoice) => void,
    onError?: (error: Error) => void,
  ): Unsubscribe {
    const sub = subscribeToInvoices({
      lnd: this.#lnd,
      ...(cursor.addIndex ? { added_after: Number(cursor.addIndex) } : {}),
      ...(cursor.settleIndex ? { confirmed_after: Number(cursor.settleIndex) } : {}),
    });
    let stopped = false;
    const stop = () => {
      if (stopped) return;
      stopped = true;
      this.#subscriptions.delete(stop);
      sub.removeAllListeners();
    };
    this.#subscriptions.add(stop);
    sub.on('invoice_updated', (invoice: PackageInvoice) => {
      if (!stopped) onInvoice(toInvoice(invoice));
    });
    // The package would resubscribe on its own; the interface leaves that to the caller, who
    // resumes from the settle_index it persisted.
    sub.on('error', (raw: unknown) => {
      if (stopped) return;
      stop();
      const c = classifyLnd(raw);
      this.#logger.warn({ daemon: 'lnd', kind: c.kind }, `lnd invoice stream broke: ${c.message}`);
      onError?.(
        new BackendError(
          'lnd',
          c.kind,
          `lnd SubscribeInvoices: ${c.message}`,
          c.daemonCode ? { daemonCode: c.daemonCode } : {},
        ),
      );
    });
    return stop;
  }

  async decodePaymentRequest(paymentRequest: string): Promise<DecodedPaymentRequest> {
    const d = await this.#call('DecodePayReq', (lnd) =>
      decodePaymentRequest({ lnd, request: paymentRequest }),
    );
    let createdAt = 0;
    try {
      createdAt = bolt11.decode(paymentRequest).timestamp ?? 0;
    } catch {
      // lnd accepted it; the local decoder is only for the timestamp
    }
    const amount = big(d.mtokens);
    return {
      paymentHash: d.id,
      ...(amount > 0n ? { amountMsat: amount } : {}),
      destination: d.destination,
      network: networkOfPaymentRequest(paymentRequest),
      createdAt,
      expiresAt: seconds(d.expires_at),
      ...(d.description ? { description: d.description } : {}),
      ...(d.description_hash ? { descriptionHash: d.description_hash } : {}),
      minFinalCltvExpiry: d.cltv_delta ?? 0,
    };
  }

  async payInvoice(request: PaymentRequest): Promise<LightningPayment> {
    // Never retried once sent: lnd refuses a second payment of the same hash anyway, and the
    // caller re-attaches with trackPayment after an ambiguous failure.
    return this.#call(
      'SendPaymentV2',
      (lnd) =>
        new Promise<LightningPayment>((resolve, reject) => {
          const sub = subscribeToPayViaRequest({
            lnd,
            request: request.paymentRequest,
            max_fee_mtokens: (request.maxFeeSats * 1000n).toString(),
            pathfinding_timeout: request.timeoutSeconds * 1000,
            ...(request.amountMsat ? { mtokens: request.amountMsat.toString() } : {}),
          });
          const done = () => sub.removeAllListeners();
          sub.on('confirmed', (p: Settled) => {
            done();
            resolve(succeeded(p));
          });
          sub.on('failed', (f: FailedFlags & { id?: string }) => {
            done();
            resolve(failed(f.id ?? '', f, request.amountMsat ?? 0n));
          });
          sub.on('error', (err: unknown) => {
            done();
            reject(err);
          });
        }),
      { idempotent: false, timeoutMs: this.#endpoint.timeoutMs + request.timeoutSeconds * 1000 },
    );
  }

  async trackPayment(
    paymentHash: string,
    options: { readonly wait?: boolean } = {},
  ): Promise<LightningPayment | undefined> {
    let found: GetPaymentResult;
    try {
      found = await this.#call(
        'TrackPaymentV2',
        async (lnd) => (await getPayment({ lnd, id: paymentHash })) as unknown as GetPaymentResult,
      );
    } catch (error) {
      if (error instanceof BackendError && error.kind === 'not_found') return undefined;
      throw error;
    }
    if (found.is_confirmed && found.payment) return succeeded(found.payment as unknown as Settled);
    if (found.is_failed) return failed(paymentHash, found.failed);
    const pending = (found as { pending?: { mtokens?: string; fee_mtokens?: string; created_at?: string } })
      .pending;
    const inFlight: LightningPayment = {
      paymentHash,
      state: 'in_flight',
      amountMsat: big(pending?.mtokens),
      feeMsat: big(pending?.fee_mtokens),
      createdAt: seconds(pending?.created_at),
    };
    if (!options.wait) return inFlight;
    // Waiting for a final state is not a bounded call: it has no deadline and does not count
    // toward the breaker; a broken stream rejects and the caller tracks again.
    return new Promise<LightningPayment>((resolve, reject) => {
      const sub = subscribeToPastPayment({ lnd: this.#lnd, id: paymentHash });
      const stop = () => {
        this.#subscriptions.delete(stop);
        sub.removeAllListeners();
      };
      this.#subscriptions.add(stop);
      sub.on('confirmed', (p: Settled) => {
        stop();
        resolve(succeeded(p));
      });
      sub.on('failed', (f: FailedFlags) => {
        stop();
        resolve(failed(paymentHash, f, inFlight.amountMsat));
      });
      sub.on('error', (raw: unknown) => {
        stop();
        const c = classifyLnd(raw);
        reject(
          new BackendError(
            'lnd',
            c.kind,
            `lnd TrackPaymentV2: ${c.message}`,
            c.daemonCode ? { daemonCode: c.daemonCode } : {},
          ),
        );
      });
    });
  }

  async getBalances(): Promise<LightningBalances> {
    const [chain, pending, channels] = await Promise.all([
      this.#call('WalletBalance', (lnd) => getChainBalance({ lnd })),
      this.#call('WalletBalance', (lnd) => getPendingChainBalance({ lnd })),
      this.#call('ChannelBalance', (lnd) => getChannelBalance({ lnd })),
    ]);
    return {
      onchainConfirmedSats: big(chain.chain_balance),
      onchainUnconfirmedSats: big(pending.pending_chain_balance),
      channelLocalSats: big(channels.channel_balance),
      channelRemoteSats: big(channels.inbound),
      channelPendingSats: big(channels.pending_balance),
    };
  }

  async estimateFeeRate(targetConfirmations: number): Promise<bigint> {
    const r = await this.#call('EstimateFee', (lnd) =>
      getChainFeeRate({ lnd, confirmation_target: targetConfirmations }),
    );
    // sat/vB may be fractional; round up so an estimate never undershoots.
    return BigInt(Math.ceil(r.tokens_per_vbyte));
  }

  async estimateRoutingFee(destination: string, amountMsat: bigint): Promise<bigint> {
    const r = await this.#call('QueryRoutes', (lnd) =>
      getRouteToDestination({ lnd, destination, mtokens: amountMsat.toString() }),
    );
    if (!r.route) throw new BackendError('lnd', 'rejected', `lnd QueryRoutes: no route to ${destination}`);
    return big(r.route.fee_mtokens);
  }
}

/** Closes the gRPC channels the package opened (one per service). */
function closeLnd(lnd: AuthenticatedLnd): void {
  for (const service of Object.values(lnd as unknown as Record<string, { close?: () => void }>)) {
    try {
      service?.close?.();
    } catch {
      // already closed
    }
  }
}
