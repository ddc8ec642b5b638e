// One supervised connection to one relay: connects, and reconnects with backoff (1 s doubling
// to 60 s, with jitter) whenever the socket closes or stops answering pings. After every
// (re)connect it subscribes again from the filter the supervisor computes (the relay's cursor
// minus the catch-up window), answers NIP-42 AUTH, and handles OK, NOTICE, CLOSED and EOSE.
import WebSocket from 'ws';
import type { NostrEvent } from '../domain/nostr-protocol.ts';
import type { Logger } from '../logging.ts';
import { isoTimeOrNull } from '../domain/iso-time.ts';

export type RelayState = 'connecting' | 'connected' | 'disconnected' | 'stopped';

export type RelayCounters = Record<string, number> & {
  connects: number;
  disconnects: number;
  eventsReceived: number;
  eventsPublished: number;
  publishFailures: number;
  notices: number;
  closed: number;
  auths: number;
};

export interface RelaySnapshot {
  readonly url: string;
  readonly state: RelayState;
  readonly subscribed: boolean;
  readonly authenticated: boolean;
  readonly connected_since: string | null;
  readonly next_retry_at: string | null;
  readonly last_error: string | null;
  readonly counters: RelayCounters;
}

export interface PublishResult {
  readonly accepted: boolean;
  readonly message: string;
}

export interface RelayConnectionOptions {
  readonly url: string;
  readonly logger: Logger;
  /** The subscription's filters at (re)subscribe time (an event matching any one is sent). */
  readonly filters: () => readonly Record<string, unknown>[];
  /** Called for each event of the subscription, one at a time, in arrival order. */
  readonly onEvent: (event: unknown, relay: RelayConnection) => Promise<void>;
  readonly onConnected?: (relay: RelayConnection) => void;
  readonly onSubscribed?: (relay: RelayConnection) => void;
  /** Signs a NIP-42 kind 22242 event for a challenge. */
  readonly signAuth: (challenge: string, relayUrl: string) => NostrEvent;
  readonly publishTimeoutMs: number;
  readonly pingIntervalMs?: number;
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly maxPayload?: number;
}

const short = (text: unknown) => String(text).slice(0, 300);

export function emptyRelayCounters(): RelayCounters {
  return {
    connects: 0,
    disconnects: 0,
    eventsReceived: 0,
    eventsPublished: 0,
    publishFailures: 0,
    notices: 0,
    closed: 0,
    auths: 0,
  };
}

export class RelayConnection {
  readonly url: string;
  readonly counters: RelayCounters = emptyRelayCounters();
  readonly #options: RelayConnectionOptions;
  readonly #logger: Logger;
  #socket: WebSocket | undefined;
  #state: RelayState = 'disconnected';
  #stopped = true;
  #failures = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #pingTimer: NodeJS.Timeout | undefined;
  #resubscribeTimer: NodeJS.Timeout | undefined;
  #alive = true;
  #subscriptionId: string | undefined;
  #subscriptionSeq = 0;
  #subscribed = false;
  #authenticated = false;
  #authEventId: string | undefined;
  #connectedSince: number | undefined;
  #nextRetryAt: number | undefined;
  #lastError: string | undefined;
  #queue: Promise<void> = Promise.resolve();
  readonly #pending = new Map<string, { resolve: (r: PublishResult) => void; timer: NodeJS.Timeout }>();

  constructor(options: RelayConnectionOptions) {
    this.url = options.url;
    this.#options = options;
    this.#logger = options.logger.child({ relay: options.url });
  }

  get state(): RelayState {
    return this.#state;
  }

  get connected(): boolean {
    return this.#state === 'connected';
  }

  get subscribed(): boolean {
    return this.#subscribed;
  }

