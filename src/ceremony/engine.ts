// The signing ceremony: one persisted state machine per session (docs/protocol.md, "Signing
// sessions"). A session group — one intent, or every leg of a batch — shares one Ark
// transaction and moves through the states together:
//
//   accepted → ark_tx_prepared → awaiting_signatures → submitted → confirmed
//   (before submission: or failed | expired | cancelled)
//
// `advance()` looks at what is persisted and performs the next effect. Every transition is
// written (conditional update, in the transaction that also queues the events announcing it)
// before its effect leaves the process, so `advance()` can be called again at any time — by the
// response handler, by the sweep job, after a crash — and picks up where things stand.
//
// Nothing reaches the Ark server before every signature the transaction needs is stored: the
// wallets sign the Ark tx and their checkpoints in one step. From `submitted` on the gateway
// needs nobody: it submits, finalizes and settles, asking the Ark server for the pending tx before
// anything is sent twice; such a session is never failed by a timeout and never releases inputs
// the server may hold.
import type { ArkBackend, ArkServerInfo, Outpoint } from '../backends/ark/ark-backend.ts';
import { addSignatures, encodePsbt, parsePsbt, signInputs } from '../backends/ark/psbt.ts';
import { allocationCommitment } from '../domain/allocation-commitment.ts';
import { errorFromCode, ProtocolError } from '../domain/error-codes.ts';
import type { NostrEvent } from '../domain/nostr-protocol.ts';
import type { VtxoStore } from '../ledger/vtxo-store.ts';
import type { Logger } from '../logging.ts';
import type { Publisher } from '../nostr/publisher.ts';
import type { Database } from '../store/database.ts';
import type { IntentStatus, SessionState } from '../store/schema.ts';
import { CHALLENGE_TYPE, challengePayload } from './challenge.ts';
import type { PreparedTx } from './context.ts';
import { judge } from './failures.ts';
import type { Plan } from './planner.ts';
import type { CeremonyRecords } from './records.ts';
import {
  isEnded,
  isPreSubmission,
  mapGroup,
  PRE_SUBMISSION_STATES,
  SIGNING_STEP,
  type EndedState,
  type Group,
  type PreparedSession,
  type Session,
  type SessionWithTx,
  type Trx,
} from './records.ts';
import { Lost, progressNotice, settleWithin, type SettledGroup, type SettlementDeps } from './settlement.ts';

export interface InventorySigner {
  readonly pubkey: string;
  readonly secretKey: Uint8Array;
}

export interface EngineDeps {
  readonly database: Database;
  readonly vtxos: VtxoStore;
  readonly ark: ArkBackend;
  readonly records: CeremonyRecords;
  readonly publisher: Publisher;
  readonly inventoryKey: () => Promise<InventorySigner>;
  readonly stepTimeoutMs: number;
  readonly logger: Logger;
  readonly now?: () => number;
  readonly onSettled?: SettlementDeps['onSettled'];
  /** Plans (selects and locks inputs for) a group whose plan a crash lost before it was stored. */
  readonly replan?: (group: Group) => Promise<void>;
  /** Crash tests: called after each persisted point of the ceremony (see TEST_CRASH_AFTER). */
  readonly crashPoint?: (point: CrashPoint) => void;
}

export type CrashPoint =
  | 'accepted'
  | 'ark_tx_prepared'
  | 'awaiting_signatures'
  | 'answered'
  | 'submitted'
  | 'server_signed'
  | 'finalized'
  | 'confirmed';

/** What monitoring counts (intents by outcome, step latency, fees); set by the composition root. */
export interface CeremonyObserver {
  intent(
    type: string,
    outcome: 'accepted' | 'rejected' | 'settled' | 'failed' | 'expired' | 'cancelled',
  ): void;
  stepAnswered(step: number, seconds: number): void;
  feeCollected(assetId: string, amount: bigint): void;
}

export type { SettledGroup };

/** An `accepted` session without a plan this old lost its planner (a crash) and is planned again. */
const REPLAN_AFTER_MS = 20_000;
/**
 * How long the inputs of a submitted transaction stay locked: they are at the Ark server, and
 * only settlement or the reconciliation (the server no longer holds them) frees them.
 */
