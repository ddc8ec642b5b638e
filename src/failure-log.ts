// Repeated failures of one thing — a loop writing to a database that is down, a webhook that
// does not answer, requests failing on the same dependency — must not flood the log: the first
// failure is logged at once, then at most one line per interval with how many failed meanwhile,
// and one line when it works again. With a backoff, the next attempt also waits longer after each
// failure (doubling up to a ceiling), so an outage is not hammered by the loops that report it.
import type { Logger } from './logging.ts';

export interface FailureLogOptions {
  readonly logger: Logger;
  /** What fails, as the lines name it: "system sample", "alert webhook". */
  readonly what: string;
  /** At most one line per this many ms while it keeps failing (default 60 s). */
  readonly logEveryMs?: number;
  /** Delay before the first retry, doubled on each further failure up to maxMs. Unset: none. */
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
  readonly now?: () => number;
}

/** The short reason of a failure: its message's first line and code, never a stack. */
export function failureReason(error: unknown): string {
  const message = (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
  const code = (error as { code?: unknown } | null)?.code;
  const text = typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
  return text.length > 300 ? `${text.slice(0, 299)}…` : text;
}

export class FailureLog {
  readonly #o: FailureLogOptions;
  readonly #now: () => number;
  #failures = 0;
  #unlogged = 0;
  #loggedAt = Number.NEGATIVE_INFINITY;
  #failedAt = Number.NEGATIVE_INFINITY;
  #retryAt = 0;

  constructor(options: FailureLogOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  /** Failures since the last success. */
  get failures(): number {
    return this.#failures;
  }

  /** False while backing off after a failure: skip the attempt. */
  ready(now = this.#now()): boolean {
    return now >= this.#retryAt;
  }

  failed(error: unknown, fields: Record<string, unknown> = {}, now = this.#now()): void {
    const logEveryMs = this.#o.logEveryMs ?? 60_000;
    // Without a retry loop nobody reports success: a quiet interval ends the episode.
    if (!this.#o.backoff && now - this.#failedAt > logEveryMs) this.#reset();
    this.#failedAt = now;
    this.#failures++;
    this.#unlogged++;
    const backoff = this.#o.backoff;
    let retryInMs: number | undefined;
    if (backoff) {
      retryInMs = Math.min(backoff.initialMs * 2 ** Math.min(this.#failures - 1, 30), backoff.maxMs);
      this.#retryAt = now + retryInMs;
    }
    if (now - this.#loggedAt < logEveryMs) return;
    const first = this.#failures === 1;
    this.#o.logger.warn(
      {
        ...fields,
        error: failureReason(error),
        failures: this.#unlogged,
        ...(retryInMs !== undefined ? { retry_in_ms: retryInMs } : {}),
      },
      first ? `${this.#o.what} failed` : `${this.#o.what} still failing`,
    );
    this.#loggedAt = now;
    this.#unlogged = 0;
  }

  succeeded(fields: Record<string, unknown> = {}): void {
    if (this.#failures > 0) {
      this.#o.logger.info({ ...fields, failures: this.#failures }, `${this.#o.what} works again`);
    }
    this.#reset();
  }

  #reset(): void {
    this.#failures = 0;
    this.#unlogged = 0;
    this.#loggedAt = Number.NEGATIVE_INFINITY;
    this.#retryAt = 0;
  }
}

/** One FailureLog per key (a dependency, a route), made on first use. */
export class FailureLogs {
  readonly #make: (key: string) => FailureLog;
  readonly #logs = new Map<string, FailureLog>();

  constructor(make: (key: string) => FailureLog) {
    this.#make = make;
  }

  get(key: string): FailureLog {
    let log = this.#logs.get(key);
    if (!log) {
      log = this.#make(key);
      this.#logs.set(key, log);
    }
    return log;
  }
}
