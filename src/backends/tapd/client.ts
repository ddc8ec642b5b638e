// The real Taproot Assets client: tapd's REST gateway (default port 8089) over TLS pinned to
// the tapd certificate, the hex macaroon in `Grpc-Metadata-macaroon`. Every call goes through
// the daemon's DaemonGuard (timeout, retry, breaker). JSON follows grpc-gateway with proto
// names: 64-bit integers arrive as strings, bytes as base64, enums as their names.
import type { DaemonEndpoint } from '../../config.ts';
import { StartupError } from '../../errors.ts';
import type { Logger } from '../../logging.ts';
import { loadCertificate, loadMacaroon } from '../credentials.ts';
import type { LightningPayment, PaymentFailureReason } from '../lnd/lightning-backend.ts';
import { DaemonGuard, type ResilienceOptions } from '../resilience/guard.ts';
import type { BackendStatus, DaemonCallObserver } from '../types.ts';
import type {
  AssetAddress,
  AssetBalance,
  AssetInvoice,
  AssetInvoiceRequest,
  AssetPaymentRequest,
  AssetsBackend,
  AssetTransfer,
  MintRequest,
  MintResult,
  ProofDelivery,
  TapdInfo,
  TaprootAsset,
} from './assets-backend.ts';
import { TapdReplyError, TapdTransport, classifyTapd } from './rest.ts';

export interface RealTapdDeps {
  readonly logger: Logger;
  readonly resilience?: ResilienceOptions;
  /** Told about every call to the daemon (the daemon_call_seconds histogram). */
  readonly observeCall?: DaemonCallObserver;
}

type Json = Record<string, unknown>;

export async function createRealTapd(endpoint: DaemonEndpoint, deps: RealTapdDeps): Promise<AssetsBackend> {
  if (!endpoint.address) throw new StartupError('TAPD_HOST', 'is required when TAPD_MODE is real');
  return new RealTapd(endpoint, deps);
}

export class RealTapd implements AssetsBackend {
  readonly name = 'tapd' as const;
  readonly mode = 'real' as const;
  readonly #endpoint: DaemonEndpoint;
  readonly #guard: DaemonGuard;
  #transport: TapdTransport;

