// One worker at a time per payment hash, across processes: crediting a lift and paying a land
// each call a daemon between two database transactions, so a conditional update alone cannot
// keep two workers from doing the daemon part twice. A claim is a settings-row lease
// (SettingsLease: a conditional update or the first insert, exactly one winner) that lapses after
// `ttlMs` when its holder died; the row is deleted when the work is done, so claims do not pile up.
import { SettingsLease } from '../ledger/settings.ts';
import type { Database } from '../store/database.ts';

export interface ClaimOptions {
  readonly ttlMs: number;
  readonly holder: string;
  readonly now?: () => number;
}

/** Runs `work` holding the claim `name`; `busy` (work not run) when another holder has it. */
export async function withClaim<T>(
  database: Database,
  name: string,
  options: ClaimOptions,
  work: () => Promise<T>,
): Promise<{ readonly busy: true } | { readonly busy: false; readonly result: T }> {
  const lease = new SettingsLease(database, name, {
    ttlMs: options.ttlMs,
    holder: options.holder,
    ...(options.now ? { now: options.now } : {}),
  });
  const token = await lease.acquire();
  if (!token) return { busy: true };
  try {
    return { busy: false, result: await work() };
  } finally {
    // Only our own claim: a lapsed one another holder took since is theirs.
    await database.db
      .deleteFrom('settings')
      .where('name', '=', name)
      .where('value_json', '=', token)
      .execute()
      .catch(() => undefined);
  }
}
