// The one settlement transaction of a session group whose Ark transaction the Ark server has
// finalized: sessions confirmed (conditional — a second run changes nothing), inputs spent,
// outputs recorded with their colour, fees booked, intents and batch settled, the Ark tx marked
// finalized, and the 31340 queued. The engine runs it after FinalizeTx; the reconciliation runs
// it for a transaction the server finalized without the gateway (a wallet that submitted on its
// own), from whatever state the sessions ended in.
import { commitmentJson } from '../domain/allocation-commitment.ts';
import type { VtxoRecord, VtxoStore } from '../ledger/vtxo-store.ts';
import type { Publisher } from '../nostr/publisher.ts';
import type { SessionState } from '../store/schema.ts';
import type { SessionContext } from './context.ts';
import { SIGNING_STEP, type CeremonyRecords, type Session, type SessionWithTx, type Trx } from './records.ts';

export interface SettledGroup {
  readonly arkTxid: string;
  readonly sessions: readonly Session[];
  readonly contexts: readonly SessionContext[];
  readonly created: readonly VtxoRecord[];
  readonly settledAt: number;
}

export interface SettlementDeps {
  readonly records: CeremonyRecords;
  readonly vtxos: VtxoStore;
  readonly publisher: Publisher;
  /**
   * Runs inside the settlement transaction, after the VTXOs are recorded: what a session type
   * starts once its Ark tx is final (a land's payment row), committed with the settlement or not
   * at all. `announce: false` leaves the 31340 to it.
   */
  readonly onSettled?: (trx: Trx, settled: SettledGroup) => Promise<{ readonly announce: boolean } | void>;
}

/** Thrown inside a transaction when a conditional transition lost: roll back, nothing to do. */
export class Lost extends Error {}

/**
 * Settles `group` (every session moving from one of `from` to `confirmed`) inside `trx`.
 * Throws Lost when another worker settled it first.
 */
export async function settleWithin(
  deps: SettlementDeps,
  trx: Trx,
  group: readonly SessionWithTx[],
  from: readonly SessionState[],
  now: number,
): Promise<SettledGroup | undefined> {
  const head = group[0]!;
  const { plan, tx } = head;
  for (const session of group) {
    const moved = await deps.records.transition(trx, session.sessionId, from, 'confirmed', {
      currentStep: SIGNING_STEP,
      stepsCompleted: [SIGNING_STEP],
      stepDeadlineAt: null,
      completedAt: now,
    });
    if (!moved) throw new Lost();
  }
  const expiresAt = plan.inputs.reduce<number | null>(
    (min, i) => (i.expiresAt === null ? min : min === null ? i.expiresAt : Math.min(min, i.expiresAt)),
    null,
  );
  const fees = plan.outputs.filter((o) => o.role === 'fee');
  const { spent, created } = await deps.vtxos.settleWithin(
    trx,
    plan.inputs.map((i) => i.vtxoId),
    tx.arkTxid,
    plan.outputs.map((o, i) => ({
      txid: tx.arkTxid,
      vout: tx.vouts[i]!,
      ownerPubkey: o.owner,
      assetId: o.assetId,
      amount: o.amount,
      sats: o.sats,
      status: o.status,
      scriptHex: tx.scripts[i] ?? null,
      expiresAt,
      createdByTxid: tx.arkTxid,
    })),
    fees.map((f) => ({
      assetId: f.assetId,
      kind: 'fee' as const,
      amount: f.amount,
      reference: tx.arkTxid,
      arkTxid: tx.arkTxid,
    })),
  );
  // Whatever else a session still holds (a lock a crash left behind) is free again.
  for (const session of group) await deps.vtxos.releaseWithin(trx, session.sessionId);
  await deps.records.markArkTx(trx, tx.arkTxid, ['built', 'submitted', 'failed', 'void'], 'finalized');
  await deps.records.markIntents(
    trx,
    group.map((s) => s.sessionId),
    'settled',
  );
  if (head.batchId) await deps.records.endBatch(trx, head.batchId, 'settled', { arkTxid: tx.arkTxid });
  const contexts = group.map((s) => s.context);
  const settled: SettledGroup = { arkTxid: tx.arkTxid, sessions: group, contexts, created, settledAt: now };
  // A land announces itself once its payment is settled (31340 with the preimage) or failed.
  const hook = await deps.onSettled?.(trx, settled);
  if (hook?.announce === false) {
    // No 31340 yet: the wallet still hears that its transaction is final.
    await deps.publisher.send(
      group.map((s) => progressNotice(deps.publisher, s, 'confirmed', tx.arkTxid)),
      trx,
    );
    return settled;
  }
  const wire = (v: VtxoRecord) => ({
    vtxo_id: v.vtxoId,
    owner: v.ownerPubkey,
    asset_id: v.assetId,
    amount: v.amount.toString(),
  });
  const confirmation = deps.publisher.confirmation({
    intentEventIds: contexts.map((c) => c.intent.event_id),
    parties: [
      ...group.map((s) => s.owner),
      ...plan.outputs.filter((o) => o.role === 'recipient').map((o) => o.owner),
    ],
    d: tx.arkTxid,
    content: {
      action_ids: group.map((s) => s.actionId),
      ark_txid: tx.arkTxid,
      ...(head.batchId ? { batch_id: head.batchId } : {}),
      spent: spent.filter((v) => v.amount > 0n).map(wire),
      created: created.filter((v) => v.amount > 0n).map(wire),
      fees: contexts.map((c) => ({
        asset_id: c.intent.fee.asset_id,
        amount: c.intent.fee.amount,
        payer: c.intent.author,
      })),
      ...(tx.commitment ? { commitment: commitmentJson(tx.commitment) } : {}),
      settled_at: Math.floor(now / 1000),
    },
  });
  await deps.publisher.send([confirmation], trx);
  return settled;
}

/** The 31502 `session_progress` of one session reaching `state` (docs/protocol.md, "Progress"). */
export function progressNotice(
  publisher: Publisher,
  session: Pick<Session, 'sessionId' | 'actionId' | 'owner'>,
  state: 'submitted' | 'confirmed',
  arkTxid: string,
) {
  return publisher.notification(
    { to: session.owner },
    {
      type: 'session_progress',
      session_id: session.sessionId,
      action_id: session.actionId,
      state,
      step: SIGNING_STEP,
      step_total: SIGNING_STEP,
      ark_txid: arkTxid,
    },
    `${session.sessionId}:${state}`,
  );
}
