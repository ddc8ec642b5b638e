// Stable error codes of the HTTP API. Clients branch on `error.code`, never on the message.
import { BackendError } from '../backends/types.ts';
import { ERROR_CODES, ProtocolError, type ErrorName } from '../domain/error-codes.ts';
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

/** How the HTTP API answers a failure: its stable code, a message safe to show, the dependency. */
export interface HttpAnswer {
  readonly code: HttpErrorCode;
  readonly message: string;
  readonly dependency?: string;
}

/** The HTTP code of each protocol error (docs/protocol.md, "Error codes"). */
const PROTOCOL_HTTP: Record<ErrorName, HttpErrorCode> = {
  INVALID_SIGNATURE: 'validation_failed',
  MALFORMED_CONTENT: 'validation_failed',
  EXPIRED: 'validation_failed',
  REPLAYED_ACTION: 'conflict',
  UNKNOWN_TYPE: 'validation_failed',
  NOT_ADDRESSED: 'validation_failed',
  UNSUPPORTED_ENCRYPTION: 'validation_failed',
  RATE_LIMITED: 'rate_limited',
  INSUFFICIENT_BALANCE: 'conflict',
  VTXO_SPENT: 'conflict',
  VTXO_UNKNOWN: 'not_found',
  BELOW_LIMITS: 'validation_failed',
  BATCH_INVALID: 'validation_failed',
  CHALLENGE_RESPONSE_INVALID: 'validation_failed',
  SESSION_TIMEOUT: 'conflict',
  CANCELLED: 'conflict',
  FEE_INCORRECT: 'validation_failed',
  ARK_SERVER: 'unavailable',
  TAPROOT_ASSETS: 'unavailable',
  LIGHTNING_PAYMENT_FAILED: 'unavailable',
  SERVICE_UNAVAILABLE: 'unavailable',
};

function protocolHttpCode(error: ProtocolError): HttpErrorCode {
  const name = (Object.keys(ERROR_CODES) as ErrorName[]).find((n) => ERROR_CODES[n].code === error.code);
  return name ? PROTOCOL_HTTP[name] : 'internal_error';
}

/**
 * The one map from any failure to its HTTP answer, as the server's error handler gives it:
 *  - an HttpError is its own answer;
 *  - an outage of a dependency (database, Redis, a daemon unreachable, its breaker open) is
 *    503 `dependency_unavailable` naming it, with a message that names no host;
 *  - any other daemon failure is first its protocol error (`protocolErrorName`, the same code a
 *    wallet gets over Nostr), answered as that protocol error is (PROTOCOL_HTTP); a daemon that
 *    refused what it was asked is 400, and its `not_found` 404;
 *  - a RangeError (an argument out of range) is 400;
 *  - anything else is a 500 whose details stay in the log.
 */
export function httpAnswer(error: unknown): HttpAnswer {
  if (error instanceof HttpError) return { code: error.code, message: error.message };
  const dependency = unavailableDependency(error);
  if (dependency)
    return {
      code: 'dependency_unavailable',
      message: `${dependency} is unavailable; try again shortly`,
      dependency,
    };
  if (error instanceof BackendError) {
    if (error.kind === 'not_found') return { code: 'not_found', message: error.message };
    const protocol = error.toProtocolError();
    return {
      code:
        error.kind === 'rejected' || error.kind === 'sim_only'
          ? 'validation_failed'
          : protocolHttpCode(protocol),
      message: `${error.backend}: ${error.message}`,
    };
  }
  if (error instanceof ProtocolError) return { code: protocolHttpCode(error), message: error.message };
  if (error instanceof RangeError) return { code: 'validation_failed', message: error.message };
  return { code: 'internal_error', message: 'internal error' };
}