export const HELD_BY_SERVER_MS = 365 * 24 * 3_600_000;
const ENDED_INTENT: Record<EndedState, IntentStatus> = {
  failed: 'failed',
  expired: 'expired',
  cancelled: 'cancelled',
};

export class CeremonyEngine {
  readonly records: CeremonyRecords;
  observer: CeremonyObserver | undefined;
  readonly #deps: EngineDeps;
  readonly #now: () => number;
  /** One advance per group at a time in this process (other processes are fenced by the DB). */
  readonly #running = new Map<string, Promise<void>>();
  #info: ArkServerInfo | undefined;

  constructor(deps: EngineDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    this.records = deps.records;
  }

  get now(): number {
    return this.#now();
  }

  get #settlement(): SettlementDeps {
    return { ...this.#deps, records: this.records };
  }

  async serverInfo(): Promise<ArkServerInfo> {
    this.#info ??= await this.#deps.ark.getInfo();
    return this.#info;
  }

  /** Crash tests only: see TEST_CRASH_AFTER. */
  crash(point: CrashPoint): void {
    this.#deps.crashPoint?.(point);
  }

  /** Runs the next effects of the session's group until it waits for a wallet, or ends. */
  async advance(sessionId: string): Promise<void> {
    const head = await this.records.session(sessionId);
    if (!head) return;
    const key = head.batchId ?? head.sessionId;
    const running = this.#running.get(key);
    // The run we wait for may have stopped just before this caller's news arrived: run again.
    if (running) await running.catch(() => undefined);
    const run = this.#advance(sessionId).finally(() => {
      if (this.#running.get(key) === run) this.#running.delete(key);
    });
    this.#running.set(key, run);
    await run;
  }

  async #advance(sessionId: string): Promise<void> {
    for (let step = 0; step < 8; step++) {
      if (!(await this.#step(sessionId))) return;
    }
  }

  /** One effect; true when something moved and the next effect may follow at once. */
  async #step(sessionId: string): Promise<boolean> {
    const head = await this.records.session(sessionId);
    if (!head || !(isPreSubmission(head.state) || head.state === 'submitted')) return false;
    const group = await this.records.group(head);
    const ended = group.find(isEnded);
    if (ended) {
      // A party of a batch failed, timed out or cancelled: so does everyone else.
      await this.fail(group, errorFromCode(ended.error.code, ended.error.message), 'failed');
      return false;
    }
    if (head.state !== 'submitted' && this.#late(group) && !(await this.#allAnswered(group))) {
      await this.fail(
        group,
        new ProtocolError('SESSION_TIMEOUT', 'the signing step was not answered in time'),
        'expired',
      );
      return false;
    }
    try {
      switch (head.state) {
        case 'accepted':
          return await this.#prepare(group);
        case 'ark_tx_prepared':
          return await this.#openChallenges(prepared(group));
        case 'awaiting_signatures':
          return await this.#collect(prepared(group));
        case 'submitted':
          return await this.#submit(prepared(group));
        default:
          return false;
      }
    } catch (error) {
      if (error instanceof Lost) return true;
      const verdict = judge(error);
      // Submitted: the Ark server may hold the inputs; only the server's answer ends it.
      if (verdict.kind === 'retry' || head.state === 'submitted') throw error;
      if (verdict.unexpected) {
        this.#deps.logger.error(
          { err: error, session: head.sessionId },
          'a session failed on an unexpected error',
        );
      }
      await this.fail(group, verdict.reason, 'failed');
      return false;
    }
  }

  #late(group: Group): boolean {
    const now = this.#now();
    return group.some((s) => s.deadlineAt <= now || (s.stepDeadlineAt !== null && s.stepDeadlineAt <= now));
  }

  /** Every party answered the open step: what is left is the gateway's own work. */
  async #allAnswered(group: Group): Promise<boolean> {
    if (group.some((s) => s.state !== 'awaiting_signatures')) return false;
    const challenges = await this.records.challenges(
      group.map((s) => s.sessionId),
      SIGNING_STEP,
    );
    return challenges.length === group.length && challenges.every((c) => c.status === 'answered');
  }

  async #transaction<T>(work: (trx: Trx) => Promise<T>): Promise<T | undefined> {
    try {
      const result = await this.records.transaction(work);
      this.#deps.publisher.flush();
      return result;
    } catch (error) {
      if (error instanceof Lost) return undefined;
      throw error;
    }
  }

  async #move(
    trx: Trx,
    session: Session,
    from: SessionState,
    to: SessionState,
    patch: Parameters<CeremonyRecords['transition']>[4] = {},
  ): Promise<void> {
    if (!(await this.records.transition(trx, session.sessionId, [from], to, patch))) throw new Lost();
  }

  /** accepted → ark_tx_prepared: the Ark tx (with its commitment) and its checkpoints are built and stored. */
  async #prepare(group: Group): Promise<boolean> {
    const [head] = group;
    const plan = head.state === 'accepted' ? head.plan : undefined;
    if (!plan) {
      // The process died between recording the intent and storing its plan. A young session
      // is probably being planned right now by the intake that accepted it: leave it be.
      if (head.updatedAt > this.#now() - REPLAN_AFTER_MS) return false;
      if (!this.#deps.replan) throw new Error(`session ${head.sessionId} has no plan`);
      await this.#deps.replan(group);
      return true;
    }
    const commitment = allocationCommitment(
      group.map((s) => s.actionId),
      plan.outputs.map((o, vout) => ({ vout, owner: o.owner, assetId: o.assetId, amount: o.amount })),
    );
    const built = await this.#deps.ark.buildTransfer(
      plan.inputs.map((i) => ({
        outpoint: { txid: i.txid, vout: i.vout },
        ownerPubkey: i.owner,
        amount: i.sats,
      })),
      plan.outputs.map((o) => ({ ownerPubkey: o.owner, amount: o.sats })),
      { opReturn: commitment.data },
    );
    if (built.opReturnVout !== commitment.vout) {
      throw new Error(
        `the Ark backend put the commitment at vout ${built.opReturnVout}, not ${commitment.vout}`,
      );
    }
    const tx: PreparedTx = {
      arkTxid: built.arkTxid,
      vouts: built.outputs.map((o) => o.vout),
      scripts: built.outputs.map((o) => o.pkScript),
      commitment: { vout: commitment.vout, hash: commitment.hash, preimage: commitment.preimage },
    };
    await this.#transaction(async (trx) => {
      // The transitions first: a second worker preparing the same group loses here (Lost), before
      // it could trip over the first one's transaction row.
      for (const session of group) {
        await this.#move(trx, session, 'accepted', 'ark_tx_prepared', {
          arkTxid: built.arkTxid,
          context: { ...session.context, plan, tx },
        });
      }
      const existing = await this.records.arkTx(built.arkTxid, trx);
      if (existing) throw new Error(`Ark tx ${built.arkTxid} already belongs to ${existing.ownerId}`);
      await this.records.insertArkTx(trx, {
        arkTxid: built.arkTxid,
        ownerId: head.sessionId,
        batchId: head.batchId,
        kind: head.context.kind,
        status: 'built',
        psbt: built.arkPsbt,
        checkpoints: built.checkpointPsbts,
      });
    });
    this.crash('ark_tx_prepared');
    return true;
  }

  /** ark_tx_prepared → awaiting_signatures: one challenge per party (a row and its 31511), one transaction. */
  async #openChallenges(group: Group<PreparedSession>): Promise<boolean> {
    const info = await this.serverInfo();
    const gatewayVtxoPubkey = (await this.#deps.inventoryKey()).pubkey;
    const row = await this.#arkTx(group[0].tx.arkTxid);
    const psbts = [row.psbt, ...row.checkpoints];
    const now = this.#now();
    await this.#transaction(async (trx) => {
      for (const session of group) {
        const stepDeadline = Math.min(now + this.#deps.stepTimeoutMs, session.deadlineAt);
        const payload = challengePayload(session, psbts, info, gatewayVtxoPubkey, stepDeadline);
        const event = this.#deps.publisher.challenge(
          { to: session.owner },
          session.context.intent.event_id,
          payload,
        );
        // The transition first: a second worker opening the same step loses here (Lost).
        await this.#move(trx, session, 'ark_tx_prepared', 'awaiting_signatures', {
          currentStep: SIGNING_STEP,
          stepDeadlineAt: stepDeadline,
          stepsCompleted: [],
        });
        await this.records.insertChallenge(trx, {
          sessionId: session.sessionId,
          step: SIGNING_STEP,
          type: CHALLENGE_TYPE,
          payload,
          eventId: event.id,
          expiresAt: stepDeadline,
        });
        await this.#deps.publisher.send([event], trx);
      }
    });
    this.crash('awaiting_signatures');
    return true;
  }

  /**
   * awaiting_signatures → submitted, once every party answered: the Ark tx and the checkpoints
   * with every owner's signature (and the gateway's, for its inventory inputs) are stored first.
   */
  async #collect(group: Group<PreparedSession>): Promise<boolean> {
    const challenges = await this.records.challenges(
      group.map((s) => s.sessionId),
      SIGNING_STEP,
    );
    if (challenges.length !== group.length || challenges.some((c) => c.status !== 'answered')) return false;
    const { plan, tx } = group[0];
    const row = await this.#arkTx(tx.arkTxid);
    const arkTx = parsePsbt(row.psbt);
    const checkpoints = row.checkpoints.map(parsePsbt);
    for (const challenge of challenges) {
      const owner = group.find((s) => s.sessionId === challenge.session_id)?.owner;
      if (!owner) throw new Error(`challenge ${challenge.challenge_id} is not of this group`);
      const sigs = JSON.parse(challenge.response_json ?? '[]') as {
        input_index: number;
        psbt_index: number;
        sig: string;
      }[];
      for (const s of sigs) {
        const target = s.psbt_index === 0 ? arkTx : checkpointOf(checkpoints, s.psbt_index - 1);
        addSignatures(target, owner, [{ inputIndex: s.input_index, sig: s.sig }]);
      }
    }
    const gatewayInputs = gatewayInputIndexes(plan);
    if (gatewayInputs.length > 0) {
      const key = await this.#deps.inventoryKey();
      signInputs(arkTx, key.secretKey, gatewayInputs);
      for (const index of gatewayInputs) signInputs(checkpointOf(checkpoints, index), key.secretKey, [0]);
    }
    const now = this.#now();
    await this.#transaction(async (trx) => {
      const stored = await this.records.markArkTx(trx, tx.arkTxid, ['built'], 'submitted', {
        psbt: encodePsbt(arkTx),
        checkpoints: checkpoints.map(encodePsbt),
      });
      if (!stored) throw new Lost();
      for (const session of group) {
        await this.#move(trx, session, 'awaiting_signatures', 'submitted', {
          stepsCompleted: [SIGNING_STEP],
          stepDeadlineAt: null,
        });
        await this.#deps.vtxos.holdWithin(trx, session.sessionId, now + HELD_BY_SERVER_MS);
      }
      await this.#deps.publisher.send(
        group.map((s) => progressNotice(this.#deps.publisher, s, 'submitted', tx.arkTxid)),
        trx,
      );
    });
    this.crash('submitted');
    return true;
  }

  /** submitted: SubmitTx (unless the server has it), the owners' checkpoint signatures added, FinalizeTx, settle. */
  async #submit(group: Group<PreparedSession>): Promise<boolean> {
    const { plan, tx } = group[0];
    const row = await this.#arkTx(tx.arkTxid);
    const inputs = outpointsOf(plan);
    const { ark } = this.#deps;
    let lookup = await ark.getPendingTx(tx.arkTxid, inputs);
    if (lookup.state === 'finalized') return this.#settle(group);
    let serverSigned: readonly string[];
    if (lookup.state === 'pending') serverSigned = lookup.signedCheckpointPsbts;
    else {
      try {
        serverSigned = (await ark.submitTx(row.psbt, row.checkpoints)).signedCheckpointPsbts;
      } catch (error) {
        // Another worker may have submitted this very tx a moment ago (both saw it unknown): a
        // refusal then is the server saying it already has it. Ask again before failing anyone.
        lookup = await ark.getPendingTx(tx.arkTxid, inputs);
        if (lookup.state === 'finalized') return this.#settle(group);
        if (lookup.state !== 'pending') return this.#refused(group, error);
        serverSigned = lookup.signedCheckpointPsbts;
      }
      this.crash('server_signed');
    }
    const final = withOwnerSignatures(serverSigned, row.checkpoints);
    try {
      await ark.finalizeTx(tx.arkTxid, final);
    } catch (error) {
      // Finalized by another worker meanwhile, the refusal means nothing is wrong: settle.
      if ((await ark.getPendingTx(tx.arkTxid, inputs)).state !== 'finalized') throw error;
    }
    this.crash('finalized');
    return this.#settle(group);
  }

  /**
   * The Ark server refused the submission and holds nothing of it: a refusal ends the group with
   * its code (its locks released); a daemon that is away leaves it submitted for the sweep.
   */
  async #refused(group: Group<PreparedSession>, error: unknown): Promise<boolean> {
    const verdict = judge(error);
    if (verdict.kind === 'retry') throw error;
    await this.fail(group, verdict.reason, 'failed', ['submitted']);
    return false;
  }

  async #settle(group: Group<PreparedSession>): Promise<boolean> {
    const settled = await this.settleGroup(group, ['submitted']);
    if (settled) this.crash('confirmed');
    return false;
  }

  /**
   * The settlement transaction for a group whose Ark tx the server finalized, from `from`
   * (`submitted`, or for the reconciliation the states sessions ended in). Undefined when
   * another worker settled it first.
   */
  async settleGroup(
    group: Group<SessionWithTx>,
    from: readonly SessionState[],
  ): Promise<SettledGroup | undefined> {
    const now = this.#now();
    const settled = await this.#transaction((trx) => settleWithin(this.#settlement, trx, group, from, now));
    if (!settled) return undefined;
    for (const session of group) {
      this.observer?.intent(session.type, 'settled');
      this.#deps.logger.info(
        {
          session: session.sessionId,
          action: session.actionId,
          type: session.type,
          ark_txid: session.tx.arkTxid,
        },
        'session settled',
      );
    }
    for (const fee of group[0].plan.outputs.filter((o) => o.role === 'fee'))
      this.observer?.feeCollected(fee.assetId, fee.amount);
    return settled;
  }

  async #arkTx(arkTxid: string) {
    const row = await this.records.arkTx(arkTxid);
    if (!row) throw new Error(`Ark tx ${arkTxid} is not stored`);
    return row;
  }

  /**
   * Ends every session of the group still in one of `from` (before submission, unless the caller
   * knows the Ark server refused the tx) with `reason`: locks released, challenges closed,
   * intents marked, a 31341 to each owner — one transaction. True when one of them ended here.
   */
  async fail(
    group: Group,
    reason: ProtocolError,
    state: EndedState,
    from: readonly SessionState[] = PRE_SUBMISSION_STATES,
  ): Promise<boolean> {
    const now = this.#now();
    const error = { code: reason.code, message: reason.message };
    const ended: Session[] = [];
    await this.#transaction(async (trx) => {
      for (const session of group) {
        const moved = await this.records.transition(trx, session.sessionId, from, state, {
          error,
          stepDeadlineAt: null,
          completedAt: now,
        });
        if (!moved) continue;
        ended.push(session);
        await this.#deps.vtxos.releaseWithin(trx, session.sessionId);
        await this.records.markIntents(trx, [session.sessionId], ENDED_INTENT[state], error);
        const notices: NostrEvent[] = [
          this.#deps.publisher.failureNotice(
            session.context.intent.event,
            {
              action_id: session.actionId,
              code: reason.code,
              message: reason.message,
              details: { session_id: session.sessionId, ...(reason.details ?? {}) },
            },
            {},
          ),
        ];
        if (state === 'expired') {
          notices.push(
            this.#deps.publisher.notification(
              { to: session.owner },
              { type: 'session_expired', session_id: session.sessionId, action_id: session.actionId },
              `${session.sessionId}:expired`,
            ),
          );
        }
        await this.#deps.publisher.send(notices, trx);
      }
      if (ended.length === 0) return;
      await this.records.closeChallenges(
        trx,
        ended.map((s) => s.sessionId),
        state === 'expired' ? 'expired' : 'rejected',
      );
      const arkTxid = group.map((s) => s.context.tx?.arkTxid).find((id) => id !== undefined);
      // Kept as `failed`, not forgotten: a wallet holding it could still submit it on its own, and
      // the reconciliation watches for that.
      if (arkTxid)
        await this.records.markArkTx(trx, arkTxid, ['built', 'submitted'], 'failed', {
          error: reason.message,
        });
      if (group[0].batchId) await this.records.endBatch(trx, group[0].batchId, state, { error });
    });
    for (const session of ended) {
      this.observer?.intent(session.type, state);
      this.#deps.logger.info(
        {
          session: session.sessionId,
          action: session.actionId,
          type: session.type,
          state,
          code: reason.code,
        },
        `session ${state}: ${reason.message}`,
      );
    }
    return ended.length > 0;
  }

  /** `cancel {action_id}`: the author's open session for that action, before submission only. */
  async cancel(author: string, actionId: string): Promise<{ cancelled: true; session_id: string }> {
    const session = await this.records.sessionOfAction(author, actionId);
    if (!session) throw new ProtocolError('MALFORMED_CONTENT', `no session for action ${actionId}`);
    if (!isPreSubmission(session.state)) {
      throw new ProtocolError(
        'MALFORMED_CONTENT',
        session.state === 'submitted'
          ? 'too late to cancel: the transaction was submitted'
          : `the session is ${session.state}`,
      );
    }
    const group = await this.records.group(session);
    await this.fail(group, new ProtocolError('CANCELLED', 'cancelled by its author'), 'cancelled');
    const after = await this.records.session(session.sessionId);
    if (after?.state !== 'cancelled')
      throw new ProtocolError('MALFORMED_CONTENT', 'too late to cancel: the transaction was submitted');
    return { cancelled: true, session_id: session.sessionId };
  }
}

