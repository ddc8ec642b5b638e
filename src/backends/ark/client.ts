// The real Ark client: arkd's REST API (default port 7070) through @arkade-os/sdk's
// RestArkProvider and RestIndexerProvider, the transaction stream over SSE (eventsource
// polyfill), transactions built with the SDK's buildOffchainTx against the server's published
// key and delays. Every call goes through the daemon's DaemonGuard (timeout, retry, breaker).
import {
  CSVMultisigTapscript,
  DefaultVtxo,
  ProviderUnavailableError,
  RestArkProvider,
  RestIndexerProvider,
  Transaction,
  buildOffchainTx,
  type ArkInfo,
  type ArkTxInput,
  type VirtualCoin,
} from '@arkade-os/sdk';
import { base64, hex } from '@scure/base';
import { EventSource } from 'eventsource';
import type { DaemonEndpoint } from '../../config.ts';
import { opReturnScript } from '../../domain/allocation-commitment.ts';
import { StartupError } from '../../errors.ts';
import type { Logger } from '../../logging.ts';
import { DaemonGuard, type CallOptions, type ResilienceOptions } from '../resilience/guard.ts';
import { BackendError, type BackendStatus, type DaemonCallObserver, type Unsubscribe } from '../types.ts';
import type {
  ArkBackend,
  InventoryBatchRequest,
  ArkServerInfo,
  ArkTxEvent,
  ArkVtxo,
  BuildOptions,
  BuiltTransfer,
  ChainTip,
  CommitmentAnchor,
  InventoryBatch,
  Outpoint,
  PendingTxLookup,
  RelativeDelay,
  SignatureSlot,
  SubmittedTx,
  TransferInput,
  TransferOutput,
  VtxoFilter,
  VtxoScriptInfo,
} from './ark-backend.ts';
import { classifyArk } from './errors.ts';
import { EsploraClient, classifyEsplora } from './esplora.ts';
import { inventoryKeyProblem } from './inventory-key.ts';
import { settleInventory } from './inventory-wallet.ts';

/** A batch waits for arkd's next round and its signing steps: far longer than one call. */
export const INVENTORY_BATCH_TIMEOUT_MS = 10 * 60_000;
/** Commitment txids remembered for getCommitmentAnchor, newest last. */
const KEPT_COMMITMENTS = 16;
/** How many of the newest commitments getCommitmentAnchor asks the explorer about. */
const ANCHOR_LOOKUPS = 4;

export interface RealArkDeps {
  readonly logger: Logger;
  readonly resilience?: ResilienceOptions;
  /** Told about every call to the daemon (the daemon_call_seconds histogram). */
  readonly observeCall?: DaemonCallObserver;
}

export async function createRealArk(endpoint: DaemonEndpoint, deps: RealArkDeps): Promise<ArkBackend> {
  if (!endpoint.address) throw new StartupError('ARKD_URL', 'is required when ARKD_MODE is real');
  return new RealArk(endpoint, deps);
}

/** Node has no EventSource; the SDK's stream needs one (installed on first subscription only). */
function ensureEventSource(): void {
  const globals = globalThis as { EventSource?: unknown };
  globals.EventSource ??= EventSource;
}

/** BIP-68: a relative delay of 512 or more is in seconds, below it in blocks (arkd's convention). */
export function relativeDelay(value: bigint): RelativeDelay {
  return value >= 512n ? { type: 'seconds', value } : { type: 'blocks', value };
}

const key = (o: Outpoint) => `${o.txid}:${o.vout}`;

/** The server info as the SDK maps it, plus what its mapping drops. */
type ServerInfo = ArkInfo & {
  /** arkd's max_op_return_outputs; 0 when the server does not report it. */
  readonly maxOpReturnOutputs: number;
};

/**
 * max_op_return_outputs from a raw GetInfo reply (int64, so a JSON string; a number accepted
 * too). Absent: an arkd older than OP_RETURN outputs in offchain txs, which allows none.
 */