  snapshot(): RelaySnapshot {
    return {
      url: this.url,
      state: this.#state,
      subscribed: this.#subscribed,
      authenticated: this.#authenticated,
      connected_since: isoTimeOrNull(this.#connectedSince),
      next_retry_at: this.#state === 'disconnected' ? isoTimeOrNull(this.#nextRetryAt) : null,
      last_error: this.#lastError ?? null,
      counters: { ...this.counters },
    };
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#connect();
  }

  /** Closes the socket; resolves once events already received have been handled. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#state = 'stopped';
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#resubscribeTimer);
    clearInterval(this.#pingTimer);
    this.#socket?.terminate();
    this.#socket = undefined;
    this.#failPending('stopped');
    await this.#queue;
  }

  /** Re-sends the subscription (new keys, or after CLOSED). */
  resubscribe(): void {
    if (this.connected) this.#subscribe();
  }

  /** Sends the event and waits for the relay's OK (or the timeout). Never throws. */
  publish(event: NostrEvent): Promise<PublishResult> {
    const socket = this.#socket;
    if (!socket || !this.connected) return Promise.resolve({ accepted: false, message: 'not connected' });
    const previous = this.#pending.get(event.id);
    if (previous) {
      clearTimeout(previous.timer);
      previous.resolve({ accepted: false, message: 'superseded' });
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(event.id);
        this.counters.publishFailures += 1;
        resolve({ accepted: false, message: `no OK within ${this.#options.publishTimeoutMs} ms` });
      }, this.#options.publishTimeoutMs);
      this.#pending.set(event.id, { resolve, timer });
      socket.send(JSON.stringify(['EVENT', event]), (error) => {
        if (error) this.#settle(event.id, false, `send failed: ${error.message}`);
      });
    });
  }

  #connect(): void {
    if (this.#stopped) return;
    this.#state = 'connecting';
    this.#subscribed = false;
    this.#authenticated = false;
    const socket = new WebSocket(this.url, {
      handshakeTimeout: 10_000,
      maxPayload: this.#options.maxPayload ?? 4 * 1024 * 1024,
    });
    this.#socket = socket;
    socket.on('open', () => {
      if (socket !== this.#socket) return;
      this.#state = 'connected';
      this.#connectedSince = Date.now();
      this.counters.connects += 1;
      this.#alive = true;
      this.#logger.info('relay connected');
      clearInterval(this.#pingTimer);
      this.#pingTimer = setInterval(() => this.#ping(socket), this.#options.pingIntervalMs ?? 20_000);
      this.#subscribe();
      this.#options.onConnected?.(this);
    });
    socket.on('pong', () => {
      this.#alive = true;
    });
    socket.on('message', (data) => {
      if (socket === this.#socket) this.#onMessage(data.toString());
    });
    socket.on('error', (error) => {
      this.#lastError = short(error.message);
    });
    socket.on('close', () => {
      if (socket !== this.#socket) return;
      this.#onClose();
    });
  }

  #ping(socket: WebSocket): void {
    if (!this.#alive) {
      this.#lastError = 'no pong: connection is stale';
      this.#logger.warn('relay did not answer a ping; reconnecting');
      socket.terminate();
      return;
    }
    this.#alive = false;
    socket.ping();
  }

  #onClose(): void {
    clearInterval(this.#pingTimer);
    clearTimeout(this.#resubscribeTimer);
    const wasConnected = this.#state === 'connected';
    this.#socket = undefined;
    this.#subscribed = false;
    this.#failPending('connection closed');
    if (this.#stopped) {
      this.#state = 'stopped';
      return;
    }
    this.#state = 'disconnected';
    if (wasConnected) {
      this.counters.disconnects += 1;
      this.#logger.warn({ error: this.#lastError }, 'relay disconnected');
    }
    // A connection that stayed up a while starts the backoff over.
    if (this.#connectedSince !== undefined && Date.now() - this.#connectedSince > 10_000) this.#failures = 0;
    this.#connectedSince = undefined;
    const min = this.#options.minBackoffMs ?? 1000;
    const max = this.#options.maxBackoffMs ?? 60_000;
    const ceiling = Math.min(max, min * 2 ** this.#failures);
    const delay = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
    this.#failures += 1;
    this.#nextRetryAt = Date.now() + delay;
    this.#retryTimer = setTimeout(() => this.#connect(), delay);
  }

  #subscribe(): void {
    const socket = this.#socket;
    if (!socket) return;
    if (this.#subscriptionId) socket.send(JSON.stringify(['CLOSE', this.#subscriptionId]));
    this.#subscriptionSeq += 1;
    this.#subscriptionId = `arkrelay-intake-${this.#subscriptionSeq}`;
    this.#subscribed = false;
    socket.send(JSON.stringify(['REQ', this.#subscriptionId, ...this.#options.filters()]));
  }

  #onMessage(raw: string): void {
    let message: unknown;
    try {
      message = JSON.parse(raw);
    } catch {
      this.#logger.debug('relay sent a message that is not JSON');
      return;
    }
    if (!Array.isArray(message)) return;
    const [type, a, b, c] = message as unknown[];
    switch (type) {
      case 'EVENT':
        if (a !== this.#subscriptionId) return;
        this.counters.eventsReceived += 1;
        this.#queue = this.#queue
          .then(() => this.#options.onEvent(b, this))
          .catch((error: unknown) => this.#logger.error({ err: error }, 'handling a relay event failed'));
        return;
      case 'EOSE':
        if (a === this.#subscriptionId && !this.#subscribed) {
          this.#subscribed = true;
          this.#failures = 0;
          this.#options.onSubscribed?.(this);
        }
        return;
      case 'OK':
        if (typeof a !== 'string') return;
        if (a === this.#authEventId) {
          this.#authenticated = b === true;
          if (!this.#authenticated) this.#lastError = `auth refused: ${short(c)}`;
          return;
        }
        this.#settle(a, b === true, typeof c === 'string' ? c : '');
        return;
      case 'NOTICE':
        this.counters.notices += 1;
        this.#lastError = `notice: ${short(a)}`;
        this.#logger.warn({ notice: short(a) }, 'relay notice');
        return;
      case 'CLOSED':
        if (a !== this.#subscriptionId) return;
        this.counters.closed += 1;
        this.#subscribed = false;
        this.#lastError = `subscription closed: ${short(b)}`;
        this.#logger.warn({ reason: short(b) }, 'relay closed the subscription; subscribing again');
        clearTimeout(this.#resubscribeTimer);
        // auth-required: the AUTH answer is on its way; otherwise give the relay a moment.
        this.#resubscribeTimer = setTimeout(
          () => this.resubscribe(),
          String(b).startsWith('auth-required') ? 500 : 5_000,
        );
        return;
      case 'AUTH':
        if (typeof a === 'string') this.#authenticate(a);
        return;
      default:
        return;
    }
  }

  #authenticate(challenge: string): void {
    const socket = this.#socket;
    if (!socket) return;
    const event = this.#options.signAuth(challenge.slice(0, 256), this.url);
    this.#authEventId = event.id;
    this.counters.auths += 1;
    socket.send(JSON.stringify(['AUTH', event]));
  }

  #settle(eventId: string, accepted: boolean, message: string): void {
    const pending = this.#pending.get(eventId);
    if (!pending) return;
    this.#pending.delete(eventId);
    clearTimeout(pending.timer);
    // A relay that already has the event says so with OK true ("duplicate:"): that is success.
    if (accepted) this.counters.eventsPublished += 1;
    else {
      this.counters.publishFailures += 1;
      this.#lastError = `publish refused: ${short(message)}`;
    }
    pending.resolve({ accepted, message });
  }

  #failPending(reason: string): void {
    for (const [id, pending] of this.#pending) {
      clearTimeout(pending.timer);
      pending.resolve({ accepted: false, message: reason });
      this.#pending.delete(id);
    }
  }
}
