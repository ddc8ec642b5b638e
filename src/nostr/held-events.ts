// Events intake could not hand on because a dependency was away: the database (the claim) or the
// job queue (the enqueue after the claim). Each is kept with what is left to do for it and tried
// again with backoff (0.5 s doubling to 15 s), so it is handled within seconds of the
// dependency's return — never left to the claim lease, which is as long as a step deadline. The
// relay cursor is held back to the oldest one (a restart catches them up from the relay). Bounded:
// beyond the limit the oldest are dropped, and said so.
import type { NostrEvent } from '../domain/nostr-protocol.ts';
import type { Logger } from '../logging.ts';

const LIMIT = 10_000;
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 15_000;

interface Held {
  readonly event: NostrEvent;
  /** What is left to do; throws while the dependency is still away. */
  readonly run: () => Promise<unknown>;
}

export class HeldEvents {
  readonly #logger: Logger;
  readonly #held = new Map<string, Held>();
  #timer: NodeJS.Timeout | undefined;
  #delayMs = RETRY_MIN_MS;
  #stopped = false;
  /** While a retry runs, what fails again is held without scheduling: the retry schedules once. */
  #retrying = false;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  get size(): number {
    return this.#held.size;
  }

  /** The created_at of the oldest event held: the relay cursor must not pass it. */
  oldestCreatedAt(): number | undefined {
    let oldest: number | undefined;
    for (const { event } of this.#held.values())
      if (oldest === undefined || event.created_at < oldest) oldest = event.created_at;
    return oldest;
  }

  hold(event: NostrEvent, run: () => Promise<unknown>, error: unknown): void {
    if (this.#held.size === 0 && !this.#retrying) {
      this.#logger.warn({ err: error }, 'a dependency is away; holding incoming events to try again');
    }
    this.#held.delete(event.id);
    this.#held.set(event.id, { event, run });
    if (this.#held.size > LIMIT) {
      const [oldest] = this.#held.keys();
      this.#held.delete(oldest!);
      this.#logger.error({ event: oldest }, 'dropped an incoming event held too long (too many waiting)');
    }
    this.#schedule();
  }

  /** Forgets an event handled meanwhile (the relay sent it again and it went through). */
  release(eventId: string): void {
    this.#held.delete(eventId);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Intake started again: what is still held is tried again. */
  resume(): void {
    this.#stopped = false;
    if (this.#held.size > 0) this.#schedule();
  }

  #schedule(): void {
    if (this.#timer || this.#stopped || this.#retrying) return;
    this.#timer = setTimeout(() => void this.#retry(), this.#delayMs);
    this.#timer.unref?.();
  }

  /** Runs what is held, oldest first; whatever fails again is held again, with a longer delay. */
  async #retry(): Promise<void> {
    this.#timer = undefined;
    const batch = [...this.#held.values()];
    this.#held.clear();
    this.#retrying = true;
    try {
      for (const held of batch) {
        try {
          await held.run();
        } catch (error) {
          this.hold(held.event, held.run, error);
        }
      }
    } finally {
      this.#retrying = false;
    }
    if (this.#held.size === 0) {
      this.#delayMs = RETRY_MIN_MS;
      this.#logger.info({ events: batch.length }, 'incoming events held for a dependency are handled');
      return;
    }
    this.#delayMs = Math.min(this.#delayMs * 2, RETRY_MAX_MS);
    this.#schedule();
  }
}
