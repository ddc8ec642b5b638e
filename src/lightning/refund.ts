// The refund of a land whose payment failed for good: an Ark transaction that spends exactly the
// gateway's land VTXO (owned by the gateway VTXO key, which signs alone) back to the user's own
// VTXO script, with the same sats; the user gets the landed units back as a new VTXO. No
// movement: the units never left circulation (the land movement is booked only on success).
//
// Exactly once, across crashes: the VTXO is locked for `refund:<payment hash>` first; the built
// and signed transaction is stored (`ark_transactions`, kind `refund`) together with the refund
// VTXO id it will create (`lightning_payments.refund_vtxo_id`, conditional on none yet) BEFORE it
// is submitted. A later run finds that id and resumes the same transaction — asks the Ark server
// (`getPendingTx`): finalized → only record it; pending → finalize; unknown → submit again —
// instead of building another. The caller records the result (VTXOs, payment `refunded`, 31341)
// in one transaction with `recordRefundWithin`.
import { hex } from '@scure/base';
import type { Transaction } from 'kysely';
import type { ArkBackend } from '../backends/ark/ark-backend.ts';
import { encodePsbt, parsePsbt, signInputs } from '../backends/ark/psbt.ts';
import type { InventorySigner } from '../ceremony/engine.ts';
import type { CeremonyRecords } from '../ceremony/records.ts';
import { allocationCommitment } from '../domain/allocation-commitment.ts';
import type { VtxoRecord, VtxoStore } from '../ledger/vtxo-store.ts';
import type { Database } from '../store/database.ts';
import type { Schema } from '../store/schema.ts';

type Trx = Transaction<Schema>;

export interface RefundDeps {
  readonly database: Database;
  readonly records: CeremonyRecords;
  readonly vtxos: VtxoStore;
  readonly ark: ArkBackend;
  readonly key: InventorySigner;
  readonly lockTtlMs: number;
  readonly now: () => number;
}

export interface RefundTarget {
  readonly paymentHash: string;
  readonly user: string;
  /** The gateway's land VTXO as the ledger has it. */
  readonly land: VtxoRecord;
  /** lightning_payments.refund_vtxo_id: set once a refund tx was stored. */
  readonly intendedVtxoId: string | null;
}

export interface SubmittedRefund {
  readonly arkTxid: string;
  readonly vout: number;
  readonly sats: bigint;
  readonly scriptHex: string;
  readonly lockId: string;
}

/** A lock id of at most 64 characters (the column's width), unique per payment hash. */
export function refundLockId(paymentHash: string): string {
  return `refund:${paymentHash}`.slice(0, 64);
}

/** Builds (or resumes), submits and finalizes the refund; returns what to record. */
export async function submitRefund(deps: RefundDeps, target: RefundTarget): Promise<SubmittedRefund> {
  const lockId = refundLockId(target.paymentHash);
  // Takes the VTXO (or renews our own lock): nobody else can spend it meanwhile.
  await deps.vtxos.lockForSession(
    lockId,
    [target.land.vtxoId],
    deps.key.pubkey,
    target.land.assetId,
    deps.lockTtlMs,
  );
  const input = { txid: target.land.txid, vout: target.land.vout };
  if (target.intendedVtxoId) {
    const [arkTxid, voutText] = target.intendedVtxoId.split(':');
    const row = await deps.records.arkTx(arkTxid!);
    if (!row) throw new Error(`refund ${arkTxid} is not stored`);
    const lookup = await deps.ark.getPendingTx(arkTxid!, [input]);
    if (lookup.state !== 'finalized') {
      const serverSigned =
        lookup.state === 'pending'
          ? lookup.signedCheckpointPsbts
          : (await deps.ark.submitTx(row.psbt, row.checkpoints)).signedCheckpointPsbts;
      await finalize(deps, arkTxid!, serverSigned);
    }
    const output = parsePsbt(row.psbt).getOutput(Number(voutText));
    return {
      arkTxid: arkTxid!,
      vout: Number(voutText),
      sats: output.amount!,
      scriptHex: hex.encode(output.script!),
      lockId,
    };
  }
  const commitment = allocationCommitment(
    [`refund:${target.paymentHash}`],
    [{ vout: 0, owner: target.user, assetId: target.land.assetId, amount: target.land.amount }],
  );
  const built = await deps.ark.buildTransfer(
    [{ outpoint: input, ownerPubkey: deps.key.pubkey, amount: target.land.sats }],
    [{ ownerPubkey: target.user, amount: target.land.sats }],
    { opReturn: commitment.data },
  );
  const arkTx = parsePsbt(built.arkPsbt);
  signInputs(arkTx, deps.key.secretKey, [0]);
  const signed = encodePsbt(arkTx);
  const out = built.outputs[0]!;
  const now = deps.now();
  await deps.database.db.transaction().execute(async (trx) => {
    const claimed = await trx
      .updateTable('lightning_payments')
      .set({ refund_vtxo_id: `${built.arkTxid}:${out.vout}`, updated_at: now })
      .where('payment_hash', '=', target.paymentHash)
      .where('status', '=', 'failed')
      .where('refund_vtxo_id', 'is', null)
      .executeTakeFirst();
    if (claimed.numUpdatedRows !== 1n)
      throw new Error(`refund of ${target.paymentHash} is already under way`);
    await deps.records.insertArkTx(trx, {
      arkTxid: built.arkTxid,
      ownerId: null,
      batchId: null,
      kind: 'refund',
      status: 'submitted',
      psbt: signed,
      checkpoints: built.checkpointPsbts,
    });
  });
  const submitted = await deps.ark.submitTx(signed, built.checkpointPsbts);
  await finalize(deps, built.arkTxid, submitted.signedCheckpointPsbts);
  return { arkTxid: built.arkTxid, vout: out.vout, sats: out.amount, scriptHex: out.pkScript, lockId };
}

async function finalize(deps: RefundDeps, arkTxid: string, serverSigned: readonly string[]): Promise<void> {
  const checkpoint = parsePsbt(serverSigned[0]!);
  signInputs(checkpoint, deps.key.secretKey, [0]);
  await deps.ark.finalizeTx(arkTxid, [encodePsbt(checkpoint)]);
}

/** Inside the caller's transaction: the land VTXO spent, the user's refund VTXO recorded. */
export async function recordRefundWithin(
  trx: Trx,
  deps: Pick<RefundDeps, 'vtxos' | 'records'>,
  target: RefundTarget,
  refund: SubmittedRefund,
): Promise<VtxoRecord> {
  const { created } = await deps.vtxos.spendWithin(
    trx,
    [{ sessionId: refund.lockId, vtxoIds: [target.land.vtxoId] }],
    refund.arkTxid,
    [
      {
        txid: refund.arkTxid,
        vout: refund.vout,
        ownerPubkey: target.user,
        assetId: target.land.assetId,
        amount: target.land.amount,
        sats: refund.sats,
        status: 'assigned',
        scriptHex: refund.scriptHex,
        expiresAt: target.land.expiresAt,
      },
    ],
  );
  await deps.records.markArkTx(trx, refund.arkTxid, ['submitted'], 'finalized');
  return created[0]!;
}
