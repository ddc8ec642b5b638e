// Intake of one event from a relay, in the API process. In order: shape and kind, id and
// signature (an unverified author gets no answer at all), a local "seen" cache (the same event
// from a second relay costs nothing), the per-author rate limit (1008), then the persisted
// claim in processed_events — whoever inserts it handles the event; a duplicate of an answered
// event gets the stored replies re-sent. Addressing, expiry and size are answered at once with
// their code; everything else goes to a worker through the job queue. An event that cannot be
// claimed because the database is away is kept and tried again until it answers (bounded), so an
// answer a wallet sent during an outage is not lost.
import { ProtocolError } from '../domain/error-codes.ts';
import {
  INTAKE_KINDS,
  expirationOf,
  isEventShape,
  tagValues,
  type NostrEvent,
} from '../domain/nostr-protocol.ts';
import type { JobQueue } from '../jobs/queue.ts';
import type { Logger } from '../logging.ts';
import type { NostrCore } from './core.ts';
import { hasValidId, hasValidSignature, nowSeconds } from './event.ts';
import { NOSTR_INTAKE_TASK, intakeJobId, type NostrIntakeJob } from './tasks.ts';

export interface IntakeCounters {
  received: number;
  malformed: number;
  invalid_signature: number;
  duplicates: number;
  claimed: number;
  replies_resent: number;
  rejected: number;
  rate_limited: number;
  enqueued: number;
}

export interface IntakeOptions {
  readonly core: NostrCore;
  readonly queue: JobQueue;
  readonly instanceId: string;
  readonly logger: Logger;
  /** Publishes events right away to the connected relays (stored replies, re-sent). */
  readonly resend: (events: readonly NostrEvent[]) => void;
}

const SEEN_LIMIT = 50_000;
const SEEN_TTL_MS = 15 * 60_000;
/** Events kept while the database is away; beyond it the oldest are dropped (and said so). */
const WAITING_LIMIT = 10_000;
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 15_000;

export class Intake {
  readonly counters: IntakeCounters = {
    received: 0,
    malformed: 0,
    invalid_signature: 0,
    duplicates: 0,
    claimed: 0,
    replies_resent: 0,
    rejected: 0,
    rate_limited: 0,
    enqueued: 0,
  };
  readonly #options: IntakeOptions;
  readonly #seen = new Map<string, number>();
  readonly #rate = new Map<string, { since: number; count: number; told: boolean }>();
  /** Events whose claim failed (the database was away), by id, oldest first. */
  readonly #waiting = new Map<string, NostrEvent>();
  #retryTimer: NodeJS.Timeout | undefined;
  #retryMs = RETRY_MIN_MS;

  constructor(options: IntakeOptions) {
    this.#options = options;
  }

  /**
   * Handles one event; resolves with its created_at when the event was dealt with (so the
   * relay cursor may move past it), undefined when it was dropped as invalid.
   */
  async receive(raw: unknown): Promise<number | undefined> {
    const { core, logger } = this.#options;
    this.counters.received += 1;
    if (!isEventShape(raw) || !INTAKE_KINDS.includes(raw.kind as (typeof INTAKE_KINDS)[number])) {
      this.counters.malformed += 1;
      return undefined;
    }
    const event: NostrEvent = raw;
    const now = Date.now();
    if (this.#isSeen(event.id, now)) {
      this.counters.duplicates += 1;
      return event.created_at;
    }
    if (!hasValidId(event) || !hasValidSignature(event)) {
      this.counters.invalid_signature += 1;
      logger.debug({ event: event.id }, 'dropped an event with a wrong id or signature');
      return undefined;
    }
    this.#markSeen(event.id, now);

    if (!this.#allowed(event.pubkey, now)) {
      this.counters.rate_limited += 1;
      const told = this.#rate.get(event.pubkey)!;
      if (!told.told) {
        told.told = true;
        // Not claimed: the same event may be sent again once the window has passed.
        const reply = core.responder.rejection(
          event,
          this.#replyKey(event),
          new ProtocolError('RATE_LIMITED'),
        );
        await core.publisher.send([reply]);
      }
      return event.created_at;
    }

    return this.#dispatch(event, now);
  }