  constructor(endpoint: DaemonEndpoint, deps: RealTapdDeps) {
    this.#endpoint = endpoint;
    this.#transport = this.#newTransport();
    this.#guard = new DaemonGuard({
      daemon: 'tapd',
      timeoutMs: endpoint.timeoutMs,
      logger: deps.logger,
      classify: classifyTapd,
      ...(deps.observeCall ? { observe: deps.observeCall } : {}),
      ...endpoint.resilience,
      ...deps.resilience,
    });
  }

  #newTransport(): TapdTransport {
    const e = this.#endpoint;
    return new TapdTransport({
      host: e.address ?? '',
      ca: e.tlsCert ? loadCertificate('TAPD_TLS_CERT', e.tlsCert) : undefined,
      macaroonHex: e.macaroon ? loadMacaroon('TAPD_MACAROON', e.macaroon) : undefined,
    });
  }

  #get(op: string, path: string): Promise<Json> {
    return this.#guard.call(op, async (signal) =>
      object(await this.#transport.call('GET', path, undefined, signal)),
    );
  }

  #post(op: string, path: string, body: unknown, idempotent: boolean, timeoutMs?: number): Promise<Json> {
    return this.#guard.call(
      op,
      async (signal) => object(await this.#transport.call('POST', path, body, signal)),
      { idempotent, ...(timeoutMs ? { timeoutMs } : {}) },
    );
  }

  async probe(): Promise<void> {
    await this.#guard.call(
      'GetInfo',
      (signal) => this.#transport.call('GET', '/v1/taproot-assets/getinfo', undefined, signal),
      {
        retry: false,
      },
    );
  }

  status(): BackendStatus {
    return { name: 'tapd', mode: 'real', address: this.#endpoint.address ?? '', ...this.#guard.status() };
  }

  async reconnect(): Promise<void> {
    const next = this.#newTransport();
    this.#transport.close();
    this.#transport = next;
    this.#guard.reset();
  }

  async close(): Promise<void> {
    this.#transport.close();
  }

  async getInfo(): Promise<TapdInfo> {
    const r = await this.#get('GetInfo', '/v1/taproot-assets/getinfo');
    return {
      version: str(r.version),
      network: str(r.network),
      blockHeight: num(r.block_height),
      nodePubkey: str(r.lnd_identity_pubkey),
    };
  }

  async listAssets(): Promise<TaprootAsset[]> {
    const r = await this.#get('ListAssets', '/v1/taproot-assets/assets');
    const byId = new Map<string, Json>();
    for (const a of list(r.assets)) {
      const id = b64hex(object(a.asset_genesis).asset_id);
      if (!byId.has(id)) byId.set(id, a);
    }
    const assets: TaprootAsset[] = [];
    for (const [assetId, a] of byId) {
      const genesis = object(a.asset_genesis);
      const group = a.asset_group ? object(a.asset_group) : undefined;
      const groupKey = group ? b64hex(group.tweaked_group_key) : '';
      assets.push({
        assetId,
        name: str(genesis.name),
        kind: genesis.asset_type === 'COLLECTIBLE' ? 'collectible' : 'normal',
        decimalDisplay: a.decimal_display ? num(object(a.decimal_display).decimal_display ?? 0) : 0,
        ...(groupKey ? { groupKey } : {}),
        mintedSupply: await this.#issued(assetId),
        genesisPoint: str(genesis.genesis_point),
      });
    }
    return assets;
  }

  /** Units ever issued under an asset id: the sum of its issuance leaves in the universe. */
  async #issued(assetId: string): Promise<bigint> {
    const r = await this.#get(
      'AssetLeaves',
      `/v1/taproot-assets/universe/leaves/asset-id/${assetId}?id.proof_type=PROOF_TYPE_ISSUANCE`,
    );
    return list(r.leaves).reduce((sum, leaf) => sum + big(object(leaf.asset).amount), 0n);
  }

  async listBalances(): Promise<AssetBalance[]> {
    const r = await this.#get('ListBalances', '/v1/taproot-assets/assets/balance?asset_id=true');
    return Object.entries(object(r.asset_balances ?? {})).map(([key, value]) => {
      const b = object(value);
      const genesis = object(b.asset_genesis);
      return {
        assetId: genesis.asset_id ? b64hex(genesis.asset_id) : key,
        name: str(genesis.name),
        balance: big(b.balance),
      };
    });
  }

  async mintAsset(request: MintRequest): Promise<MintResult> {
    // Not idempotent: a retried MintAsset could queue the asset twice in the pending batch.
    await this.#post(
      'MintAsset',
      '/v1/taproot-assets/assets',
      {
        asset: {
          asset_type: 'NORMAL',
          name: request.name,
          amount: request.amount.toString(),
          decimal_display: request.decimalDisplay,
          new_grouped_asset: request.grouped && !request.groupKey,
          grouped_asset: Boolean(request.groupKey),
          ...(request.groupKey ? { group_key: hexb64(request.groupKey) } : {}),
        },
        short_response: true,
      },
      false,
    );
    const finalized = await this.#post(
      'FinalizeBatch',
      '/v1/taproot-assets/assets/mint/finalize',
      { short_response: true },
      false,
    );
    const batch = object(finalized.batch);
    const anchorTxid = str(batch.batch_txid);
    const batchKey = b64hex(batch.batch_key);
    // The asset id is known once the batch is committed: find the new asset by name and anchor.
    const assets = await this.#get('ListAssets', '/v1/taproot-assets/assets?include_unconfirmed_mints=true');
    const minted = list(assets.assets).find((a) => {
      const g = object(a.asset_genesis);
      return g.name === request.name && str(g.genesis_point).startsWith(`${anchorTxid}:`);
    });
    if (!minted) throw new TapdReplyError(`minted asset ${request.name} not found in batch ${anchorTxid}`);
    const group = minted.asset_group ? object(minted.asset_group) : undefined;
    const groupKey = group ? b64hex(group.tweaked_group_key) : '';
    return {
      assetId: b64hex(object(minted.asset_genesis).asset_id),
      batchKey,
      anchorTxid,
      ...(groupKey ? { groupKey } : {}),
    };
  }

  async newAddress(assetId: string, amount: bigint): Promise<AssetAddress> {
    const r = await this.#post(
      'NewAddr',
      '/v1/taproot-assets/addrs',
      { asset_id: hexb64(assetId), amt: amount.toString() },
      true,
    );
    return { encoded: str(r.encoded), assetId: b64hex(r.asset_id), amount: big(r.amount) };
  }

  async send(addresses: readonly string[]): Promise<AssetTransfer> {
    const r = await this.#post('SendAsset', '/v1/taproot-assets/send', { tap_addrs: addresses }, false);
    return toTransfer(object(r.transfer));
  }

  async listTransfers(): Promise<AssetTransfer[]> {
    const r = await this.#get('ListTransfers', '/v1/taproot-assets/assets/transfers');
    return list(r.transfers).map(toTransfer);
  }

  async addAssetInvoice(request: AssetInvoiceRequest): Promise<AssetInvoice> {
    const expiry = request.expirySeconds ?? 3600;
    const r = await this.#post(
      'AddInvoice',
      '/v1/taproot-assets/channels/invoice',
      {
        asset_id: hexb64(request.assetId),
        asset_amount: request.assetAmount.toString(),
        invoice_request: { memo: request.memo ?? '', expiry: String(expiry) },
      },
      false,
    );
    const result = object(r.invoice_result);
    const paymentRequest = str(result.payment_request);
    const now = Math.floor(Date.now() / 1000);
    return {
      paymentRequest,
      paymentHash: b64hex(result.r_hash),
      amountMsat: msatOfQuote(r),
      memo: request.memo ?? '',
      state: 'open',
      createdAt: now,
      expiresAt: now + expiry,
      addIndex: big(result.add_index ?? 0),
      settleIndex: 0n,
      assetId: request.assetId,
      assetAmount: request.assetAmount,
    };
  }

  async payAssetInvoice(request: AssetPaymentRequest): Promise<LightningPayment> {
    // The reply is a stream that ends at the payment's final state; allow for the routing time.
    const updates = await this.#guard.call(
      'SendPayment',
      (signal) =>
        this.#transport.call(
          'POST',
          '/v1/taproot-assets/channels/send-payment',
          {
            asset_id: hexb64(request.assetId),
            payment_request: {
              payment_request: request.paymentRequest,
              fee_limit_sat: request.maxFeeSats.toString(),
              timeout_seconds: request.timeoutSeconds,
            },
          },
          signal,
          true,
        ),
      { idempotent: false, timeoutMs: this.#endpoint.timeoutMs + request.timeoutSeconds * 1000 },
    );
    const payments = (updates as unknown[]).map(object).filter((u) => u.payment_result);
    const last = payments.at(-1);
    if (!last) throw new TapdReplyError('send-payment stream ended without a payment result');
    return toPayment(object(last.payment_result));
  }
}

