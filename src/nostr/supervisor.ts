// The relay supervisor: one RelayConnection per relay, the per-relay cursor (persisted in
// relay_cursors, so a reconnect or a restart resubscribes from `last seen - catch-up window`
// and misses nothing), and the outbox drain: every queued event goes to every connected relay
// and counts as published once a relay answers OK; while no relay is connected it waits, and a
// relay that comes back is sent what was published while it was away.
import { INTAKE_KINDS, type NostrEvent } from '../domain/nostr-protocol.ts';
import { FailureLog } from '../failure-log.ts';
import type { Logger } from '../logging.ts';
import type { Database } from '../store/database.ts';
import { nowSeconds, signEvent } from './event.ts';
import type { KeyRing } from './keys.ts';
import type { Outbox } from './outbox.ts';
import { RelayConnection, type RelaySnapshot } from './relay-connection.ts';

export interface SupervisorOptions {
  readonly relays: readonly string[];
  readonly database: Database;
  readonly keys: KeyRing;
  readonly outbox: Outbox;
  readonly logger: Logger;
  readonly catchUpWindowS: number;
  readonly publishTimeoutMs: number;
  /** Handles one event; resolves with the created_at the cursor may advance to. */
  readonly onEvent: (event: unknown, relayUrl: string) => Promise<number | undefined>;
  /** The created_at of the oldest event still held for a dependency: the cursor stops before it. */
  readonly holdCursorAt?: () => number | undefined;
  readonly onSubscribed?: (relayUrl: string) => void;
  readonly drainIntervalMs?: number;
  readonly minBackoffMs?: number;
}

const CURSOR_FLUSH_MS = 2_000;

export class RelaySupervisor {
  readonly #options: SupervisorOptions;
  readonly #connections: RelayConnection[];
  readonly #cursors = new Map<string, number>();
  readonly #dirty = new Set<string>();
  #drainTimer: NodeJS.Timeout | undefined;
  #flushTimer: NodeJS.Timeout | undefined;
  #draining: Promise<void> | undefined;
  #again = false;
  #running = false;
  readonly #drainFailure: FailureLog;
  readonly #cursorFailures: FailureLog;

