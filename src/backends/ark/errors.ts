// Failures of the @arkade-os/sdk providers, classified. arkd answers refusals with a structured
// ArkError (name such as VTXO_ALREADY_SPENT or INVALID_SIGNATURE); an unreachable or overloaded
// server surfaces as ProviderUnavailableError / FetchError.
import {
  ArkError,
  DigestMismatchError,
  ProviderUnavailableError,
  ServerResponseMismatchError,
} from '@arkade-os/sdk';
import { classifyTransportError, type Classified } from '../resilience/errors.ts';

export function classifyArk(error: unknown): Classified {
  if (error instanceof ArkError) {
    const name = error.name;
    const base = { message: error.message || name, daemonCode: name };
    if (/SIGNATURE/.test(name)) return { kind: 'invalid_signature', ...base };
    if (/ALREADY_SPENT|ALREADY_UNROLLED|ALREADY_REGISTERED|SWEPT|SPENT/.test(name))
      return { kind: 'already_spent', ...base };
    if (/NOT_FOUND/.test(name)) return { kind: 'not_found', ...base };
    if (name === 'INTERNAL_ERROR') return { kind: 'internal', ...base };
    return { kind: 'rejected', ...base };
  }
  if (error instanceof DigestMismatchError) {
    return {
      kind: 'rejected',
      message: 'server configuration changed; rebuild the transaction',
      daemonCode: 'DIGEST_MISMATCH',
    };
  }
  if (error instanceof ServerResponseMismatchError) return { kind: 'internal', message: error.message };
  const transport = classifyTransportError(error);
  if (error instanceof ProviderUnavailableError || (error as Error)?.name === 'FetchError') {
    return transport ?? { kind: 'unavailable', message: (error as Error).message };
  }
  if (transport) return transport;
  const message = error instanceof Error ? error.message : 'unknown failure';
  // The indexer provider reports a malformed reply with "Invalid … received".
  if (/^Invalid .* (received|response)/i.test(message)) return { kind: 'internal', message };
  // Other plain Errors are the providers' wording of a 4xx reply without an ArkError body.
  return { kind: 'rejected', message };
}
