import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_POLICY, backoffDelay } from '../../../src/backends/resilience/retry.ts';

describe('exponential backoff', () => {
  it('goes 1 s, 2 s, 4 s … and is capped at 30 s', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7, 50, 5000].map((n) => backoffDelay(n, DEFAULT_RETRY_POLICY));
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000]);
  });

  it('never shrinks and stays within [base, max] for any retry number', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), (n) => {
        const d = backoffDelay(n, DEFAULT_RETRY_POLICY);
        const next = backoffDelay(n + 1, DEFAULT_RETRY_POLICY);
        return d >= 1000 && d <= 30000 && next >= d && Number.isInteger(d);
      }),
    );
  });
});
