// What a land does to the ledger once its Lightning payment is settled, and where its units sit
// until then. The land's Ark transaction pays the landed units to an output owned by the gateway
// VTXO key (role `land`, `assigned`, amount A): the units stay in circulation, held by the
// gateway, while the payment is open. When the payment succeeds they leave circulation — a `land`
// movement of A — and the VTXO's sats join the gateway's inventory (`available`, amount 0); both
// in the transaction that records the success, so the invariant
//   sum(assigned + pending_spend) = mint + lift + refund - land - burn
// holds before and after.
// The retirement itself is VtxoStore.retireWithin (the one writer of VTXO status).
import type { SessionContext } from '../ceremony/context.ts';

export interface LandVtxo {
  readonly vtxoId: string;
  readonly txid: string;
  readonly vout: number;
  readonly assetId: string;
  readonly amount: bigint;
  readonly sats: bigint;
}

/** The land output of a land session's stored context (its plan and the built tx's vouts). */
export function landVtxoOf(arkTxid: string, context: SessionContext): LandVtxo {
  const plan = context.plan;
  const index = plan?.outputs.findIndex((o) => o.role === 'land') ?? -1;
  const vout = context.tx?.vouts[index];
  if (!plan || index < 0 || vout === undefined) {
    throw new Error(`land session of ${context.intent.action_id} has no land output`);
  }
  const output = plan.outputs[index]!;
  return {
    vtxoId: `${arkTxid}:${vout}`,
    txid: arkTxid,
    vout,
    assetId: output.assetId,
    amount: output.amount,
    sats: output.sats,
  };
}
