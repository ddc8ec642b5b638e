import { describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../../../src/backends/resilience/clock.ts';
import { TimeoutError, withTimeout } from '../../../src/backends/resilience/timeout.ts';

describe('withTimeout', () => {
  it('rejects at the deadline and aborts the signal, even when the call ignores it', async () => {
    const clock = new ManualClock();
    let seen: AbortSignal | undefined;
    const result = withTimeout(clock, 500, (signal) => {
      seen = signal;
      return new Promise<string>(() => {});
    });
    const settled = result.then(
      () => 'resolved',
      (e: unknown) => e,
    );
    await clock.advance(499);
    expect(seen?.aborted).toBe(false);
    await clock.advance(1);
    const error = await settled;
    expect(error).toBeInstanceOf(TimeoutError);
    expect(seen?.aborted).toBe(true);
    expect(seen?.reason).toBe(error);
  });

  it('passes a value through and cancels its timer', async () => {
    const clock = new ManualClock();
    await expect(withTimeout(clock, 500, async () => 42)).resolves.toBe(42);
    expect(clock.pending).toBe(0);
  });

  it('passes a failure through unchanged, including a synchronous throw', async () => {
    const boom = new Error('boom');
    await expect(withTimeout(systemClock, 500, () => Promise.reject(boom))).rejects.toBe(boom);
    await expect(
      withTimeout(systemClock, 500, () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
  });

  it('aborts a real fetch-like call on the system clock', async () => {
    const started = Date.now();
    const call = withTimeout(
      systemClock,
      50,
      (signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
    );
    await expect(call).rejects.toBeInstanceOf(TimeoutError);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
