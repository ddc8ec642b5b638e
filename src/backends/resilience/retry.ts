// Exponential backoff: the delay before retry n (1-based) is base · 2^(n-1), capped at max,
// so 1 s, 2 s, 4 s, 8 s, 16 s, 30 s, 30 s … with the defaults.

export interface RetryPolicy {
  /** Attempts in all, the first included; 1 disables retries. */
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { attempts: 4, baseDelayMs: 1_000, maxDelayMs: 30_000 };

/** The delay before retry number `retry` (1 = the first retry). */
export function backoffDelay(retry: number, policy: RetryPolicy): number {
  if (retry < 1) return 0;
  // 2^31 already exceeds any sane cap; stop doubling before it overflows.
  const factor = 2 ** Math.min(retry - 1, 31);
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * factor);
}
