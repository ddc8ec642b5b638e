// What a land does to the ledger once its Lightning payment is settled, and where its units sit
// until then. The land's Ark transaction pays the landed units to an output owned by the gateway
// VTXO key (role `land`, `assigned`, amount A): the units stay in circulation, held by the
// gateway, while the payment is open. When the payment succeeds they leave circulation — a `land`
// movement of A — and the VTXO's sats join the gateway's inventory (`available`, amount 0); both
// in the transaction that records the success, so the invariant
//   sum(assigned + pending_spend) = mint + lift + refund - land - burn
// holds before and after.
//
// `retireToInventory` belongs in VtxoStore (the one writer of VTXO status); until it moves there,
// it is this one conditional update, which repeats every expected fact in its WHERE.
import { sql, type Transaction } from 'kysely';
import type { SessionContext } from '../ceremony/context.ts';
import type { Schema, VtxoStatus } from '../store/schema.ts';

type Trx = Transaction<Schema>;

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
  const vout = context.vouts?.[index];
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

/**
 * The gateway's land VTXO (`assigned`, owned by `gatewayPubkey`, holding exactly `amount` of
 * `assetId`) becomes inventory of `inventoryAssetId`: `available`, amount 0, its sats kept.
 * False when the row is not in that state (already retired, refunded, or not this land's).
 */
export async function retireToInventory(
  trx: Trx,
  vtxo: { readonly vtxoId: string; readonly assetId: string; readonly amount: bigint },
  gatewayPubkey: string,
  inventoryAssetId: string,
  now: number,
): Promise<boolean> {
  const result = await trx
    .updateTable('vtxos')
    .set({
      status: 'available' satisfies VtxoStatus,
      asset_id: inventoryAssetId,
      amount: 0n,
      locked_by_session: null,
      locked_at: null,
      lock_expires_at: null,
      updated_at: now,
      version: sql<number>`version + 1`,
    })
    .where('vtxo_id', '=', vtxo.vtxoId)
    .where('status', '=', 'assigned')
    .where('owner_pubkey', '=', gatewayPubkey)
    .where('asset_id', '=', vtxo.assetId)
    .where('amount', '=', vtxo.amount)
    .where('sats', '>', 0n)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}
