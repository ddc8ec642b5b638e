// How a failed daemon call is classified. The real clients throw BackendError (../types.ts),
// whose kind maps to the protocol's 5xxx codes; this adds the one fact retrying needs beyond
// the kind: whether the request certainly never reached the daemon.
import type { BackendErrorKind } from '../types.ts';

/** What a client's classifier says about one raw failure. */
export interface Classified {
  readonly kind: BackendErrorKind;
  readonly message: string;
  /** The daemon's own code: HTTP status, gRPC status name, lnd error name, socket error code. */
  readonly daemonCode?: string;
  /**
   * The request never left (connection refused, DNS, TLS handshake): safe to retry even a call
   * that is not idempotent.
   */
  readonly notSent?: boolean;
  /** False: never retry this failure, whatever its kind. */
  readonly retryable?: false;
}

/** Failures that say the daemon is unhealthy: they count toward opening the breaker. */
export function isHealthFailure(kind: BackendErrorKind): boolean {
  return kind === 'unavailable' || kind === 'timeout';
}

// Node's socket-level error codes, split by whether the request could have been sent.
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'UND_ERR_CONNECT_TIMEOUT',
]);
const MID_CALL_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/**
 * Classifies a transport failure (Node socket errors, undici's `fetch failed` with its cause),
 * following `cause` a few levels; undefined when the error is not a transport failure.
 */
export function classifyTransportError(error: unknown): Classified | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') {
      if (NOT_SENT_CODES.has(code)) {
        return { kind: 'unavailable', message: describeCode(code), daemonCode: code, notSent: true };
      }
      if (MID_CALL_CODES.has(code)) {
        return { kind: 'unavailable', message: describeCode(code), daemonCode: code };
      }
    }
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

function describeCode(code: string): string {
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host not found';
  if (code.includes('CERT') || code.includes('TLS')) return `TLS certificate not accepted (${code})`;
  return `connection failed (${code})`;
}
