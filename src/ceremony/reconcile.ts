// The ledger follows the Ark server (docs/ledger.md, "Reconciliation"). A wallet holds the Ark
// transaction it was asked to sign, so it can submit it to the Ark server on its own, around the
// gateway — only a transaction without gateway inventory inputs, since the gateway signs those
// only when it submits itself. This compares what the ledger could get wrong with the server:
//
// - Ark transactions the gateway built whose sessions ended before submission (`failed`): the
//   server finalized one → it is settled as built (its commitment says how); the server holds one
//   pending → its inputs stay locked (`ark:<txid>`, see serverHold), never spendable; the server does not know it
//   and one of its inputs was spent or expired in the ledger → it never can be valid (`void`).
// - Locks whose holder is no open session (left by a crash, or held for the server): released only
//   when the server no longer holds the VTXO.
//
// It runs in the ceremony sweep (LEDGER_RECONCILE_INTERVAL_MS) and on demand
// (`POST /admin/ledger/reconcile`). Everything it changes goes through the conditional updates of
// the ledger and the ceremony, so two runs at once are harmless.
import type { ArkBackend, ArkVtxo } from '../backends/ark/ark-backend.ts';
import type { VtxoStore } from '../ledger/vtxo-store.ts';
import type { Logger } from '../logging.ts';
import { HELD_BY_SERVER_MS, type CeremonyEngine } from './engine.ts';
import { ENDED_STATES, hasTx, mapGroup, PRE_SUBMISSION_STATES, withTx, type ArkTxRecord } from './records.ts';

export interface ReconcileDeps {
  readonly engine: CeremonyEngine;
  readonly vtxos: VtxoStore;
  readonly ark: ArkBackend;
  readonly logger: Logger;
  readonly now?: () => number;
}

export interface ReconcileReport {
  readonly checkedAt: number;
  readonly transactions: {
    readonly checked: number;
    /** Finalized by the server without the gateway: now settled in the ledger. */
    readonly settled: readonly string[];
    /** Pending at the server: their inputs are held. */
    readonly held: readonly string[];
    /** Can never be submitted any more: no longer watched. */
    readonly voided: readonly string[];
  };
  readonly locks: {
    readonly checked: number;
    readonly released: readonly string[];
    readonly held: readonly string[];
  };
  /**
   * What the ledger cannot explain (a VTXO the server says a stranger's tx spent), or could not
   * finish (an error on one transaction: the others are still looked at). `subject` is a VTXO id
   * or an Ark txid.
   */
  readonly problems: readonly Problem[];
}

export interface Problem {
  readonly subject: string;
  readonly problem: string;
}

/**
 * The lock holder of VTXOs the Ark server holds in a pending tx the gateway did not submit
 * (at most 64 characters, the column's width: 240 bits of the txid are plenty to tell them apart).
 */
export const serverHold = (arkTxid: string) => `ark:${arkTxid}`.slice(0, 64);

const DEFAULT_LIMIT = 50;

export class Reconciler {
  readonly #deps: ReconcileDeps;
  readonly #now: () => number;

  constructor(deps: ReconcileDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
  }

