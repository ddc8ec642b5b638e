// The ceremony's service requests: `cancel {action_id}` and `submit_batch {batch_id, intents}`
// (docs/protocol.md, "Service requests of the ceremony"). The work is the ceremony's; these
// only check the params' shape; the ceremony module registers them.
import { ProtocolError } from '../../domain/error-codes.ts';
import { defineAction, type ServiceAction } from './action.ts';

export interface CeremonyRequests {
  cancel(author: string, actionId: string): Promise<unknown>;
  submitBatch(request: {
    batchId: string;
    requestEventId: string;
    submitter: string;
    events: readonly unknown[];
  }): Promise<unknown>;
}

const ID = /^[A-Za-z0-9_.:-]{1,64}$/;

function only(params: Record<string, unknown>, fields: readonly string[]): void {
  const unknown = Object.keys(params).filter((k) => !fields.includes(k));
  if (unknown.length > 0)
    throw new ProtocolError('MALFORMED_CONTENT', `unknown param(s): ${unknown.join(', ')}`);
}

export function cancelAction(ceremony: CeremonyRequests): ServiceAction<{ actionId: string }> {
  return defineAction({
    name: 'cancel',
    parse: (params) => {
      only(params, ['action_id']);
      if (typeof params.action_id !== 'string' || !ID.test(params.action_id)) {
        throw new ProtocolError('MALFORMED_CONTENT', 'action_id must be 1-64 of A-Z a-z 0-9 _ . : -');
      }
      return { actionId: params.action_id };
    },
    handle: ({ actionId }, ctx) => ceremony.cancel(ctx.author, actionId),
  });
}

export function submitBatchAction(
  ceremony: CeremonyRequests,
): ServiceAction<{ batchId: string; events: unknown[] }> {
  return defineAction({
    name: 'submit_batch',
    parse: (params) => {
      only(params, ['batch_id', 'intents']);
      if (typeof params.batch_id !== 'string' || !ID.test(params.batch_id)) {
        throw new ProtocolError('MALFORMED_CONTENT', 'batch_id must be 1-64 of A-Z a-z 0-9 _ . : -');
      }
      if (!Array.isArray(params.intents))
        throw new ProtocolError('MALFORMED_CONTENT', 'intents must be a list of events');
      return { batchId: params.batch_id, events: params.intents };
    },
    handle: ({ batchId, events }, ctx) =>
      ceremony.submitBatch({
        batchId,
        requestEventId: ctx.requestEventId,
        submitter: ctx.author,
        events,
      }),
  });
}
