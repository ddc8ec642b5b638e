// X-Admin-Key for /admin/* and every state-changing operational endpoint. Header only (never
// a query string, which lands in access logs), compared in constant time. Wrong keys are
// counted per client address; past ADMIN_AUTH_MAX_FAILURES a minute, that address's wrong keys
// get 429 (a stuck script or a scanner is told to back off). The right key always passes:
// guessing a key of at least 32 characters is hopeless anyway, and a limit that refused it would
// let anyone sharing the operator's address lock the operator out.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Secret } from '../config.ts';
import { HttpError } from './errors.ts';

export const ADMIN_HEADER = 'x-admin-key';

/** OpenAPI security requirement for routes behind the guard. */
export const ADMIN_SECURITY = [{ adminKey: [] as string[] }];

export interface AdminGuardOptions {
  /** Failed attempts allowed per address within the window before 429. */
  readonly maxFailures?: number;
  readonly windowMs?: number;
  readonly now?: () => number;
}

const digest = (value: string) => createHash('sha256').update(value).digest();

export type AdminGuard = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

export function adminGuard(key: Secret | undefined, options: AdminGuardOptions = {}): AdminGuard {
  const maxFailures = options.maxFailures ?? 10;
  const windowMs = options.windowMs ?? 60_000;
  const now = options.now ?? Date.now;
  // Hash both sides so the comparison is constant-time whatever the lengths.
  const expected = key ? digest(key.reveal()) : undefined;
  const failures = new Map<string, { count: number; since: number }>();

  return async (request) => {
    if (!expected) {
      throw new HttpError('forbidden', 'the admin API is disabled: set ADMIN_API_KEY to enable it');
    }
    const given = request.headers[ADMIN_HEADER];
    if (typeof given !== 'string' || given.length === 0) {
      // No key is not a guess: it is not counted towards the limit.
      throw new HttpError('unauthorized', `missing or wrong ${ADMIN_HEADER} header`);
    }
    // Compared before the limit is looked at: the right key is never refused.
    if (timingSafeEqual(digest(given), expected)) return;
    const address = request.ip;
    const t = now();
    const record = failures.get(address);
    const current = record && t - record.since <= windowMs ? record : undefined;
    if (current && current.count >= maxFailures) {
      throw new HttpError('rate_limited', 'too many failed admin key attempts; try again later');
    }
    failures.delete(address);
    failures.set(address, { count: (current?.count ?? 0) + 1, since: current?.since ?? t });
    // Bound the table: an address flood cannot grow memory without limit (oldest entry first).
    if (failures.size > 10_000) failures.delete(failures.keys().next().value as string);
    throw new HttpError('unauthorized', `missing or wrong ${ADMIN_HEADER} header`);
  };
}

/** What routes behind the admin key need: the guard, and the audit hook that records each call. */
export interface AdminAccess {
  readonly guard: AdminGuard;
  readonly audit: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  /** false when ADMIN_API_KEY is unset (the guard then refuses everything). */
  readonly configured: boolean;
}