/** The group as prepared sessions; a state that promises a built tx but lacks it is a bug. */
function prepared(group: Group): Group<PreparedSession> {
  return mapGroup(group, (s) => {
    if (s.state !== 'ark_tx_prepared' && s.state !== 'awaiting_signatures' && s.state !== 'submitted')
      throw new Error(`session ${s.sessionId} is ${s.state}, not prepared`);
    return s;
  });
}

function checkpointOf<T>(checkpoints: readonly T[], index: number): T {
  const checkpoint = checkpoints[index];
  if (!checkpoint) throw new Error(`there is no checkpoint ${index}`);
  return checkpoint;
}

function gatewayInputIndexes(plan: Plan): number[] {
  return plan.inputs.flatMap((input, i) => (input.gateway ? [i] : []));
}

function outpointsOf(plan: Plan): Outpoint[] {
  return plan.inputs.map((i) => ({ txid: i.txid, vout: i.vout }));
}

/**
 * The checkpoints the server signed, each with the owners' signatures added from ours. The
 * server lists them in any order (arkd keeps them in a map): they are matched by txid, and
 * returned in input order.
 */
function withOwnerSignatures(serverSigned: readonly string[], ours: readonly string[]): string[] {
  const byId = new Map(serverSigned.map((psbt) => [parsePsbt(psbt).id, psbt]));
  return ours.map((psbt, i) => {
    const mine = parsePsbt(psbt);
    const signed = byId.get(mine.id);
    if (!signed) throw new Error(`the Ark server did not sign checkpoint ${i} (${mine.id})`);
    const merged = parsePsbt(signed);
    const sigs = mine.getInput(0).tapScriptSig ?? [];
    if (sigs.length > 0) merged.updateInput(0, { tapScriptSig: sigs });
    return encodePsbt(merged);
  });
}
