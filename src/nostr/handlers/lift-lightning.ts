// `lift_lightning {asset_id, amount}` → `{bolt11, payment_hash, expires_at, amount, amount_msat,
// asset_id}`: an invoice that, once paid, credits `amount` of the asset to the requester exactly
// once (docs/lightning.md). The work is the Lightning module's, which registers this action; this
// checks the params' shape. A rerun of the same request (after a crash) answers with the invoice
// already made for it.
import { ProtocolError } from '../../domain/error-codes.ts';
import { parseAmount } from '../../domain/intents.ts';
import { defineAction, type ServiceAction } from './action.ts';

export interface LiftRequests {
  createInvoice(request: {
    owner: string;
    assetId: string;
    amount: bigint;
    requestId: string;
    requestEventId: string;
  }): Promise<unknown>;
}

const ASSET_ID = /^[A-Za-z0-9_.-]{1,64}$/;

export function liftLightningAction(lift: LiftRequests): ServiceAction<{ assetId: string; amount: bigint }> {
  return defineAction({
    name: 'lift_lightning',
    parse: (params) => {
      const unknown = Object.keys(params).filter((k) => k !== 'asset_id' && k !== 'amount');
      if (unknown.length > 0)
        throw new ProtocolError('MALFORMED_CONTENT', `unknown param(s): ${unknown.join(', ')}`);
      if (typeof params.asset_id !== 'string' || !ASSET_ID.test(params.asset_id)) {
        throw new ProtocolError('MALFORMED_CONTENT', 'asset_id must be 1-64 of A-Z a-z 0-9 _ . -');
      }
      return { assetId: params.asset_id, amount: parseAmount(params.amount, 'amount') };
    },
    handle: async ({ assetId, amount }, ctx) =>
      lift.createInvoice({
        owner: ctx.author,
        assetId,
        amount,
        requestId: ctx.requestId,
        requestEventId: ctx.requestEventId,
      }),
  });
}
