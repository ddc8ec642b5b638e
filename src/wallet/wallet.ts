// The reference wallet: one identity, one gateway, a few relays. It builds and publishes intents
// (remembering each as approved), sends service requests, verifies and answers signing
// challenges, keeps the VTXOs it knows, and tells the app what became of each intent.
import { KIND, tagValues, type GatewayInfo, type NostrEvent } from '../domain/nostr-protocol.ts';
import { type AmountLike, jsonAmount } from './amounts.ts';
import { Ceremony, type ChallengeDecision, type IncomingChallenge } from './ceremony.ts';
import type { Challenge, ChallengeResponse } from './challenge.ts';
import { Emitter } from './emitter.ts';
import {
  approvedIntent,
  buildIntent,
  intentFee,
  landFee,
  landParams,
  legParams,
  splitParams,
  transferParams,
  type ApprovedIntent,
  type AssetAmount,
  type Fee,
  type IntentSpec,
  type SignedIntent,
} from './intents.ts';
import { toHexPubkey, WalletKey } from './keys.ts';
import { OutcomeTracker, type Confirmation, type FailureNotice, type Outcome } from './outcomes.ts';
import { syncAllPages } from './sync-pages.ts';
import { RelayPool } from './relays.ts';
import { request, sendRequest, type RequestOptions, type SentRequest } from './service.ts';
import type { KnownVtxo } from './verify/verifier.ts';
import { VtxoBook } from './vtxo-book.ts';

export interface WalletOptions {
  /** The identity: a WalletKey, 32 bytes, hex or nsec. Default: a new key. */
  readonly key?: WalletKey | Uint8Array | string;
  /** The gateway's key (hex or npub), from its `info` or its operator. */
  readonly gatewayPubkey: string;
  /** Relay URLs, or a pool the app manages. */
  readonly relays: readonly string[] | RelayPool;
  /** Answer verified challenges on its own (default true). */
  readonly autoSign?: boolean;
  /** Sees every challenge with the wallet's verdict; may return a decision (tests). */
  readonly onChallenge?: (
    incoming: IncomingChallenge,
  ) => ChallengeDecision | undefined | void | Promise<ChallengeDecision | undefined | void>;
  /** Pins the Ark server key the VTXO scripts must use. */
  readonly serverPubkey?: string;
  /** Default timeout of service requests, ms (15 000). */
  readonly requestTimeoutMs?: number;
  /** How far back the subscription looks for challenges and results on start, seconds (120). */
  readonly catchupSeconds?: number;
}

export interface WalletEvents extends Record<string, unknown> {
  challenge: IncomingChallenge;
  refused: { challenge: Challenge | undefined; event: NostrEvent; reason: string };
  responded: { challenge: Challenge; event: NostrEvent; response: ChallengeResponse };
  confirmation: { confirmation: Confirmation; event: NostrEvent; actionIds: string[] };
  failure: { notice: FailureNotice; event: NostrEvent };
  notification: { body: Record<string, unknown>; event: NostrEvent };
  error: Error;
}

export interface SyncState {
  readonly vtxos: KnownVtxo[];
  readonly raw: Record<string, unknown>;
}

export class ArkRelayWallet {
  readonly key: WalletKey;
  readonly gatewayPubkey: string;
  readonly pool: RelayPool;
  readonly vtxos: VtxoBook;
  readonly #options: WalletOptions;
  readonly #events = new Emitter<WalletEvents>();
  readonly #intents = new Map<string, ApprovedIntent>();
  readonly #outcomes = new OutcomeTracker();
  readonly #ceremony: Ceremony;
  #previousGateways: string[] = [];
  #stop: (() => void) | undefined;

