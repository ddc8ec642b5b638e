// The contract of a 31500 service action: one handler per action, registered in ./index.ts.
// `parse` validates params (throw ProtocolError 1002); `handle` returns the `result` of the
// 31501 reply or throws a ProtocolError, which becomes `{status: "error", error: {code, message}}`.
// Any other error is retried by the job queue and, on the last attempt, answered with 5004.
// A handler runs at least once per request and its reply is sent exactly once: effects on the
// database must be keyed by `requestEventId` (unique), so a rerun after a crash changes nothing.
import type { Logger } from '../../logging.ts';

export interface ServiceContext {
  readonly author: string;
  readonly requestEventId: string;
  readonly requestId: string;
  /** The gateway key the request was addressed to. */
  readonly gatewayPubkey: string;
  readonly attempt: number;
  readonly logger: Logger;
  readonly signal: AbortSignal;
}

export interface ServiceAction<P = unknown> {
  readonly name: string;
  parse(params: Record<string, unknown>): P;
  handle(params: P, ctx: ServiceContext): Promise<unknown>;
}

export function defineAction<P>(action: ServiceAction<P>): ServiceAction<P> {
  if (!/^[a-z][a-z0-9_]{0,31}$/.test(action.name))
    throw new Error(`action name "${action.name}" is not valid`);
  return action;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyAction = ServiceAction<any>;
