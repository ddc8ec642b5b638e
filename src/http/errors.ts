// Stable error codes of the HTTP API. Clients branch on `error.code`, never on the message.
import { BackendError } from '../backends/types.ts';
import { deadline } from '../deadline.ts';
import { DependencyUnavailableError } from '../errors.ts';
import { isDatabaseUnavailable } from '../store/db-errors.ts';
import { PoolTimeoutError } from '../store/mysql-pool.ts';

export const HTTP_ERROR = {
  validation_failed: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  payload_too_large: 413,
  rate_limited: 429,
  internal_error: 500,
  unavailable: 503,
  /** The database, Redis or a daemon is down: the same request may work shortly (see `dependency`). */
  dependency_unavailable: 503,
} as const;

export type HttpErrorCode = keyof typeof HTTP_ERROR;

export class HttpError extends Error {
  readonly code: HttpErrorCode;
  readonly statusCode: number;
  constructor(code: HttpErrorCode, message: string) {
    super(message);
    this.code = code;
    this.statusCode = HTTP_ERROR[code];
  }
}

export interface ErrorBody {
  readonly error: {
    readonly code: HttpErrorCode;
    readonly message: string;
    /** With `dependency_unavailable`: which one (`database`, `redis`, `arkd`, …). */
    readonly dependency?: string;
  };
}

/** mysql2 marks connection failures fatal; SQL errors carry a state, SQLite ones an errcode. */
function fromDatabase(error: object): boolean {
  return (
    (error as { fatal?: unknown }).fatal === true ||
    'sqlState' in error ||
    'errcode' in error ||
    error instanceof PoolTimeoutError ||
    (error as { code?: unknown }).code === 'POOL_CLOSED'
  );
}

/**
 * The dependency whose outage made a request fail, or undefined for any other failure. The one
 * mapping of outages to `503 dependency_unavailable`: the database unreachable (or a lock
 * conflict that outlasted its wait), Redis unreachable, a daemon unreachable or its breaker open.
 * Causes are followed, so a service may wrap the error.
 */
export function unavailableDependency(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current !== null && typeof current === 'object'; depth++) {
    if (current instanceof DependencyUnavailableError) return current.dependency;
    // A daemon's own transport errors (ECONNREFUSED…) are the daemon's, never the database's.
    if (current instanceof BackendError) {
      return ['unavailable', 'timeout', 'circuit_open'].includes(current.kind) ? current.backend : undefined;
    }
    if (fromDatabase(current) && (isDatabaseUnavailable(current) || current instanceof PoolTimeoutError))
      return 'database';
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * `work` on a dependency, answered within `ms`: after that the request fails as that dependency's
 * outage (503) instead of waiting out the client's own, longer, reconnection wait.
 */
export function within<T>(work: Promise<T>, ms: number, dependency: string): Promise<T> {
  return deadline(
    work,
    ms,
    () => new DependencyUnavailableError(dependency, `${dependency}: no answer within ${ms} ms`),
  );
}
