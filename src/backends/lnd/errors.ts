// The `lightning` package reports failures as [status, name, {err}] arrays, where err is the
// gRPC error from lnd (code + details) when there was one. This turns them into a Classified.
import { classifyTransportError, type Classified } from '../resilience/errors.ts';

// gRPC status codes
const CANCELLED = 1;
const DEADLINE_EXCEEDED = 4;
const NOT_FOUND = 5;
const RESOURCE_EXHAUSTED = 8;
const UNAVAILABLE = 14;

const NOT_CONNECTED =
  /failed to connect|No connection established|Connect Failed|TRANSIENT_FAILURE|ECONNREFUSED/i;

interface GrpcError {
  readonly code: number;
  readonly details?: string;
}

function grpcErrorOf(value: unknown): GrpcError | undefined {
  const err = (value as { err?: unknown } | undefined)?.err ?? value;
  if (err && typeof (err as GrpcError).code === 'number') return err as GrpcError;
  return undefined;
}

function fromGrpc(err: GrpcError, name: string | undefined): Classified {
  const message = err.details || name || `gRPC status ${err.code}`;
  const daemonCode = `grpc ${err.code}`;
  if (err.code === UNAVAILABLE) {
    return {
      kind: 'unavailable',
      message,
      daemonCode,
      ...(NOT_CONNECTED.test(message) ? { notSent: true } : {}),
    };
  }
  if (err.code === DEADLINE_EXCEEDED) return { kind: 'timeout', message, daemonCode };
  if (err.code === RESOURCE_EXHAUSTED || err.code === CANCELLED)
    return { kind: 'unavailable', message, daemonCode };
  if (err.code === NOT_FOUND) return { kind: 'not_found', message, daemonCode };
  return { kind: 'rejected', message, daemonCode };
}

export function classifyLnd(error: unknown): Classified {
  if (Array.isArray(error)) {
    const [status, name, extra] = error as [unknown, unknown, unknown];
    const label = typeof name === 'string' ? name : undefined;
    const grpc = grpcErrorOf(extra);
    if (grpc) return fromGrpc(grpc, label);
    const daemonCode = label;
    const message = label ?? 'lnd error';
    if (label === 'FailedToConnectToDaemon')
      return { kind: 'unavailable', message, notSent: true, ...(daemonCode ? { daemonCode } : {}) };
    if (status === 404 || /NotFound$/.test(message))
      return { kind: 'not_found', message, ...(daemonCode ? { daemonCode } : {}) };
    if (typeof status === 'number' && status >= 400 && status < 503)
      return { kind: 'rejected', message, ...(daemonCode ? { daemonCode } : {}) };
    // A 503 without a gRPC error is the package finding lnd's reply malformed.
    return { kind: 'internal', message, ...(daemonCode ? { daemonCode } : {}) };
  }
  const grpc = grpcErrorOf(error);
  if (grpc) return fromGrpc(grpc, undefined);
  const transport = classifyTransportError(error);
  if (transport) return transport;
  // The package throws plain Errors for arguments it refuses (e.g. an invalid payment request).
  if (error instanceof Error && /^Expected|^Unexpected/.test(error.message)) {
    return { kind: 'rejected', message: error.message, daemonCode: error.message };
  }
  return { kind: 'internal', message: error instanceof Error ? error.message : 'unknown failure' };
}
