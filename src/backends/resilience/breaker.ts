// A circuit breaker per daemon. Closed: calls pass and consecutive health failures are
// counted. After `failureThreshold` of them it opens: calls are refused without reaching the
// daemon. After `resetTimeoutMs` it is half-open: one trial call passes (others are still
// refused); its success closes the breaker, its failure opens it again for another interval.
import type { BreakerSnapshot, BreakerState } from '../types.ts';
import { systemClock, type Clock } from './clock.ts';

export type { BreakerSnapshot, BreakerState };

export interface BreakerOptions {
  readonly failureThreshold?: number;
  readonly resetTimeoutMs?: number;
  readonly clock?: Clock;
  readonly onStateChange?: (from: BreakerState, to: BreakerState) => void;
}

export const DEFAULT_FAILURE_THRESHOLD = 5;
export const DEFAULT_RESET_TIMEOUT_MS = 60_000;

export class CircuitBreaker {
  readonly failureThreshold: number;
  readonly resetTimeoutMs: number;
  readonly #clock: Clock;
  readonly #onStateChange: BreakerOptions['onStateChange'];
  #failures = 0;
  #openedAt: number | undefined;
  #lastOpenedAt: number | undefined;
  #trialInFlight = false;
  #reported: BreakerState = 'closed';

  constructor(options: BreakerOptions = {}) {
    this.failureThreshold = options.failureThreshold ?? DEFAULT_FAILURE_THRESHOLD;
    this.resetTimeoutMs = options.resetTimeoutMs ?? DEFAULT_RESET_TIMEOUT_MS;
    this.#clock = options.clock ?? systemClock;
    this.#onStateChange = options.onStateChange;
  }

  get state(): BreakerState {
    if (this.#openedAt === undefined) return 'closed';
    return this.#clock.now() >= this.#openedAt + this.resetTimeoutMs ? 'half_open' : 'open';
  }

  snapshot(): BreakerSnapshot {
    return {
      state: this.state,
      consecutiveFailures: this.#failures,
      ...(this.#lastOpenedAt === undefined ? {} : { openedAtMs: this.#lastOpenedAt }),
      ...(this.#openedAt === undefined ? {} : { halfOpenAtMs: this.#openedAt + this.resetTimeoutMs }),
    };
  }

  /**
   * Asks to make one call. True: go ahead, and report the outcome with `success()` or
   * `failure()` (or `release()` when the outcome says nothing about the daemon's health).
   * False: refused, the breaker is open or a half-open trial is already running.
   */
  tryAcquire(): boolean {
    const state = this.state;
    this.#report(state);
    if (state === 'closed') return true;
    if (state === 'open' || this.#trialInFlight) return false;
    this.#trialInFlight = true;
    return true;
  }

  success(): void {
    this.#failures = 0;
    this.#openedAt = undefined;
    this.#trialInFlight = false;
    this.#report('closed');
  }

  failure(): void {
    this.#failures += 1;
    const wasTrial = this.#trialInFlight;
    this.#trialInFlight = false;
    // A failed trial reopens at once; a late failure from a call that started before the
    // breaker opened does not push the reopening further out.
    if (wasTrial || (this.#openedAt === undefined && this.#failures >= this.failureThreshold)) {
      this.#openedAt = this.#clock.now();
      this.#lastOpenedAt = this.#openedAt;
    }
    this.#report(this.state);
  }

  /** The call ended without telling anything about health (e.g. the caller aborted it). */
  release(): void {
    this.#trialInFlight = false;
  }

  /** Back to closed with no failures counted (used by `reconnect()`). */
  reset(): void {
    this.success();
  }

  #report(state: BreakerState): void {
    if (state === this.#reported) return;
    const from = this.#reported;
    this.#reported = state;
    this.#onStateChange?.(from, state);
  }
}
