import { Writable } from 'node:stream';
import type { Clock } from '../../../src/backends/resilience/clock.ts';
import type { ResilienceOptions } from '../../../src/backends/resilience/guard.ts';
import { createLogger, type Logger } from '../../../src/logging.ts';

/** Real timers, but `now()` can be moved forward: the breaker's 60 s pass without waiting. */
export class ShiftedClock implements Clock {
  offset = 0;
  now(): number {
    return Date.now() + this.offset;
  }
  setTimer(ms: number, fn: () => void): () => void {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  }
  shift(ms: number): void {
    this.offset += ms;
  }
}

/** Fast retries for wire tests (the 1 s → 30 s schedule itself is unit-tested). */
export function fastResilience(clock: Clock): ResilienceOptions {
  return { clock, retry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 20 } };
}

/** A logger whose lines are kept, to assert that no secret reaches a log. */
export function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stdout = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: createLogger({ level: 'trace', stdout }), lines };
}