  constructor(options: WalletOptions) {
    this.#options = options;
    this.key =
      options.key instanceof WalletKey
        ? options.key
        : options.key !== undefined
          ? WalletKey.from(options.key)
          : WalletKey.generate();
    this.gatewayPubkey = toHexPubkey(options.gatewayPubkey);
    this.pool = options.relays instanceof RelayPool ? options.relays : new RelayPool(options.relays);
    this.vtxos = new VtxoBook(this.key.pubkey);
    this.#ceremony = new Ceremony({
      key: this.key,
      gateways: () => this.gateways,
      intent: (actionId) => this.#intents.get(actionId),
      knownVtxo: (vtxoId) => this.vtxos.get(vtxoId),
      publish: (event) => this.pool.publish(event),
      ...(options.serverPubkey !== undefined ? { serverPubkey: options.serverPubkey } : {}),
      autoSign: options.autoSign ?? true,
      ...(options.onChallenge ? { onChallenge: options.onChallenge } : {}),
      emit: {
        challenge: (c) => this.#events.emit('challenge', c),
        refused: (r) => this.#events.emit('refused', r),
        responded: (r) => this.#events.emit('responded', r),
        error: (e) => this.#events.emit('error', e),
      },
    });
  }

  /** Connects to the relays and starts listening for challenges and results. */
  static async connect(options: WalletOptions): Promise<ArkRelayWallet> {
    const wallet = new ArkRelayWallet(options);
    await wallet.start();
    return wallet;
  }

  get pubkey(): string {
    return this.key.pubkey;
  }

  get npub(): string {
    return this.key.npub;
  }

  /** The gateway keys whose events count: the configured one, then previous ones `info` named. */
  get gateways(): string[] {
    return [this.gatewayPubkey, ...this.#previousGateways];
  }

  on<K extends keyof WalletEvents>(name: K, listener: (payload: WalletEvents[K]) => void): () => void {
    return this.#events.on(name, listener);
  }

  async start(): Promise<void> {
    await this.pool.connect();
    if (this.#stop) return;
    const since = Math.floor(Date.now() / 1000) - (this.#options.catchupSeconds ?? 120);
    this.#stop = this.pool.subscribe(
      [
        {
          kinds: [KIND.SIGNING_CHALLENGE, KIND.FAILURE_NOTICE, KIND.NOTIFICATION, KIND.CONFIRMATION],
          '#p': [this.pubkey],
          since,
        },
      ],
      (event) => void this.#onEvent(event),
    );
  }

  close(): void {
    this.#stop?.();
    this.#stop = undefined;
    this.pool.close();
  }

  async #onEvent(event: NostrEvent): Promise<void> {
    if (!this.gateways.includes(event.pubkey)) return;
    try {
      switch (event.kind) {
        case KIND.SIGNING_CHALLENGE:
          await this.#ceremony.handle(event);
          break;
        case KIND.CONFIRMATION: {
          const confirmation = JSON.parse(event.content) as Confirmation;
          this.vtxos.applyConfirmation(confirmation);
          const actionIds = this.#outcomes.confirmed(confirmation, event.id, tagValues(event, 'e'));
          this.#events.emit('confirmation', { confirmation, event, actionIds });
          break;
        }
        case KIND.FAILURE_NOTICE: {
          const notice = JSON.parse(this.key.decrypt(event.pubkey, event.content)) as FailureNotice;
          this.#outcomes.failed(notice, event.id, tagValues(event, 'e'));
          this.#events.emit('failure', { notice, event });
          break;
        }
        case KIND.NOTIFICATION: {
          const body = JSON.parse(this.key.decrypt(event.pubkey, event.content)) as Record<string, unknown>;
          this.#events.emit('notification', { body, event });
          break;
        }
      }
    } catch (error) {
      this.#events.emit('error', error as Error);
    }
  }

  // --- intents ------------------------------------------------------------------------------

  /** Signs an intent and remembers it as approved: challenges for it are checked against it. */
  buildIntent(spec: IntentSpec): SignedIntent {
    const intent = buildIntent(spec, this.gatewayPubkey, this.key);
    this.approve(intent);
    return intent;
  }

  /** Remembers an intent this wallet signed (e.g. after a restart) as approved. */
  approve(intent: SignedIntent): ApprovedIntent {
    if (intent.event.pubkey !== this.pubkey) throw new Error('an intent of another key cannot be approved');
    const approved = approvedIntent(intent);
    this.#intents.set(approved.actionId, approved);
    this.#outcomes.registerIntent(intent.event.id, approved.actionId);
    return approved;
  }

  approvedIntent(actionId: string): ApprovedIntent | undefined {
    return this.#intents.get(actionId);
  }

  async publishIntent(intent: SignedIntent): Promise<string[]> {
    return this.pool.publish(intent.event);
  }

  transferIntent(p: {
    recipient: string;
    assetId: string;
    amount: AmountLike;
    memo?: string;
    fee?: Fee;
    expiresAt?: number;
    actionId?: string;
  }): SignedIntent {
    return this.buildIntent({ type: 'transfer:p2p', params: transferParams(p), ...common(p, intentFee()) });
  }

  splitIntent(p: {
    vtxoId: string;
    amounts: readonly AmountLike[];
    fee?: Fee;
    expiresAt?: number;
    actionId?: string;
  }): SignedIntent {
    return this.buildIntent({ type: 'vtxo:split', params: splitParams(p), ...common(p, intentFee()) });
  }

  landIntent(p: {
    assetId: string;
    amount: AmountLike;
    invoice: string;
    fee?: Fee;
    expiresAt?: number;
    actionId?: string;
  }): SignedIntent {
    return this.buildIntent({
      type: 'lightning:land',
      params: landParams(p),
      ...common(p, landFee(p.assetId, p.amount)),
    });
  }

  /** A batch leg (`swap:atomic` or `liquidity:add`); give it to the solver for submit_batch. */
  legIntent(p: {
    type?: 'swap:atomic' | 'liquidity:add';
    give: readonly AssetAmount[];
    receive: readonly AssetAmount[];
    counterparty: string;
    fee?: Fee;
    expiresAt?: number;
    actionId?: string;
  }): SignedIntent {
    return this.buildIntent({
      type: p.type ?? 'swap:atomic',
      params: legParams(p),
      ...common(p, intentFee()),
    });
  }

  // --- service requests ---------------------------------------------------------------------

  #serviceDeps() {
    return { key: this.key, pool: this.pool, gateways: () => this.gateways };
  }

  #requestOptions(options: RequestOptions): RequestOptions {
    return { timeoutMs: this.#options.requestTimeoutMs ?? 15_000, ...options };
  }

  /** Any service request; resolves with its `result`, rejects with ServiceError / ServiceTimeoutError. */
  request(
    action: string,
    params: Record<string, unknown> = {},
    options: RequestOptions = {},
  ): Promise<unknown> {
    return request(this.#serviceDeps(), action, params, this.#requestOptions(options));
  }

  /** Like request, but returns the published request event at once (its id, to look at later). */
  sendRequest(
    action: string,
    params: Record<string, unknown> = {},
    options: RequestOptions = {},
  ): Promise<SentRequest> {
    return sendRequest(this.#serviceDeps(), action, params, this.#requestOptions(options));
  }

  async info(): Promise<GatewayInfo> {
    const info = (await this.request('info')) as GatewayInfo;
    this.#previousGateways = (info.previous_pubkeys ?? []).filter((k) => k !== this.gatewayPubkey);
    return info;
  }

  /**
   * The wallet's VTXOs as the gateway sees them — every page of them — and they become the VTXOs
   * the wallet will sign for. `raw` is the first page's answer (balances, sessions) with `vtxos`
   * holding all pages and `assets` merged.
   */
  async syncState(): Promise<SyncState> {
    const raw = await syncAllPages((params) => this.request('sync_state', params));
    return { vtxos: this.vtxos.replaceFromSync(raw), raw };
  }

  cancel(actionId: string): Promise<unknown> {
    return this.request('cancel', { action_id: actionId });
  }

  submitBatch(batchId: string, intents: readonly (SignedIntent | NostrEvent)[]): Promise<unknown> {
    return this.request('submit_batch', {
      batch_id: batchId,
      intents: intents.map((i) => ('event' in i ? i.event : i)),
    });
  }

  liftLightning(assetId: string, amount: AmountLike): Promise<unknown> {
    return this.request('lift_lightning', { asset_id: assetId, amount: jsonAmount(amount) });
  }

  // --- ceremony and results -----------------------------------------------------------------

  get challenges(): readonly IncomingChallenge[] {
    return this.#ceremony.challenges;
  }

  /** Answers a challenge by hand (autoSign off), or answers again with a test decision. `step` is 1. */
  respond(
    sessionId: string,
    step: number,
    decision: ChallengeDecision = {},
  ): Promise<NostrEvent | undefined> {
    return this.#ceremony.respond(sessionId, step, decision);
  }

  /** Settled (a 31340 named it) or failed (a final 31341); rejects with OutcomeTimeoutError. */
  outcome(actionId: string, timeoutMs = 60_000): Promise<Outcome> {
    return this.#outcomes.wait(actionId, timeoutMs);
  }
}

function common(
  p: { fee?: Fee; expiresAt?: number; actionId?: string },
  defaultFee: Fee,
): { fee: Fee; expiresAt?: number; actionId?: string } {
  return {
    fee: p.fee ?? defaultFee,
    ...(p.expiresAt !== undefined ? { expiresAt: p.expiresAt } : {}),
    ...(p.actionId !== undefined ? { actionId: p.actionId } : {}),
  };
}