export function maxOpReturnOutputsOf(reply: unknown): number {
  const raw = (reply as { maxOpReturnOutputs?: unknown } | null)?.maxOpReturnOutputs;
  if (raw === undefined || raw === null) return 0;
  const text = typeof raw === 'number' ? String(raw) : raw;
  if (typeof text !== 'string' || !/^\d{1,9}$/.test(text)) {
    // classifyArk reads "Invalid … received" as a malformed reply (internal).
    throw new Error(`Invalid maxOpReturnOutputs received: ${JSON.stringify(raw)}`);
  }
  return Number(text);
}

/** The wire VTXO of the transaction stream and the indexer, as the providers hand it over. */
interface WireVtxo {
  outpoint: { txid: string; vout: number };
  amount: string;
  script: string;
  createdAt: string;
  expiresAt: string | null;
  isPreconfirmed: boolean;
  isSwept: boolean;
  isSpent: boolean;
  spentBy: string | null;
  arkTxid?: string;
  commitmentTxids: string[];
}

function fromWire(v: WireVtxo): ArkVtxo {
  const arkTxid = v.arkTxid ?? '';
  return {
    outpoint: { txid: v.outpoint.txid, vout: v.outpoint.vout },
    script: v.script,
    amount: BigInt(v.amount),
    createdAt: Number(v.createdAt),
    expiresAt: v.expiresAt ? Number(v.expiresAt) : 0,
    spent: v.isSpent,
    ...(v.isSpent && arkTxid ? { spentBy: arkTxid } : {}),
    createdBy: v.outpoint.txid,
    preconfirmed: v.isPreconfirmed,
    swept: v.isSwept,
  };
}

function fromCoin(c: VirtualCoin): ArkVtxo {
  const spent = Boolean(c.isSpent);
  return {
    outpoint: { txid: c.txid, vout: c.vout },
    script: c.script,
    amount: BigInt(c.value),
    createdAt: Math.floor(c.createdAt.getTime() / 1000),
    expiresAt: c.expiresAt ? Math.floor(c.expiresAt.getTime() / 1000) : 0,
    spent,
    // The indexer names the Ark tx on a coin: the one that spent it, or, while the coin is still
    // unspent, the submitted-but-not-finalized one that holds it.
    ...(spent && c.arkTxId ? { spentBy: c.arkTxId } : {}),
    ...(!spent && c.arkTxId ? { pendingBy: c.arkTxId } : {}),
    createdBy: c.txid,
    preconfirmed: Boolean(c.isPreconfirmed),
    swept: Boolean(c.isSwept),
  };
}

export class RealArk implements ArkBackend {
  readonly name = 'arkd' as const;
  readonly mode = 'real' as const;
  readonly #endpoint: DaemonEndpoint;
  readonly #guard: DaemonGuard;
  readonly #logger: Logger;
  #ark: RestArkProvider;
  #indexer: RestIndexerProvider;
  #info: ServerInfo | undefined;
  readonly #streams = new Set<AbortController>();
  /** Esplora (ARKD_ESPLORA_URL), behind its own guard; undefined when not configured. */
  readonly #esplora: EsploraClient | undefined;
  readonly #esploraGuard: DaemonGuard | undefined;
  /** Commitment txids seen on the transaction stream or made by our batches, newest last. */
  readonly #commitments: string[] = [];
  /** The client's own stream, started by getCommitmentAnchor to learn commitments. */
  #watcher: Unsubscribe | undefined;

