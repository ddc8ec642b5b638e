// Every call a real client makes to its daemon goes through one DaemonGuard: the breaker
// decides whether it may go, a timeout bounds each attempt, failures are classified by the
// client's classifier, and retryable ones are retried with exponential backoff.
import type { Logger } from '../../logging.ts';
import {
  BackendError,
  type BackendLastError,
  type BackendName,
  type BreakerSnapshot,
  type BreakerState,
  type DaemonCallObserver,
  notifyObserver,
} from '../types.ts';
import { CircuitBreaker } from './breaker.ts';
import { sleep, systemClock, type Clock } from './clock.ts';
import { isHealthFailure, type Classified } from './errors.ts';
import { DEFAULT_RETRY_POLICY, backoffDelay, type RetryPolicy } from './retry.ts';
import { TimeoutError, withTimeout } from './timeout.ts';

export interface ResilienceOptions {
  readonly retry?: Partial<RetryPolicy>;
  readonly breaker?: { readonly failureThreshold?: number; readonly resetTimeoutMs?: number };
  readonly clock?: Clock;
  /** Told about every call once it ends (outcome and seconds, retries included). */
  readonly observe?: DaemonCallObserver;
}

export interface GuardOptions extends ResilienceOptions {
  readonly daemon: BackendName;
  readonly timeoutMs: number;
  readonly logger?: Logger;
  /** Turns a raw failure of this daemon's library or protocol into a classification. */
  readonly classify: (error: unknown) => Classified;
}

export interface CallOptions {
  /**
   * Safe to send twice (reads, and writes the daemon deduplicates). Non-idempotent calls are
   * retried only when the request certainly never left. Default true.
   */
  readonly idempotent?: boolean;
  /** Overrides the daemon's timeout for this call (e.g. a payment with its own deadline). */
  readonly timeoutMs?: number;
  /** False: one attempt only (health probes). */
  readonly retry?: boolean;
}

export interface GuardStatus {
  readonly breaker: BreakerSnapshot;
  readonly lastError?: BackendLastError;
  readonly lastSuccessAtMs?: number;
}

export class DaemonGuard {
  readonly daemon: BackendName;
  readonly timeoutMs: number;
  readonly retryPolicy: RetryPolicy;
  readonly breaker: CircuitBreaker;
  readonly clock: Clock;
  readonly #logger: Logger | undefined;
  readonly #classify: (error: unknown) => Classified;
  readonly #observe: DaemonCallObserver | undefined;
  #lastError: BackendLastError | undefined;
  #lastSuccessAt: number | undefined;

  constructor(options: GuardOptions) {
    this.daemon = options.daemon;
    this.timeoutMs = options.timeoutMs;
    this.retryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.clock = options.clock ?? systemClock;
    this.#logger = options.logger;
    this.#classify = options.classify;
    this.#observe = options.observe;
    this.breaker = new CircuitBreaker({
      ...options.breaker,
      clock: this.clock,
      onStateChange: (from, to) => this.#onBreaker(from, to),
    });
  }

  get state(): BreakerState {
    return this.breaker.state;
  }