  constructor(options: SupervisorOptions) {
    this.#options = options;
    this.#drainFailure = new FailureLog({ logger: options.logger, what: 'publishing the outbox' });
    this.#cursorFailures = new FailureLog({ logger: options.logger, what: 'saving the relay cursor' });
    this.#connections = options.relays.map(
      (url) =>
        new RelayConnection({
          url,
          logger: options.logger,
          publishTimeoutMs: options.publishTimeoutMs,
          ...(options.minBackoffMs ? { minBackoffMs: options.minBackoffMs } : {}),
          filters: () => this.#filters(url),
          onEvent: (event) => this.#onEvent(url, event),
          onConnected: (relay) => void this.#catchUpPublishing(relay),
          onSubscribed: () => options.onSubscribed?.(url),
          signAuth: (challenge, relayUrl) => {
            const key = options.keys.active;
            return signEvent(
              {
                kind: 22242,
                created_at: nowSeconds(),
                tags: [
                  ['relay', relayUrl],
                  ['challenge', challenge],
                ],
                content: '',
              },
              key.secret,
              key.pubkey,
            );
          },
        }),
    );
  }

  get running(): boolean {
    return this.#running;
  }

  get connections(): readonly RelayConnection[] {
    return this.#connections;
  }

  snapshot(): (RelaySnapshot & { readonly cursor: number | null })[] {
    return this.#connections.map((c) => ({ ...c.snapshot(), cursor: this.#cursors.get(c.url) ?? null }));
  }

  async start(): Promise<void> {
    if (this.#running) return;
    const rows = await this.#options.database.db
      .selectFrom('relay_cursors')
      .select(['relay_url', 'last_event_created_s'])
      .where('relay_url', 'in', this.#options.relays.length > 0 ? [...this.#options.relays] : [''])
      .execute();
    for (const row of rows) this.#cursors.set(row.relay_url, Number(row.last_event_created_s));
    this.#running = true;
    for (const connection of this.#connections) connection.start();
    this.#drainTimer = setInterval(() => this.notify(), this.#options.drainIntervalMs ?? 500);
    this.#flushTimer = setInterval(() => void this.#flushCursors(), CURSOR_FLUSH_MS);
  }

  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    clearInterval(this.#drainTimer);
    clearInterval(this.#flushTimer);
    await Promise.all(this.#connections.map((c) => c.stop()));
    await this.#draining;
    await this.#flushCursors();
  }

  /** New keys: subscribe again with the new `#p` list. */
  resubscribe(): void {
    for (const connection of this.#connections) connection.resubscribe();
  }

  /** The outbox has work: drain it now (coalesced). */
  notify(): void {
    if (!this.#running) return;
    if (this.#draining) {
      this.#again = true;
      return;
    }
    this.#draining = this.#drain()
      .then(() => this.#drainFailure.succeeded())
      .catch((error: unknown) => this.#drainFailure.failed(error))
      .finally(() => {
        this.#draining = undefined;
        if (this.#again) {
          this.#again = false;
          this.notify();
        }
      });
  }

  /** Best effort, no outbox: for stored replies sent again (they are in the outbox already). */
  broadcast(events: readonly NostrEvent[]): void {
    for (const connection of this.#connections) {
      if (!connection.connected) continue;
      for (const event of events) void connection.publish(event);
    }
  }

  /**
   * What the relay keeps since the cursor (minus the catch-up window), and everything new whatever
   * its created_at (`limit: 0`: no stored events) — `since` applies to live events too, so a
   * wallet whose clock lags would otherwise never be heard (intake answers it 1003 instead).
   */
  #filters(url: string): Record<string, unknown>[] {
    const cursor = this.#cursors.get(url) ?? nowSeconds();
    const addressed = { kinds: [...INTAKE_KINDS], '#p': this.#options.keys.pubkeys };
    return [
      { ...addressed, since: Math.max(0, cursor - this.#options.catchUpWindowS) },
      { ...addressed, limit: 0 },
    ];
  }

  async #onEvent(url: string, event: unknown): Promise<void> {
    const createdAt = await this.#options.onEvent(event, url);
    if (createdAt === undefined) return;
    // A created_at in the future must not push the cursor past events still to come, nor may it
    // pass an event held for a dependency (a restart then fetches it again).
    const held = this.#options.holdCursorAt?.();
    const seen = Math.min(createdAt, nowSeconds() + 60, held === undefined ? Infinity : held - 1);
    if (seen > (this.#cursors.get(url) ?? 0)) {
      this.#cursors.set(url, seen);
      this.#dirty.add(url);
    }
  }

  async #flushCursors(): Promise<void> {
    const db = this.#options.database;
    for (const url of [...this.#dirty]) {
      this.#dirty.delete(url);
      const row = { relay_url: url, last_event_created_s: this.#cursors.get(url)!, updated_at: Date.now() };
      try {
        const insert = db.db.insertInto('relay_cursors').values(row);
        const update = { last_event_created_s: row.last_event_created_s, updated_at: row.updated_at };
        if (db.kind === 'mariadb') await insert.onDuplicateKeyUpdate(update).execute();
        else await insert.onConflict((c) => c.column('relay_url').doUpdateSet(update)).execute();
        this.#cursorFailures.succeeded();
      } catch (error) {
        this.#dirty.add(url);
        this.#cursorFailures.failed(error, { relay: url });
      }
    }
  }

  async #drain(): Promise<void> {
    const { outbox } = this.#options;
    for (;;) {
      const connected = this.#connections.filter((c) => c.connected);
      if (connected.length === 0 || !this.#running) return;
      const rows = await outbox.lease(50);
      if (rows.length === 0) return;
      const accepted: string[] = [];
      await Promise.all(
        rows.map(async (row) => {
          const results = await Promise.all(connected.map((c) => c.publish(row.event)));
          if (results.some((r) => r.accepted)) accepted.push(row.eventId);
          else {
            const anyConnected = this.#connections.some((c) => c.connected);
            await outbox.retry(row, results.map((r) => r.message).join('; '), anyConnected);
          }
        }),
      );
      // One commit for the whole drain; a crash before it only publishes those events again,
      // which relays ignore (same id).
      await outbox.published(accepted);
    }
  }

  /** A relay that was away gets what was published meanwhile (relays ignore what they have). */
  async #catchUpPublishing(relay: RelayConnection): Promise<void> {
    try {
      const since = Date.now() - this.#options.catchUpWindowS * 1000;
      const events = await this.#options.outbox.recentlyPublished(since);
      await Promise.all(events.map((event) => relay.publish(event)));
      this.notify();
    } catch (error) {
      this.#options.logger.warn({ err: error, relay: relay.url }, 'could not re-send recent events');
    }
  }
}
