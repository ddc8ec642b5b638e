// Intake of one event from a relay, in the API process. In order: shape and kind, id and
// signature (an unverified author gets no answer at all), a local "seen" cache (the same event
// from a second relay costs nothing), the per-author rate limit (1008), then the persisted
// claim in processed_events — whoever inserts it handles the event; a duplicate of an answered
// event gets the stored replies re-sent. Addressing, expiry and size are answered at once with
// their code; everything else goes to a worker through the job queue. An event that cannot be
// claimed (the database is away) or queued (the job queue is away) is held and tried again within
// seconds of the dependency's return (held-events.ts), so an answer a wallet sent during an outage
// is not lost. A rate-limited event is not recorded at all: sent again later, it is handled.
import { ProtocolError } from '../domain/error-codes.ts';
import {
  INTAKE_KINDS,
  KIND,
  expirationOf,
  isEventShape,
  tagValues,
  type NostrEvent,
} from '../domain/nostr-protocol.ts';
import type { Config } from '../config.ts';
import type { JobQueue } from '../jobs/queue.ts';
import type { Logger } from '../logging.ts';
import type { NostrCore } from './core.ts';
import { hasValidId, hasValidSignature, nowSeconds } from './event.ts';
import { HeldEvents } from './held-events.ts';
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

/**
 * The created_at an incoming event may carry (unix s): up to the catch-up window in the future
 * (clock skew), and back as far as an intent may live plus the catch-up window — older, nothing it
 * could ask is still valid. Outside it the author hears 1003 rather than nothing.
 */
export function acceptedWindow(config: Config, now: number): { from: number; to: number } {
  const skew = config.nostr.catchUpWindowS;
  const seconds = nowSeconds(now);
  return { from: seconds - config.intents.maxLifetimeS - skew, to: seconds + skew };
}

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
  readonly #held: HeldEvents;

  constructor(options: IntakeOptions) {
    this.#options = options;
    this.#held = new HeldEvents(options.logger);
  }

  /**
   * Handles one event; resolves with its created_at when the event was dealt with (so the
   * relay cursor may move past it), undefined when it was dropped as invalid, refused for the
   * rate limit, or held for a dependency.
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
    if (!this.#allowed(event.pubkey, now)) {
      this.counters.rate_limited += 1;
      const told = this.#rate.get(event.pubkey)!;
      if (!told.told) {
        told.told = true;
        const reply = core.publisher.rejection(
          event,
          this.#replyKey(event),
          new ProtocolError('RATE_LIMITED'),
        );
        await core.publisher.send([reply]);
      }
      // Not claimed, not "seen", and the cursor stays: the same event is handled when it comes again.
      return undefined;
    }
    this.#markSeen(event.id, now);

    return this.#dispatch(event, now);
  }

  /** The claim and what follows it; what a dependency that is away stops is held and tried again. */
  async #dispatch(event: NostrEvent, now: number): Promise<number | undefined> {
    const { core } = this.#options;
    let claim: Awaited<ReturnType<typeof core.claims.claim>>;
    try {
      claim = await core.claims.claim(event, this.#options.instanceId, now);
    } catch (error) {
      // Not claimed, so nobody handles it: hold it (not "seen": a relay may send it again).
      this.#seen.delete(event.id);
      this.#held.hold(event, () => this.#dispatch(event, Date.now()), error);
      return undefined;
    }
    this.#held.release(event.id);
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
    const next = rejection
      ? () =>
          core.complete(event, claim.attempt, [
            core.publisher.rejection(event, this.#replyKey(event), rejection),
          ])
      : () => this.enqueue(event, claim.attempt);
    if (rejection) this.counters.rejected += 1;
    try {
      await next();
    } catch (error) {
      // Claimed by this process: finish it here as soon as the queue (or database) is back,
      // rather than after the claim lease.
      this.#held.hold(event, next, error);
      return undefined;
    }
    return event.created_at;
  }

  /** How many events wait for a dependency (the database or the job queue). */
  get waiting(): number {
    return this.#held.size;
  }

  /** The created_at of the oldest held event: the relay cursor must not move past it. */
  oldestHeld(): number | undefined {
    return this.#held.oldestCreatedAt();
  }

  /** Stops retrying held events (intake stops; a restart catches up from the relays' cursors). */
  stop(): void {
    this.#held.stop();
  }

  start(): void {
    this.#held.resume();
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
    const window = acceptedWindow(this.#options.core.config, now);
    if (event.created_at < window.from || event.created_at > window.to) {
      return new ProtocolError(
        'EXPIRED',
        `created_at ${event.created_at} is outside the accepted window ${window.from}..${window.to} (is the author's clock right?)`,
      );
    }
    if (event.kind === KIND.SERVICE_REQUEST && !tagValues(event, 'd')[0]) {
      return new ProtocolError('MALFORMED_CONTENT', 'a service request needs a d tag (its request_id)');
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
