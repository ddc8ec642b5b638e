// A per-call deadline that also aborts the underlying request.
import type { Clock } from './clock.ts';

export class TimeoutError extends Error {
  readonly timeoutMs: number;
  constructor(timeoutMs: number) {
    super(`no reply within ${timeoutMs} ms`);
    this.name = 'TimeoutError';
    this.timeoutMs = timeoutMs;
  }
}

/**
 * Runs `fn` with a signal that aborts after `timeoutMs`; rejects with TimeoutError at the
 * deadline even if `fn` ignores the signal (the late result is then dropped).
 */
export function withTimeout<T>(
  clock: Clock,
  timeoutMs: number,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const cancel = clock.setTimer(timeoutMs, () => {
      if (settled) return;
      settled = true;
      const error = new TimeoutError(timeoutMs);
      controller.abort(error);
      reject(error);
    });
    let running: Promise<T>;
    try {
      running = fn(controller.signal);
    } catch (error) {
      running = Promise.reject(error);
    }
    running.then(
      (value) => {
        if (settled) return;
        settled = true;
        cancel();
        resolve(value);
      },
      (error: unknown) => {
        if (settled) return;
        settled = true;
        cancel();
        reject(error);
      },
    );
  });
}