// ---- JSON helpers (validation at the edge: a wrong shape is a TapdReplyError) ----

function object(value: unknown): Json {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new TapdReplyError('expected an object');
  return value as Json;
}
function list(value: unknown): Json[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new TapdReplyError('expected a list');
  return value.map(object);
}
function str(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw new TapdReplyError('expected a string');
  return value;
}
function num(value: unknown): number {
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw new TapdReplyError('expected an integer');
  return n;
}
function big(value: unknown): bigint {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value);
  if (value === undefined) return 0n;
  throw new TapdReplyError('expected an integer amount');
}
function b64hex(value: unknown): string {
  return Buffer.from(str(value), 'base64').toString('hex');
}
function hexb64(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64');
}

const DELIVERY: Record<string, ProofDelivery> = {
  PROOF_DELIVERY_STATUS_NOT_APPLICABLE: 'not_applicable',
  PROOF_DELIVERY_STATUS_COMPLETE: 'complete',
  PROOF_DELIVERY_STATUS_PENDING: 'pending',
};

function toTransfer(t: Json): AssetTransfer {
  return {
    anchorTxid: Buffer.from(str(t.anchor_tx_hash), 'base64').reverse().toString('hex'),
    createdAt: num(t.transfer_timestamp ?? 0),
    outputs: list(t.outputs).map((o) => ({
      assetId: b64hex(o.asset_id),
      amount: big(o.amount),
      scriptKey: b64hex(o.script_key),
      proofDelivery: DELIVERY[str(o.proof_delivery_status)] ?? 'not_applicable',
    })),
  };
}

function msatOfQuote(r: Json): bigint {
  // The invoice's own amount is authoritative; the quote is only used when it has none.
  const result = object(r.invoice_result);
  if (result.value_msat !== undefined) return big(result.value_msat);
  return 0n;
}

const FAILURE: Record<string, PaymentFailureReason> = {
  FAILURE_REASON_TIMEOUT: 'timeout',
  FAILURE_REASON_NO_ROUTE: 'no_route',
  FAILURE_REASON_ERROR: 'error',
  FAILURE_REASON_INCORRECT_PAYMENT_DETAILS: 'incorrect_payment_details',
  FAILURE_REASON_INSUFFICIENT_BALANCE: 'insufficient_balance',
  FAILURE_REASON_CANCELED: 'canceled',
};

function toPayment(p: Json): LightningPayment {
  const status = str(p.status);
  const state = status === 'SUCCEEDED' ? 'succeeded' : status === 'FAILED' ? 'failed' : 'in_flight';
  const preimage = str(p.payment_preimage);
  const failureReason = FAILURE[str(p.failure_reason)];
  return {
    paymentHash: str(p.payment_hash),
    state,
    amountMsat: big(p.value_msat),
    feeMsat: big(p.fee_msat),
    ...(state === 'succeeded' && preimage && !/^0+$/.test(preimage) ? { preimage } : {}),
    ...(state === 'failed' && failureReason ? { failureReason } : {}),
    createdAt: Math.floor(Number(big(p.creation_time_ns ?? 0) / 1_000_000_000n)),
  };
}