  async run(limit = DEFAULT_LIMIT): Promise<ReconcileReport> {
    const settled: string[] = [];
    const heldTxs: string[] = [];
    const voided: string[] = [];
    const problems: Problem[] = [];
    const records = this.#deps.engine.records;
    const txs = await records.unsettledArkTxs(limit);
    for (const tx of txs) {
      const outcome = await this.#transaction(tx).catch((error: unknown) => {
        this.#deps.logger.error({ err: error, arkTxid: tx.arkTxid }, 'reconciling an Ark tx failed');
        problems.push({ subject: tx.arkTxid, problem: `not reconciled: ${(error as Error).message}` });
        return 'unchanged' as const;
      });
      if (outcome === 'settled') settled.push(tx.arkTxid);
      else if (outcome === 'held') heldTxs.push(tx.arkTxid);
      else if (outcome === 'void') voided.push(tx.arkTxid);
    }
    const locks = await this.#locks(limit, problems);
    const report: ReconcileReport = {
      checkedAt: this.#now(),
      transactions: { checked: txs.length, settled, held: heldTxs, voided },
      locks,
      problems,
    };
    if (settled.length > 0 || heldTxs.length > 0 || problems.length > 0) {
      this.#deps.logger.warn(
        reconcileJson(report),
        'the Ark server knew what the ledger did not; reconciled',
      );
    }
    return report;
  }

  /** One Ark tx of an ended group: what the server made of it. */
  async #transaction(tx: ArkTxRecord): Promise<'settled' | 'held' | 'void' | 'unchanged'> {
    const { engine, vtxos, ark } = this.#deps;
    const records = engine.records;
    const head = tx.ownerId ? await records.session(tx.ownerId) : undefined;
    if (!head || !head.context.tx || !head.context.plan) {
      await records.markArkTx(undefined, tx.arkTxid, ['failed'], 'void', {
        error: 'no session to settle it',
      });
      return 'void';
    }
    const group = await records.group(head);
    if (group.some((s) => !(ENDED_STATES as readonly string[]).includes(s.state))) {
      await records.touchArkTx(tx.arkTxid); // still the engine's
      return 'unchanged';
    }
    const plan = head.context.plan;
    const inputs = plan.inputs.map((i) => ({ txid: i.txid, vout: i.vout }));
    const ids = plan.inputs.map((i) => i.vtxoId);
    // Only the gateway can sign its inventory inputs, and it did not: nobody can submit this tx.
    if (plan.inputs.some((i) => i.gateway)) {
      await records.markArkTx(undefined, tx.arkTxid, ['failed'], 'void');
      return 'void';
    }
    const lookup = await ark.getPendingTx(tx.arkTxid, inputs);
    if (lookup.state === 'finalized') {
      if (!group.every(hasTx)) return 'unchanged';
      const done = await engine.settleGroup(mapGroup(group, withTx), [
        ...ENDED_STATES,
        ...PRE_SUBMISSION_STATES,
      ]);
      return done ? 'settled' : 'unchanged';
    }
    if (lookup.state === 'pending') {
      // This tx, or another one spending the same inputs that their owner made on its own.
      await vtxos.holdForServer(ids, serverHold(lookup.arkTxid), this.#now() + HELD_BY_SERVER_MS);
      await records.touchArkTx(tx.arkTxid);
      return 'held';
    }
    await vtxos.releaseVtxos(ids, serverHold(tx.arkTxid));
    const current = await Promise.all(ids.map((id) => vtxos.get(id)));
    if (current.some((v) => !v || v.status === 'spent' || v.status === 'expired')) {
      await records.markArkTx(undefined, tx.arkTxid, ['failed'], 'void');
      return 'void';
    }
    await records.touchArkTx(tx.arkTxid);
    return 'unchanged';
  }

  /** Locks no open session holds: released unless the server holds the VTXO. */
  async #locks(limit: number, problems: Problem[]): Promise<ReconcileReport['locks']> {
    const { engine, vtxos, ark } = this.#deps;
    const orphans = await engine.records.orphanLocks(limit);
    const released: string[] = [];
    const held: string[] = [];
    if (orphans.length === 0) return { checked: 0, released, held };
    const known = new Map<string, ArkVtxo>(
      (await ark.listVtxos({ outpoints: orphans.map((v) => ({ txid: v.txid, vout: v.vout })) })).map((v) => [
        `${v.outpoint.txid}:${v.outpoint.vout}`,
        v,
      ]),
    );
    for (const vtxo of orphans) {
      const server = known.get(vtxo.vtxoId);
      if (server?.pendingBy) {
        await vtxos.holdForServer(
          [vtxo.vtxoId],
          serverHold(server.pendingBy),
          this.#now() + HELD_BY_SERVER_MS,
        );
        held.push(vtxo.vtxoId);
      } else if (server?.spent) {
        // Settled above when the spender is one of the gateway's transactions; else a stranger's.
        problems.push({
          subject: vtxo.vtxoId,
          problem: `the Ark server has it spent by ${server.spentBy ?? 'an unknown transaction'}, unknown to the ledger`,
        });
      } else if ((await vtxos.releaseVtxos([vtxo.vtxoId], vtxo.lockedBy)) === 1) {
        released.push(vtxo.vtxoId);
      }
    }
    return { checked: orphans.length, released, held };
  }
}

/** The report as JSON, times in ISO 8601. */
export function reconcileJson(report: ReconcileReport) {
  return {
    checked_at: new Date(report.checkedAt).toISOString(),
    transactions: {
      checked: report.transactions.checked,
      settled: [...report.transactions.settled],
      held: [...report.transactions.held],
      voided: [...report.transactions.voided],
    },
    locks: {
      checked: report.locks.checked,
      released: [...report.locks.released],
      held: [...report.locks.held],
    },
    problems: report.problems.map((p) => ({ ...p })),
  };
}
