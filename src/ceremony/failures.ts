// What an error means for a session (docs/protocol.md, "Deadlines"): try again later, or end the
// session with a code. A daemon or database that is away is worth waiting for (the step deadline
// bounds the wait before submission); anything that will fail the same way again — a refusal, a
// constraint, a bug — ends a session that has not been submitted at once, with its code, so no
// session ever waits for something that cannot happen.
import { BackendError } from '../backends/types.ts';
import { ProtocolError } from '../domain/error-codes.ts';
import { isDatabaseUnavailable } from '../store/db-errors.ts';

export type Verdict =
  | { readonly kind: 'retry' }
  | { readonly kind: 'fail'; readonly reason: ProtocolError; readonly unexpected: boolean };

const AWAY = new Set(['unavailable', 'timeout', 'circuit_open']);

export function judge(error: unknown): Verdict {
  if (error instanceof ProtocolError) return { kind: 'fail', reason: error, unexpected: false };
  if (error instanceof BackendError) {
    if (AWAY.has(error.kind)) return { kind: 'retry' };
    const reason =
      error.kind === 'already_spent'
        ? new ProtocolError('VTXO_SPENT', error.message)
        : error.toProtocolError();
    return { kind: 'fail', reason, unexpected: false };
  }
  if (isDatabaseUnavailable(error)) return { kind: 'retry' };
  return {
    kind: 'fail',
    reason: new ProtocolError('SERVICE_UNAVAILABLE', 'the gateway could not complete this transaction'),
    unexpected: true,
  };
}