  /** The claim and what follows it; an event the database could not claim waits to be tried again. */
  async #dispatch(event: NostrEvent, now: number): Promise<number | undefined> {
    const { core } = this.#options;
    let claim: Awaited<ReturnType<typeof core.claims.claim>>;
    try {
      claim = await core.claims.claim(event, this.#options.instanceId, now);
    } catch (error) {
      // Not claimed, so nobody handles it: keep it and try again (not "seen": a relay may resend it).
      this.#seen.delete(event.id);
      this.#wait(event, error);
      return undefined;
    }
    this.#waiting.delete(event.id);
    if (claim.outcome === 'done') {
      this.counters.replies_resent += 1;
      if (claim.replies.length > 0) this.#options.resend(claim.replies);
      return event.created_at;
    }
    if (claim.outcome === 'processing') {
      this.counters.duplicates += 1;
      return event.created_at;
    }
    this.counters.claimed += 1;

    const rejection = this.#rejection(event, now);
    if (rejection) {
      this.counters.rejected += 1;
      const reply = core.responder.rejection(event, this.#replyKey(event), rejection);
      await core.complete(event, claim.attempt, [reply]);
      return event.created_at;
    }
    await this.enqueue(event, claim.attempt);
    return event.created_at;
  }

  /** How many events wait for the database to claim them. */
  get waiting(): number {
    return this.#waiting.size;
  }

  /** Stops retrying (the process stops; a restart catches up from the relays' cursors). */
  stop(): void {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
  }

  #wait(event: NostrEvent, error: unknown): void {
    if (this.#waiting.size === 0) {
      this.#options.logger.warn(
        { err: error },
        'cannot claim events (database unavailable?); holding them to retry',
      );
    }
    this.#waiting.delete(event.id);
    this.#waiting.set(event.id, event);
    if (this.#waiting.size > WAITING_LIMIT) {
      const [oldest] = this.#waiting.keys();
      this.#waiting.delete(oldest!);
      this.#options.logger.error(
        { event: oldest },
        'dropped an event held for the database (too many waiting)',
      );
    }
    this.#retryTimer ??= setTimeout(() => void this.#retry(), this.#retryMs);
    this.#retryTimer.unref?.();
  }

  /** Tries the waiting events again, oldest first; backs off while the database stays away. */
  async #retry(): Promise<void> {
    this.#retryTimer = undefined;
    const batch = [...this.#waiting.values()];
    this.#waiting.clear();
    for (const event of batch) await this.#dispatch(event, Date.now()).catch(() => undefined);
    if (this.#waiting.size === 0) {
      this.#retryMs = RETRY_MIN_MS;
      this.#options.logger.info({ events: batch.length }, 'events held for the database are claimed');
      return;
    }
    this.#retryMs = Math.min(this.#retryMs * 2, RETRY_MAX_MS);
    this.#retryTimer ??= setTimeout(() => void this.#retry(), this.#retryMs);
    this.#retryTimer.unref?.();
  }

  async enqueue(event: NostrEvent, attempt: number): Promise<void> {
    await this.#options.queue.enqueue<NostrIntakeJob>(
      NOSTR_INTAKE_TASK,
      { event, attempt },
      { jobId: intakeJobId(event.id, attempt) },
    );
    this.counters.enqueued += 1;
  }

  #rejection(event: NostrEvent, now: number): ProtocolError | undefined {
    const settings = this.#options.core.config.nostr;
    const size = Buffer.byteLength(JSON.stringify(event));
    if (size > settings.maxEventBytes) {
      return new ProtocolError(
        'MALFORMED_CONTENT',
        `event is ${size} bytes; the limit is ${settings.maxEventBytes}`,
      );
    }
    const addressed = tagValues(event, 'p');
    if (!this.#options.core.keys.pubkeys.some((k) => addressed.includes(k))) {
      return new ProtocolError('NOT_ADDRESSED', 'the event does not p-tag this gateway');
    }
    const expiration = expirationOf(event);
    if (expiration !== undefined && expiration < nowSeconds(now)) {
      return new ProtocolError('EXPIRED', `expired at ${expiration}`);
    }
    return undefined;
  }

  /** The key a reply comes from: the one the event addressed, else the active key. */
  #replyKey(event: NostrEvent) {
    const keys = this.#options.core.keys;
    const addressed = tagValues(event, 'p');
    return keys.keys.find((k) => addressed.includes(k.pubkey)) ?? keys.active;
  }

  #allowed(pubkey: string, now: number): boolean {
    const limit = this.#options.core.config.nostr.rateLimitPerMinute;
    let entry = this.#rate.get(pubkey);
    if (!entry || now - entry.since >= 60_000) {
      entry = { since: now, count: 0, told: false };
      this.#rate.delete(pubkey);
      this.#rate.set(pubkey, entry);
      if (this.#rate.size > SEEN_LIMIT) this.#rate.delete(this.#rate.keys().next().value as string);
    }
    entry.count += 1;
    return entry.count <= limit;
  }

  #isSeen(id: string, now: number): boolean {
    const at = this.#seen.get(id);
    return at !== undefined && now - at < SEEN_TTL_MS;
  }

  #markSeen(id: string, now: number): void {
    this.#seen.set(id, now);
    if (this.#seen.size > SEEN_LIMIT) this.#seen.delete(this.#seen.keys().next().value as string);
  }
}
