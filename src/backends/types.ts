// Shared vocabulary of the three backend interfaces (Ark, Taproot Assets, Lightning): which
// daemon, which mode, the health and breaker snapshot the HTTP routes and /health show, and the
// one error type every implementation throws, mapped to the protocol's 5xxx codes in one place.
// Money is bigint (sats, msat, asset base units); times are unix seconds (UTC) unless named *Ms.
import { ProtocolError, type ErrorName } from '../domain/error-codes.ts';

export type BackendName = 'arkd' | 'tapd' | 'lnd';
export const BACKEND_NAMES: readonly BackendName[] = ['arkd', 'tapd', 'lnd'];

/** `sim`: the in-process simulator; `real`: a daemon at a configured address. */
export type BackendMode = 'sim' | 'real';

export type BreakerState = 'closed' | 'open' | 'half_open';

export interface BreakerSnapshot {
  readonly state: BreakerState;
  readonly consecutiveFailures: number;
  /** Unix ms when the breaker last opened; undefined while it never has. */
  readonly openedAtMs?: number;
  /** Unix ms after which an open breaker lets one trial call through. */
  readonly halfOpenAtMs?: number;
}

export interface BackendLastError {
  readonly message: string;
  readonly kind: BackendErrorKind;
  /** Unix ms. */
  readonly atMs: number;
}

/** What `GET /grpc/{service}` and `/health` show about one daemon, without calling it. */
export interface BackendStatus {
  readonly name: BackendName;
  readonly mode: BackendMode;
  /** Where the daemon is (`sim` for the simulator); never contains credentials. */
  readonly address: string;
  readonly breaker: BreakerSnapshot;
  readonly lastError?: BackendLastError;
  /** Unix ms of the last successful call. */
  readonly lastSuccessAtMs?: number;
}

/** Common to the three interfaces: identity, live probe, status snapshot, reconnect and close. */
export interface BackendLifecycle {
  readonly name: BackendName;
  readonly mode: BackendMode;
  /** One cheap live call (GetInfo); rejects with a BackendError when the daemon is not usable. */
  probe(): Promise<void>;
  status(): BackendStatus;
  /** Drops and rebuilds the connection (and resets the breaker); resolves once rebuilt. */
  reconnect(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Why a backend call failed. `unavailable`, `timeout` and `circuit_open` mean the daemon could not
 * be used (retryable, 5004); the others mean it answered and refused.
 */
export type BackendErrorKind =
  | 'unavailable'
  | 'timeout'
  | 'circuit_open'
  | 'rejected'
  | 'not_found'
  | 'invalid_signature'
  | 'already_spent'
  | 'payment_failed'
  | 'sim_only'
  | 'internal';

const RETRYABLE: ReadonlySet<BackendErrorKind> = new Set(['unavailable', 'timeout']);

export class BackendError extends Error {
  readonly backend: BackendName;
  readonly kind: BackendErrorKind;
  /** Safe to retry the same call (the resilience layer retries only these). */
  readonly retryable: boolean;
  /** The daemon's own code (gRPC status, HTTP status, lnd failure reason), for logs and tests. */
  readonly daemonCode: string | undefined;
  constructor(
    backend: BackendName,
    kind: BackendErrorKind,
    message: string,
    options: { daemonCode?: string; retryable?: boolean; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BackendError';
    this.backend = backend;
    this.kind = kind;
    this.retryable = options.retryable ?? RETRYABLE.has(kind);
    this.daemonCode = options.daemonCode;
  }

  /** The protocol error (5001–5004) this failure is reported as to a user. */
  toProtocolError(): ProtocolError {
    return new ProtocolError(protocolErrorName(this), this.message, {
      backend: this.backend,
      kind: this.kind,
      ...(this.daemonCode ? { daemon_code: this.daemonCode } : {}),
    });
  }
}

/** The one mapping from backend failures to protocol codes. */
export function protocolErrorName(error: BackendError): ErrorName {
  if (error.kind === 'unavailable' || error.kind === 'timeout' || error.kind === 'circuit_open') {
    return 'SERVICE_UNAVAILABLE';
  }
  if (error.backend === 'arkd') return 'ARK_SERVER';
  if (error.backend === 'tapd') return 'TAPROOT_ASSETS';
  return error.kind === 'payment_failed' || error.kind === 'rejected'
    ? 'LIGHTNING_PAYMENT_FAILED'
    : 'SERVICE_UNAVAILABLE';
}

/** Stops a stream subscription; safe to call twice. */
export type Unsubscribe = () => void;

/** How one daemon call ended: `ok`, or the kind of its BackendError. */
export type DaemonCallOutcome = 'ok' | BackendErrorKind;

/**
 * Told about every daemon call once it ends (retries included in `seconds`), e.g. to feed the
 * `daemon_call_seconds` histogram. Must not throw; a throw is ignored.
 */
export type DaemonCallObserver = (
  daemon: BackendName,
  operation: string,
  outcome: DaemonCallOutcome,
  seconds: number,
) => void;

/** Calls the observer, if any, so that its failure can never fail the call it observes. */
export function notifyObserver(
  observer: DaemonCallObserver | undefined,
  daemon: BackendName,
  operation: string,
  outcome: DaemonCallOutcome,
  seconds: number,
): void {
  if (!observer) return;
  try {
    observer(daemon, operation, outcome, seconds);
  } catch {
    // metrics are never worth a failed daemon call
  }
}