  constructor(endpoint: DaemonEndpoint, deps: RealArkDeps) {
    this.#endpoint = endpoint;
    this.#logger = deps.logger;
    const url = endpoint.address ?? '';
    this.#ark = new RestArkProvider(url);
    this.#indexer = new RestIndexerProvider(url);
    this.#guard = new DaemonGuard({
      daemon: 'arkd',
      timeoutMs: endpoint.timeoutMs,
      logger: deps.logger,
      classify: classifyArk,
      ...(deps.observeCall ? { observe: deps.observeCall } : {}),
      ...endpoint.resilience,
      ...deps.resilience,
    });
    if (endpoint.esploraUrl) {
      // Its own breaker: an explorer outage must not make arkd look down.
      this.#esploraGuard = new DaemonGuard({
        daemon: 'arkd',
        timeoutMs: endpoint.timeoutMs,
        logger: deps.logger,
        classify: classifyEsplora,
        ...(deps.observeCall ? { observe: deps.observeCall } : {}),
        ...endpoint.resilience,
        ...deps.resilience,
      });
      this.#esplora = new EsploraClient(endpoint.esploraUrl, this.#esploraGuard);
    }
  }

  async probe(): Promise<void> {
    await this.#readInfo({ retry: false });
  }

  status(): BackendStatus {
    return { name: 'arkd', mode: 'real', address: this.#endpoint.address ?? '', ...this.#guard.status() };
  }

  async reconnect(): Promise<void> {
    // REST has no connection to keep, but the providers cache the server's digest; new ones
    // start clean, and the server info is read again on next use.
    for (const stream of this.#streams) stream.abort();
    this.#watcher = undefined;
    this.#ark = new RestArkProvider(this.#endpoint.address ?? '');
    this.#indexer = new RestIndexerProvider(this.#endpoint.address ?? '');
    this.#info = undefined;
    this.#guard.reset();
    this.#esploraGuard?.reset();
  }

  async close(): Promise<void> {
    for (const stream of this.#streams) stream.abort();
    this.#streams.clear();
    this.#watcher = undefined;
  }

  /**
   * GetInfo, read twice in one guarded call: through the SDK (its mapping, and the digest its
   * later requests send) and raw, for the max_op_return_outputs the SDK's mapping drops.
   */
  async #readInfo(options?: CallOptions): Promise<ServerInfo> {
    const info = await this.#guard.call(
      'GetInfo',
      async (signal) => {
        const [mapped, raw] = await Promise.all([this.#ark.getInfo(), this.#rawInfo(signal)]);
        return { ...mapped, maxOpReturnOutputs: maxOpReturnOutputsOf(raw) };
      },
      options,
    );
    this.#info = info;
    return info;
  }

  async #rawInfo(signal: AbortSignal): Promise<unknown> {
    const response = await fetch(`${this.#endpoint.address ?? ''}/v1/info`, { signal }).catch(
      (cause: unknown) => {
        throw new ProviderUnavailableError('arkd request failed', { cause });
      },
    );
    if (response.status === 429 || response.status >= 500) {
      throw new ProviderUnavailableError(`arkd unavailable: ${response.status} ${response.statusText}`);
    }
    if (!response.ok) throw new Error(`GetInfo failed: ${response.status} ${await response.text()}`);
    return response.json();
  }

  async #serverInfo(): Promise<ServerInfo> {
    return this.#info ?? this.#readInfo();
  }

  async getInfo(): Promise<ArkServerInfo> {
    const info = await this.#readInfo();
    const fees = info.fees.intentFee as {
      offchainInput?: string;
      offchainOutput?: string;
      onchainInput?: string;
      onchainOutput?: string;
    };
    return {
      signerPubkey: xOnly(info.signerPubkey),
      network: info.network,
      dust: info.dust,
      unilateralExitDelay: relativeDelay(info.unilateralExitDelay),
      boardingExitDelay: relativeDelay(info.boardingExitDelay),
      checkpointTapscript: info.checkpointTapscript,
      fees: {
        txFeeRate: info.fees.txFeeRate ?? '',
        intent: {
          offchainInput: fees.offchainInput ?? '',
          offchainOutput: fees.offchainOutput ?? '',
          onchainInput: fees.onchainInput ?? '',
          onchainOutput: fees.onchainOutput ?? '',
        },
      },
      vtxoMinAmount: info.vtxoMinAmount,
      vtxoMaxAmount: info.vtxoMaxAmount,
      // arkd does not publish the batch lifetime; each VTXO carries its own expiresAt.
      batchExpirySeconds: 0n,
      maxOpReturnOutputs: info.maxOpReturnOutputs,
      version: info.version,
    };
  }

  #script(info: ServerInfo, owner: string): DefaultVtxo.Script {
    if (!/^[0-9a-f]{64}$/.test(owner))
      throw new BackendError('arkd', 'rejected', `arkd: not an x-only public key: ${owner}`);
    const delay = relativeDelay(info.unilateralExitDelay);
    return new DefaultVtxo.Script({
      pubKey: hex.decode(owner),
      serverPubKey: hex.decode(xOnly(info.signerPubkey)),
      csvTimelock: { type: delay.type, value: delay.value },
    });
  }

  async vtxoScript(ownerPubkey: string): Promise<VtxoScriptInfo> {
    const info = await this.#serverInfo();
    const script = this.#script(info, ownerPubkey);
    const prefix = info.network === 'bitcoin' ? 'ark' : 'tark';
    return {
      ownerPubkey,
      pkScript: hex.encode(script.pkScript),
      address: script.address(prefix, hex.decode(xOnly(info.signerPubkey))).encode(),
    };
  }

  async buildTransfer(
    inputs: readonly TransferInput[],
    outputs: readonly TransferOutput[],
    options: BuildOptions = {},
  ): Promise<BuiltTransfer> {
    const fail = (message: string, kind: 'rejected' | 'already_spent' | 'not_found' = 'rejected'): never => {
      throw new BackendError('arkd', kind, `arkd buildTransfer: ${message}`);
    };
    if (inputs.length === 0 || outputs.length === 0) fail('a transfer needs inputs and outputs');
    const info = await this.#serverInfo();
    const totalIn = inputs.reduce((s, i) => s + i.amount, 0n);
    const totalOut = outputs.reduce((s, o) => s + o.amount, 0n);
    if (totalIn !== totalOut) fail(`inputs carry ${totalIn} sats but outputs ${totalOut}`);
    for (const o of outputs)
      if (o.amount < info.dust) fail(`output of ${o.amount} sats is below dust (${info.dust})`);
    const opReturn = options.opReturn && this.#opReturnOutput(info, options.opReturn, fail);
    // The server's indexer is the truth about the inputs: they must exist, be unspent, hold
    // the stated amount and be locked to the stated owner.
    const known = new Map(
      (await this.listVtxos({ outpoints: inputs.map((i) => i.outpoint) })).map((v) => [key(v.outpoint), v]),
    );
    const arkInputs: ArkTxInput[] = inputs.map((input) => {
      const vtxo = known.get(key(input.outpoint)) ?? fail(`unknown VTXO ${key(input.outpoint)}`, 'not_found');
      if (vtxo.spent || vtxo.swept) fail(`VTXO ${key(input.outpoint)} is already spent`, 'already_spent');
      if (vtxo.amount !== input.amount)
        fail(`VTXO ${key(input.outpoint)} holds ${vtxo.amount} sats, not ${input.amount}`);
      const script = this.#script(info, input.ownerPubkey);
      if (hex.encode(script.pkScript) !== vtxo.script)
        fail(`VTXO ${key(input.outpoint)} is not locked to ${input.ownerPubkey}`);
      return {
        txid: input.outpoint.txid,
        vout: input.outpoint.vout,
        value: Number(input.amount),
        tapLeafScript: script.forfeit(),
        tapTree: script.encode(),
      };
    });
    const scripts = outputs.map((o) => this.#script(info, o.ownerPubkey).pkScript);
    const unroll = CSVMultisigTapscript.decode(hex.decode(info.checkpointTapscript));
    // The OP_RETURN goes after the VTXO outputs; buildOffchainTx appends the anchor after it.
    const { arkTx, checkpoints } = buildOffchainTx(
      arkInputs,
      [
        ...outputs.map((o, i) => ({ script: scripts[i]!, amount: o.amount })),
        ...(opReturn ? [opReturn] : []),
      ],
      unroll,
    );
    const signatures: SignatureSlot[] = [
      ...inputs.map((input, i) => ({
        tx: 'ark' as const,
        checkpoint: 0,
        inputIndex: i,
        pubkey: input.ownerPubkey,
      })),
      ...inputs.map((input, i) => ({
        tx: 'checkpoint' as const,
        checkpoint: i,
        inputIndex: 0,
        pubkey: input.ownerPubkey,
      })),
    ];
    return {
      arkTxid: arkTx.id,
      arkPsbt: base64.encode(arkTx.toPSBT()),
      checkpointPsbts: checkpoints.map((c) => base64.encode(c.toPSBT())),
      inputs: [...inputs],
      outputs: outputs.map((o, i) => ({ ...o, vout: i, pkScript: hex.encode(scripts[i]!) })),
      ...(opReturn ? { opReturnVout: outputs.length } : {}),
      signatures,
    };
  }

  /** The zero-value OP_RETURN output carrying `data`, when this arkd accepts one. */
  #opReturnOutput(info: ServerInfo, data: Uint8Array, fail: (message: string) => never) {
    if (info.maxOpReturnOutputs < 1) {
      fail(
        `this arkd is too old for the gateway's allocation commitment: it allows no OP_RETURN output in an Ark tx (max_op_return_outputs is ${info.maxOpReturnOutputs} or absent in GetInfo); upgrade arkd`,
      );
    }
    try {
      return { script: opReturnScript(data), amount: 0n };
    } catch (error) {
      return fail(`OP_RETURN: ${(error as Error).message}`);
    }
  }

  async submitTx(signedArkPsbt: string, checkpointPsbts: readonly string[]): Promise<SubmittedTx> {
    const r = await this.#guard.call(
      'SubmitTx',
      () => this.#ark.submitTx(signedArkPsbt, [...checkpointPsbts]),
      {
        idempotent: false,
      },
    );
    return { arkTxid: r.arkTxid, finalArkPsbt: r.finalArkTx, signedCheckpointPsbts: r.signedCheckpointTxs };
  }

  async finalizeTx(arkTxid: string, finalCheckpointPsbts: readonly string[]): Promise<void> {
    await this.#guard.call('FinalizeTx', () => this.#ark.finalizeTx(arkTxid, [...finalCheckpointPsbts]));
  }

  /**
   * arkd's own GetPendingTx needs an intent proof signed by every input's owner, which the
   * gateway cannot produce for its users' VTXOs; the indexer tells the same story: a VTXO held
   * by a pending tx carries that tx's id while still unspent, a finalized one is spent.
   */
  async getPendingTx(arkTxid: string, inputs: readonly Outpoint[]): Promise<PendingTxLookup> {
    if (inputs.length === 0) return { state: 'unknown' };
    const { vtxos } = await this.#guard.call('GetVtxos', () =>
      this.#indexer.getVtxos({ outpoints: [...inputs] }),
    );
    const mine = vtxos.filter((v) => v.arkTxId === arkTxid);
    if (mine.length === 0) return { state: 'unknown' };
    if (mine.some((v) => v.isSpent)) return { state: 'finalized', arkTxid };
    const arkTxs = await this.#guard.call('GetVirtualTxs', () => this.#indexer.getVirtualTxs([arkTxid]));
    const finalArkPsbt = arkTxs.txs[0];
    if (!finalArkPsbt) return { state: 'unknown' };
    const tx = Transaction.fromPSBT(base64.decode(finalArkPsbt));
    const checkpointIds: string[] = [];
    for (let i = 0; i < tx.inputsLength; i++) {
      const prev = tx.getInput(i).txid;
      if (prev) checkpointIds.push(hex.encode(prev));
    }
    const checkpoints = await this.#guard.call('GetVirtualTxs', () =>
      this.#indexer.getVirtualTxs(checkpointIds),
    );
    return { state: 'pending', arkTxid, finalArkPsbt, signedCheckpointPsbts: checkpoints.txs };
  }

  async listVtxos(filter: VtxoFilter): Promise<ArkVtxo[]> {
    const scripts = filter.scripts ?? [];
    const outpoints = filter.outpoints ?? [];
    if (scripts.length === 0 && outpoints.length === 0) {
      throw new BackendError('arkd', 'rejected', 'arkd GetVtxos: one of scripts or outpoints is required');
    }
    const query = (part: { scripts: string[] } | { outpoints: Outpoint[] }) =>
      this.#guard.call('GetVtxos', () =>
        this.#indexer.getVtxos({
          ...part,
          ...(filter.spendableOnly ? { spendableOnly: true } : {}),
        } as Parameters<RestIndexerProvider['getVtxos']>[0]),
      );
    const results = await Promise.all([
      ...(scripts.length ? [query({ scripts: [...scripts] })] : []),
      ...(outpoints.length ? [query({ outpoints: [...outpoints] })] : []),
    ]);
    const seen = new Map<string, ArkVtxo>();
    for (const r of results) for (const c of r.vtxos) seen.set(`${c.txid}:${c.vout}`, fromCoin(c));
    return [...seen.values()];
  }

  async createInventoryBatch(request: InventoryBatchRequest): Promise<InventoryBatch> {
    const keyProblem = inventoryKeyProblem(request);
    if (keyProblem) throw new BackendError('arkd', 'rejected', `arkd createInventoryBatch: ${keyProblem}`);
    const info = await this.#serverInfo();
    const { amounts } = request;
    if (amounts.length === 0)
      throw new BackendError('arkd', 'rejected', 'arkd createInventoryBatch: no amounts');
    for (const amount of amounts) {
      const low = amount < info.dust || amount < info.vtxoMinAmount;
      const high = info.vtxoMaxAmount >= 0n && amount > info.vtxoMaxAmount;
      if (low || high)
        throw new BackendError(
          'arkd',
          'rejected',
          `arkd createInventoryBatch: VTXO of ${amount} sats is outside the server's limits (dust ${info.dust}, min ${info.vtxoMinAmount}, max ${info.vtxoMaxAmount})`,
        );
    }
    // One guarded call for the whole batch: it joins a round, which is not repeatable blindly.
    const settled = await this.#guard.call(
      'Settle',
      () =>
        settleInventory(
          {
            arkProvider: this.#ark,
            indexerProvider: this.#indexer,
            esploraUrl: this.#endpoint.esploraUrl,
            tipHeight: async () => (await this.getChainTip()).height,
          },
          info,
          request,
        ),
      { idempotent: false, timeoutMs: Math.max(this.#endpoint.timeoutMs, INVENTORY_BATCH_TIMEOUT_MS) },
    );
    this.#noteCommitment(settled.commitmentTxid);
    // The new VTXOs, read back from the indexer: batch leaves hang from the commitment tx.
    const { vtxos: coins } = await this.#guard.call('GetVtxos', () =>
      this.#indexer.getVtxos({ scripts: [settled.script], spendableOnly: true }),
    );
    const fresh = coins
      .filter((c) => c.virtualStatus?.commitmentTxIds?.includes(settled.commitmentTxid))
      .map(fromCoin);
    const take = (amount: bigint) => {
      const i = fresh.findIndex((v) => v.amount === amount);
      return i < 0 ? undefined : fresh.splice(i, 1)[0];
    };
    const vtxos = amounts.map(take);
    const change = settled.change > 0n ? take(settled.change) : undefined;
    if (vtxos.some((v) => v === undefined) || (settled.change > 0n && !change)) {
      throw new BackendError(
        'arkd',
        'internal',
        `arkd createInventoryBatch: batch ${settled.commitmentTxid} committed, but the indexer does not list all its VTXOs yet; reconcile with listVtxos`,
      );
    }
    this.#logger.info(
      {
        daemon: 'arkd',
        commitmentTxid: settled.commitmentTxid,
        vtxos: vtxos.length,
        change: String(settled.change),
      },
      'inventory batch committed',
    );
    return {
      commitmentTxid: settled.commitmentTxid,
      vtxos: vtxos as ArkVtxo[],
      ...(change ? { change } : {}),
    };
  }

  #needEsplora(operation: string): EsploraClient {
    if (this.#esplora) return this.#esplora;
    throw new BackendError(
      'arkd',
      'unavailable',
      `arkd ${operation}: arkd publishes no chain data; set ARKD_ESPLORA_URL to an Esplora API of its Bitcoin network`,
      { retryable: false },
    );
  }

  async getChainTip(): Promise<ChainTip> {
    return this.#needEsplora('getChainTip').tip();
  }

  /**
   * arkd has no "latest commitment" query: the client remembers the commitment txs it sees on its
   * transaction stream (its own, started on the first call here, and any subscriber's) and makes
   * in its own batches, and asks Esplora in which block the newest confirmed one is.
   */
  async getCommitmentAnchor(): Promise<CommitmentAnchor | undefined> {
    this.#watch();
    if (this.#commitments.length === 0) return undefined;
    const esplora = this.#needEsplora('getCommitmentAnchor');
    for (const txid of this.#commitments.slice(-ANCHOR_LOOKUPS).reverse()) {
      const status = await esplora.txStatus(txid).catch((error: unknown) => {
        // Not (yet) known to the explorer: try the one before.
        if (error instanceof BackendError && error.kind === 'not_found') return { confirmed: false as const };
        throw error;
      });
      if (status.confirmed) return { txid, blockHeight: status.blockHeight };
    }
    return undefined;
  }

  #noteCommitment(txid: string): void {
    const at = this.#commitments.indexOf(txid);
    if (at >= 0) this.#commitments.splice(at, 1);
    this.#commitments.push(txid);
    if (this.#commitments.length > KEPT_COMMITMENTS) this.#commitments.shift();
  }

  #watch(): void {
    if (this.#watcher) return;
    this.#watcher = this.subscribeTransactions(
      () => undefined,
      () => {
        this.#watcher = undefined; // broken: the next getCommitmentAnchor starts it again
      },
    );
  }

  subscribeTransactions(onEvent: (event: ArkTxEvent) => void, onError?: (error: Error) => void): Unsubscribe {
    ensureEventSource();
    const controller = new AbortController();
    this.#streams.add(controller);
    const stop = () => {
      controller.abort();
      this.#streams.delete(controller);
    };
    const stream = this.#ark.getTransactionsStream(controller.signal);
    void (async () => {
      try {
        for await (const n of stream) {
          if (controller.signal.aborted) break;
          const tx = n.arkTx ?? n.commitmentTx;
          if (!tx) continue;
          if (n.commitmentTx) this.#noteCommitment(n.commitmentTx.txid);
          const wire = tx as unknown as { txid: string; spentVtxos: WireVtxo[]; spendableVtxos: WireVtxo[] };
          onEvent({
            type: n.arkTx ? 'ark_tx' : 'commitment_tx',
            txid: wire.txid,
            spent: wire.spentVtxos.map((v) => ({ txid: v.outpoint.txid, vout: v.outpoint.vout })),
            created: wire.spendableVtxos.map(fromWire),
          });
        }
        if (!controller.signal.aborted) throw new Error('stream ended');
      } catch (raw) {
        if (controller.signal.aborted) return;
        const c = classifyArk(raw);
        this.#logger.warn({ daemon: 'arkd', kind: c.kind }, `arkd transaction stream broke: ${c.message}`);
        onError?.(
          new BackendError(
            'arkd',
            c.kind === 'rejected' ? 'unavailable' : c.kind,
            `arkd GetTransactionsStream: ${c.message}`,
          ),
        );
      } finally {
        this.#streams.delete(controller);
      }
    })();
    return stop;
  }
}

/** arkd publishes its signer key compressed (33 bytes); scripts use the x-only form. */
function xOnly(pubkey: string): string {
  return pubkey.length === 66 ? pubkey.slice(2) : pubkey;
}
