// A minimal multi-relay client for the wallet: nostr-tools' Relay per URL (it verifies every
// event's id and signature, reconnects and resubscribes), publish to all and succeed on the first
// OK, subscribe on all and see each event once. Uses the global WebSocket (Node 24, browsers).
import type { Event, Filter } from 'nostr-tools';
import { AbstractRelay as Relay } from 'nostr-tools/abstract-relay';
import { getEventHash } from 'nostr-tools/pure';
import * as ecc from 'tiny-secp256k1';
import type { NostrEvent } from '../domain/nostr-protocol.ts';

export type { Filter };

export interface RelayPoolOptions {
  /** Per relay, milliseconds. */
  readonly connectTimeoutMs?: number;
}

const SEEN_LIMIT = 20_000;

export class RelayPool {
  readonly urls: readonly string[];
  readonly #options: RelayPoolOptions;
  readonly #relays = new Map<string, Relay>();

  constructor(urls: readonly string[], options: RelayPoolOptions = {}) {
    if (urls.length === 0) throw new Error('give at least one relay URL');
    this.urls = [...new Set(urls)];
    this.#options = options;
  }

  /** Connects to every relay; fails only when none can be reached. */
  async connect(): Promise<void> {
    const timeout = this.#options.connectTimeoutMs ?? 10_000;
    const results = await Promise.allSettled(
      this.urls.map(async (url) => {
        if (this.#relays.get(url)?.connected) return;
        const relay = new Relay(url, { verifyEvent, enableReconnect: true, enablePing: true });
        await relay.connect({ timeout });
        this.#relays.set(url, relay);
      }),
    );
    if (this.#relays.size === 0) {
      const reasons = results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok'));
      throw new Error(`no relay reachable: ${reasons.join('; ')}`);
    }
  }

  get connectedCount(): number {
    return [...this.#relays.values()].filter((r) => r.connected).length;
  }

  /** Sends to every relay; resolves with the URLs that answered OK, rejects when none did. */
  async publish(event: NostrEvent): Promise<string[]> {
    const relays = [...this.#relays.entries()];
    const results = await Promise.allSettled(relays.map(([, relay]) => relay.publish(event)));
    const accepted = relays.filter((_, i) => results[i]!.status === 'fulfilled').map(([url]) => url);
    if (accepted.length === 0) {
      const reasons = results.map((r) => (r.status === 'rejected' ? String(r.reason) : '')).join('; ');
      throw new Error(`no relay accepted event ${event.id.slice(0, 8)}: ${reasons}`);
    }
    return accepted;
  }

  /** Subscribes on every relay; `onEvent` sees each event once. Returns the unsubscribe. */
  subscribe(filters: Filter[], onEvent: (event: NostrEvent) => void, onEose?: () => void): () => void {
    const seen = new Set<string>();
    let eoses = 0;
    const subs = [...this.#relays.values()].map((relay) =>
      relay.subscribe(filters, {
        onevent: (event) => {
          if (seen.has(event.id)) return;
          if (seen.size >= SEEN_LIMIT) seen.clear();
          seen.add(event.id);
          onEvent(event);
        },
        oneose: () => {
          eoses++;
          if (eoses === subs.length) onEose?.();
        },
      }),
    );
    return () => {
      for (const sub of subs) sub.close();
    };
  }

  /** The events stored for `filters` on every relay (until each sent EOSE), deduplicated. */
  query(filters: Filter[], timeoutMs = 5_000): Promise<NostrEvent[]> {
    return new Promise((resolve) => {
      const found: NostrEvent[] = [];
      let finished = false;
      const done = () => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        stop();
        resolve(found);
      };
      const timer = setTimeout(done, timeoutMs);
      const stop = this.subscribe(filters, (event) => found.push(event), done);
    });
  }

  close(): void {
    for (const relay of this.#relays.values()) relay.close();
    this.#relays.clear();
  }
}

const bytes = (text: string) => Uint8Array.from(text.match(/../g) ?? [], (b) => parseInt(b, 16));

/** Every incoming event's id and signature, checked with libsecp256k1 (WASM) rather than pure JS. */
function verifyEvent(event: Event): boolean {
  try {
    return (
      getEventHash(event) === event.id &&
      ecc.verifySchnorr(bytes(event.id), bytes(event.pubkey), bytes(event.sig))
    );
  } catch {
    return false;
  }
}
