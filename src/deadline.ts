// One deadline for work that cannot be cancelled (a query, a PING, a probe): the caller gets an
// answer in time, and the work's late outcome is dropped without becoming an unhandled rejection.

/** `work`'s outcome, or `onExpiry()`'s error once `ms` have passed. */
export function deadline<T>(
  work: Promise<T>,
  ms: number,
  onExpiry: () => Error = () => new Error(`no answer within ${ms} ms`),
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onExpiry()), ms);
  });
  work.catch(() => undefined);
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}