  status(): GuardStatus {
    return {
      breaker: this.breaker.snapshot(),
      ...(this.#lastError ? { lastError: this.#lastError } : {}),
      ...(this.#lastSuccessAt === undefined ? {} : { lastSuccessAtMs: this.#lastSuccessAt }),
    };
  }

  /** Closes the breaker and forgets the failure count (after the connection was rebuilt). */
  reset(): void {
    this.breaker.reset();
  }

  /**
   * Runs `fn` under the breaker, a timeout per attempt and the retry policy. `fn` receives an
   * AbortSignal that fires at the deadline; it should pass it on to its request.
   * Throws BackendError on failure.
   */
  async call<T>(
    operation: string,
    fn: (signal: AbortSignal) => Promise<T>,
    options: CallOptions = {},
  ): Promise<T> {
    const startedAt = this.clock.now();
    const seconds = () => Math.max(0, this.clock.now() - startedAt) / 1000;
    try {
      const value = await this.#call(operation, fn, options);
      notifyObserver(this.#observe, this.daemon, operation, 'ok', seconds());
      return value;
    } catch (error) {
      const kind = error instanceof BackendError ? error.kind : 'internal';
      notifyObserver(this.#observe, this.daemon, operation, kind, seconds());
      throw error;
    }
  }

  async #call<T>(
    operation: string,
    fn: (signal: AbortSignal) => Promise<T>,
    options: CallOptions,
  ): Promise<T> {
    const idempotent = options.idempotent ?? true;
    const attempts = options.retry === false ? 1 : Math.max(1, this.retryPolicy.attempts);
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.#attempt(operation, fn, timeoutMs, idempotent);
      if (!(outcome instanceof BackendError)) return outcome.value;
      if (!outcome.retryable || attempt >= attempts) throw outcome;
      const delayMs = backoffDelay(attempt, this.retryPolicy);
      this.#logger?.warn(
        { daemon: this.daemon, operation, attempt, delayMs, kind: outcome.kind },
        `${outcome.message}; retrying`,
      );
      await sleep(this.clock, delayMs);
    }
  }

  async #attempt<T>(
    operation: string,
    fn: (signal: AbortSignal) => Promise<T>,
    timeoutMs: number,
    idempotent: boolean,
  ): Promise<{ value: T } | BackendError> {
    if (!this.breaker.tryAcquire()) {
      const at = this.breaker.snapshot().halfOpenAtMs;
      const wait = at === undefined ? 0 : Math.max(0, at - this.clock.now());
      return new BackendError(
        this.daemon,
        'circuit_open',
        `${this.daemon} ${operation}: circuit open after ${this.breaker.failureThreshold} consecutive failures; next try in ${Math.ceil(wait / 1000)} s`,
        { retryable: false },
      );
    }
    try {
      const value = await withTimeout(this.clock, timeoutMs, fn);
      this.breaker.success();
      this.#lastSuccessAt = this.clock.now();
      return { value };
    } catch (raw) {
      const error = this.#toBackendError(operation, raw, idempotent);
      if (isHealthFailure(error.kind)) this.breaker.failure();
      else this.breaker.success(); // it answered: the daemon is up, whatever it said
      this.#lastError = { message: error.message, kind: error.kind, atMs: this.clock.now() };
      return error;
    }
  }

  #toBackendError(operation: string, raw: unknown, idempotent: boolean): BackendError {
    let classified: Classified;
    if (raw instanceof TimeoutError) classified = { kind: 'timeout', message: raw.message };
    else if (raw instanceof BackendError) {
      classified = {
        kind: raw.kind,
        message: raw.message,
        ...(raw.daemonCode ? { daemonCode: raw.daemonCode } : {}),
        ...(raw.retryable ? {} : { retryable: false as const }),
      };
    } else {
      try {
        classified = this.#classify(raw);
      } catch {
        classified = { kind: 'internal', message: 'unclassifiable failure' };
      }
    }
    const transient = classified.kind === 'unavailable' || classified.kind === 'timeout';
    const retryable =
      transient && classified.retryable !== false && (idempotent || classified.notSent === true);
    const prefix = `${this.daemon} ${operation}: `;
    const message = classified.message.startsWith(prefix) ? classified.message : prefix + classified.message;
    return new BackendError(this.daemon, classified.kind, message, {
      retryable,
      ...(classified.daemonCode ? { daemonCode: classified.daemonCode } : {}),
    });
  }

  #onBreaker(from: BreakerState, to: BreakerState): void {
    const log = to === 'open' ? this.#logger?.error : this.#logger?.warn;
    log?.call(this.#logger, { daemon: this.daemon, from, to }, `${this.daemon} circuit ${from} -> ${to}`);
  }
}
