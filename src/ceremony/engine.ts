// The signing ceremony: one persisted state machine per session (docs/protocol.md, "Signing
// sessions"). A session group — one intent, or every leg of a batch — shares one Ark
// transaction and moves through the states together:
//
//   accepted → ark_tx_prepared → awaiting_ark_signatures → submitted
//            → awaiting_checkpoint_signatures → confirmed        (or failed | expired | cancelled)
//
// `advance()` looks at what is persisted and performs the next effect. Every transition is
// written (conditional update, in the transaction that also queues the events announcing it)
// before its effect leaves the process, so `advance()` can be called again at any time — by the
// response handler, by the sweep job, after a crash — and picks up where things stand. The Ark
// server is asked for the pending tx before anything is submitted twice; settlement is one
// conditional transaction, so a group never settles twice.
import { randomUUID } from 'node:crypto';
import type { ArkBackend, ArkServerInfo } from '../backends/ark/ark-backend.ts';
import { addSignatures, encodePsbt, parsePsbt, signInputs } from '../backends/ark/psbt.ts';
import { BackendError } from '../backends/types.ts';
import { errorFromCode, ProtocolError } from '../domain/error-codes.ts';
import type { NostrEvent } from '../domain/nostr-protocol.ts';
import type { Logger } from '../logging.ts';
import type { VtxoRecord, VtxoStore } from '../ledger/vtxo-store.ts';
import type { Publisher } from '../nostr/publisher.ts';
import type { Database } from '../store/database.ts';
import type { IntentStatus, SessionState, SigningSession } from '../store/schema.ts';
import { describePlan, ownerSighashes, payloadRef, serverContext, type ChallengeType } from './challenge.ts';
import { fromStored, toStored, type SessionContext } from './context.ts';
import type { Plan } from './planner.ts';
import { CANCELLABLE_STATES, OPEN_STATES, SessionStore, type Trx } from './session-store.ts';

export interface InventorySigner {
  readonly pubkey: string;
  readonly secretKey: Uint8Array;
}

export interface EngineDeps {
  readonly database: Database;
  readonly vtxos: VtxoStore;
  readonly ark: ArkBackend;
  readonly publisher: Publisher;
  readonly inventoryKey: () => Promise<InventorySigner>;
  readonly stepTimeoutMs: number;
  readonly logger: Logger;
  readonly now?: () => number;
  /**
   * Runs inside the settlement transaction, after the VTXOs are recorded: what a session type
   * starts once its Ark tx is final (a land's payment row), committed with the settlement or not
   * at all. `announce: false` leaves the 31340 to it.
   */
  readonly onSettled?: (trx: Trx, settled: SettledGroup) => Promise<{ readonly announce: boolean } | void>;
  /** Plans (selects and locks inputs for) a group whose plan a crash lost before it was stored. */
  readonly replan?: (group: readonly SigningSession[]) => Promise<void>;
  /** Crash tests: called after each persisted point of the ceremony (see TEST_CRASH_AFTER). */
  readonly crashPoint?: (point: CrashPoint) => void;
}

export type CrashPoint =
  | 'accepted'
  | 'ark_tx_prepared'
  | 'awaiting_ark_signatures'
  | 'answered'
  | 'submitted'
  | 'server_signed'
  | 'awaiting_checkpoint_signatures'
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

export interface SettledGroup {
  readonly arkTxid: string;
  readonly sessions: readonly SigningSession[];
  readonly contexts: readonly SessionContext[];
  readonly created: readonly VtxoRecord[];
  readonly settledAt: number;
}

/** Thrown inside a transaction when a conditional transition lost: roll back, nothing to do. */
class Lost extends Error {}

const STEP_TOTAL = 2;
/** Step 1 done (the signed Ark tx goes to the Ark server); step 2 done (settled). */
const PROGRESS_STATES: readonly SessionState[] = ['submitted', 'confirmed'];
/** An `accepted` session without a plan this old lost its planner (a crash) and is planned again. */
const REPLAN_AFTER_MS = 20_000;
const FAILED_INTENT: Record<'failed' | 'expired' | 'cancelled', IntentStatus> = {
  failed: 'failed',
  expired: 'expired',
  cancelled: 'cancelled',
};

export class CeremonyEngine {
  readonly store: SessionStore;
  observer: CeremonyObserver | undefined;
  readonly #deps: EngineDeps;
  readonly #now: () => number;
  /** One advance per group at a time in this process (other processes are fenced by the DB). */
  readonly #running = new Map<string, Promise<void>>();
  #info: ArkServerInfo | undefined;

  constructor(deps: EngineDeps) {
    this.#deps = deps;
    this.store = new SessionStore(deps.database);
    this.#now = deps.now ?? Date.now;
  }

  get now(): number {
    return this.#now();
  }

  async serverInfo(): Promise<ArkServerInfo> {
    this.#info ??= await this.#deps.ark.getInfo();
    return this.#info;
  }

  /** Runs the next effects of the session's group until it waits for a wallet, or ends. */
  async advance(sessionId: string): Promise<void> {
    const head = await this.store.get(sessionId);
    if (!head) return;
    const key = head.batch_id ?? head.session_id;
    const running = this.#running.get(key);
    if (running) {
      await running.catch(() => undefined);
      // The run we waited for may have stopped just before this caller's news arrived.
    }
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

  /** One effect; true when something moved and the next step may follow at once. */
  async #step(sessionId: string): Promise<boolean> {
    const head = await this.store.get(sessionId);
    if (!head || !OPEN_STATES.includes(head.state)) return false;
    const group = await this.store.group(head);
    const ended = group.find((s) => !OPEN_STATES.includes(s.state) && s.state !== 'confirmed');
    if (ended) {
      // A party of a batch failed, timed out or cancelled: so does everyone else.
      await this.fail(group, errorFromCode(ended.error_code, ended.error_message), 'failed');
      return false;
    }
    const now = this.#now();
    const late = group.find(
      (s) => s.deadline_at <= now || (s.step_deadline_at !== null && s.step_deadline_at <= now),
    );
    // Past a deadline a group fails — unless the wallets have all answered the open step (what
    // is left is the gateway's own work, possibly already at the Ark server) or it was submitted.
    if (late && head.state !== 'submitted' && !(await this.#stepAnswered(group, head))) {
      await this.fail(
        group,
        new ProtocolError('SESSION_TIMEOUT', 'a signing step was not answered in time'),
        'expired',
      );
      return false;
    }
    try {
      switch (head.state) {
        case 'accepted':
          return await this.#prepare(group);
        case 'ark_tx_prepared':
          return await this.#openStep(group, 1, 'ark_tx_prepared', 'awaiting_ark_signatures');
        case 'awaiting_ark_signatures':
          return await this.#signArkTx(group);
        case 'submitted':
          return await this.#submit(group);
        case 'awaiting_checkpoint_signatures':
          return await this.#finalize(group);
        default:
          return false;
      }
    } catch (error) {
      if (error instanceof Lost) return true;
      if (error instanceof ProtocolError) {
        await this.fail(group, error, 'failed');
        return false;
      }
      if (error instanceof BackendError && !error.retryable) {
        const reason =
          error.kind === 'already_spent'
            ? new ProtocolError('VTXO_SPENT', error.message)
            : error.toProtocolError();
        await this.fail(group, reason, 'failed');
        return false;
      }
      // A daemon that is down or slow: the group stays where it is; the sweep tries again.
      throw error;
    }
  }

  async #stepAnswered(group: readonly SigningSession[], head: SigningSession): Promise<boolean> {
    const step =
      head.state === 'awaiting_ark_signatures' ? 1 : head.state === 'awaiting_checkpoint_signatures' ? 2 : 0;
    if (step === 0) return false;
    const challenges = await this.store.challenges(
      group.map((s) => s.session_id),
      step,
    );
    return challenges.length === group.length && challenges.every((c) => c.status === 'answered');
  }

  async #transaction<T>(work: (trx: Trx) => Promise<T>): Promise<T | undefined> {
    try {
      const result = await this.#deps.database.db.transaction().execute(work);
      this.#deps.publisher.flush();
      return result;
    } catch (error) {
      if (error instanceof Lost) return undefined;
      throw error;
    }
  }

  async #move(
    trx: Trx,
    session: SigningSession,
    from: SessionState,
    to: SessionState,
    patch: Parameters<SessionStore['transition']>[5] = {},
  ): Promise<void> {
    if (!(await this.store.transition(trx, session.session_id, [from], to, this.#now(), patch)))
      throw new Lost();
    // One progress notice per completed step: the challenges already announce each open step,
    // and every extra event costs a signature, an encryption and a relay write.
    if (!PROGRESS_STATES.includes(to)) return;
    await this.#deps.publisher.send(
      [
        this.#deps.publisher.notification(
          { to: session.owner_pubkey },
          {
            type: 'session_progress',
            session_id: session.session_id,
            action_id: session.action_id,
            state: to,
            step: patch.current_step ?? session.current_step,
            step_total: STEP_TOTAL,
            ark_txid: patch.ark_txid ?? session.ark_txid,
          },
          `${session.session_id}:${to}`,
        ),
      ],
      trx,
    );
  }

  /** accepted → ark_tx_prepared: the Ark tx and its checkpoints are built and stored. */
  async #prepare(group: readonly SigningSession[]): Promise<boolean> {
    const context = fromStored(group[0]!.context_json);
    const plan = context.plan;
    if (!plan) {
      // The process died between recording the intent and storing its plan. A young session
      // is probably being planned right now by the intake that accepted it: leave it be.
      if (Number(group[0]!.updated_at) > this.#now() - REPLAN_AFTER_MS) return false;
      if (!this.#deps.replan) throw new Error(`session ${group[0]!.session_id} has no plan`);
      await this.#deps.replan(group);
      return true;
    }
    const built = await this.#deps.ark.buildTransfer(
      plan.inputs.map((i) => ({
        outpoint: { txid: i.txid, vout: i.vout },
        ownerPubkey: i.owner,
        amount: i.sats,
      })),
      plan.outputs.map((o) => ({ ownerPubkey: o.owner, amount: o.sats })),
    );
    const vouts = built.outputs.map((o) => o.vout);
    const scripts = built.outputs.map((o) => o.pkScript);
    const now = this.#now();
    await this.#transaction(async (trx) => {
      await trx
        .insertInto('ark_transactions')
        .values({
          ark_txid: built.arkTxid,
          session_id: group[0]!.session_id,
          batch_id: group[0]!.batch_id,
          tx_kind: context.kind,
          status: 'built',
          ark_psbt: built.arkPsbt,
          checkpoint_psbts_json: JSON.stringify(built.checkpointPsbts),
          created_at: now,
          updated_at: now,
        })
        .execute();
      for (const session of group) {
        const mine = fromStored(session.context_json);
        await this.#move(trx, session, 'accepted', 'ark_tx_prepared', {
          ark_txid: built.arkTxid,
          context_json: toStored({ ...mine, vouts, scripts, unsignedArkPsbt: built.arkPsbt }),
        });
      }
    });
    this.crash('ark_tx_prepared');
    return true;
  }

  /** Crash tests only: see TEST_CRASH_AFTER. */
  crash(point: CrashPoint): void {
    this.#deps.crashPoint?.(point);
  }

  /** Opens `step` for every session of the group: a challenge row and its 31511, one transaction. */
  async #openStep(
    group: readonly SigningSession[],
    step: 1 | 2,
    from: SessionState,
    to: SessionState,
    checkpointPsbts?: readonly string[],
    before?: (trx: Trx) => Promise<void>,
  ): Promise<boolean> {
    const info = await this.serverInfo();
    const gatewayVtxoPubkey = (await this.#deps.inventoryKey()).pubkey;
    const now = this.#now();
    await this.#transaction(async (trx) => {
      await before?.(trx);
      for (const session of group) {
        const context = fromStored(session.context_json);
        const psbts = step === 1 ? [context.unsignedArkPsbt!] : [...checkpointPsbts!];
        const stepDeadline = Math.min(now + this.#deps.stepTimeoutMs, session.deadline_at);
        const type: ChallengeType = step === 1 ? 'sign_ark_tx' : 'sign_checkpoint_txs';
        const payload = {
          session_id: session.session_id,
          step,
          step_total: STEP_TOTAL,
          type,
          ...(step === 1 ? { psbt: psbts[0] } : { psbts }),
          sighashes: ownerSighashes(psbts, session.owner_pubkey),
          payload_ref: payloadRef(step, psbts),
          domain: step === 1 ? 'ark_tx' : 'checkpoint_txs',
          context: {
            human: context.human,
            action_id: session.action_id,
            type: context.intent.type,
            params: context.intent.params,
            fee: context.intent.fee,
            ark_txid: session.ark_txid,
            ...(session.batch_id ? { batch_id: session.batch_id } : {}),
            ...serverContext(info),
            gateway_vtxo_pubkey: gatewayVtxoPubkey,
            ...describePlan(context.plan!, context.vouts!),
          },
          expires_at: Math.floor(stepDeadline / 1000),
        };
        const event = this.#deps.publisher.challenge(
          { to: session.owner_pubkey },
          context.intent.event_id,
          payload,
        );
        await trx
          .insertInto('signing_challenges')
          .values({
            challenge_id: randomUUID(),
            session_id: session.session_id,
            step,
            challenge_type: type,
            payload_json: JSON.stringify(payload),
            event_id: event.id,
            status: 'open',
            expires_at: stepDeadline,
            created_at: now,
          })
          .execute();
        await this.#deps.publisher.send([event], trx);
        await this.#move(trx, session, from, to, {
          current_step: step,
          step_deadline_at: stepDeadline,
          steps_completed_json: JSON.stringify(step === 1 ? [] : [1]),
        });
      }
    });
    this.crash(
      to === 'awaiting_ark_signatures' ? 'awaiting_ark_signatures' : 'awaiting_checkpoint_signatures',
    );
    return true;
  }

  /** awaiting_ark_signatures → submitted, once every party answered: the signed tx is stored first. */
  async #signArkTx(group: readonly SigningSession[]): Promise<boolean> {
    const challenges = await this.store.challenges(
      group.map((s) => s.session_id),
      1,
    );
    if (challenges.length !== group.length || challenges.some((c) => c.status !== 'answered')) return false;
    const context = fromStored(group[0]!.context_json);
    const tx = parsePsbt(context.unsignedArkPsbt!);
    for (const challenge of challenges) {
      const owner = group.find((s) => s.session_id === challenge.session_id)!.owner_pubkey;
      const sigs = JSON.parse(challenge.response_json!) as { input_index: number; sig: string }[];
      addSignatures(
        tx,
        owner,
        sigs.map((s) => ({ inputIndex: s.input_index, sig: s.sig })),
      );
    }
    const gatewayInputs = gatewayInputIndexes(context.plan!);
    if (gatewayInputs.length > 0) signInputs(tx, (await this.#deps.inventoryKey()).secretKey, gatewayInputs);
    const signed = encodePsbt(tx);
    const now = this.#now();
    await this.#transaction(async (trx) => {
      await trx
        .updateTable('ark_transactions')
        .set({ ark_psbt: signed, status: 'submitted', submitted_at: now, updated_at: now })
        .where('ark_txid', '=', group[0]!.ark_txid!)
        .where('status', 'in', ['built', 'submitted'])
        .execute();
      for (const session of group) {
        await this.#move(trx, session, 'awaiting_ark_signatures', 'submitted', {
          steps_completed_json: JSON.stringify([1]),
          step_deadline_at: null,
        });
      }
    });
    this.crash('submitted');
    return true;
  }

  /** submitted → awaiting_checkpoint_signatures: SubmitTx (or the pending tx after a crash). */
  async #submit(group: readonly SigningSession[]): Promise<boolean> {
    const arkTxid = group[0]!.ark_txid!;
    const row = await this.#deps.database.db
      .selectFrom('ark_transactions')
      .selectAll()
      .where('ark_txid', '=', arkTxid)
      .executeTakeFirstOrThrow();
    const plan = fromStored(group[0]!.context_json).plan!;
    const inputs = plan.inputs.map((i) => ({ txid: i.txid, vout: i.vout }));
    const lookup = await this.#deps.ark.getPendingTx(arkTxid, inputs);
    if (lookup.state === 'finalized') return this.#settle(group, 'submitted');
    let serverSigned: readonly string[];
    if (lookup.state === 'pending') serverSigned = lookup.signedCheckpointPsbts;
    else {
      const unsignedCheckpoints = JSON.parse(row.checkpoint_psbts_json!) as string[];
      try {
        serverSigned = (await this.#deps.ark.submitTx(row.ark_psbt, unsignedCheckpoints))
          .signedCheckpointPsbts;
      } catch (error) {
        // Another worker may have submitted this very tx a moment ago (both saw it unknown): a
        // refusal then is the server saying it already has it. Ask again before failing anyone.
        const again = await this.#deps.ark.getPendingTx(arkTxid, inputs);
        if (again.state === 'finalized') return this.#settle(group, 'submitted');
        if (again.state !== 'pending') throw error;
        serverSigned = again.signedCheckpointPsbts;
      }
      this.crash('server_signed');
    }
    await this.#openStep(
      group,
      2,
      'submitted',
      'awaiting_checkpoint_signatures',
      serverSigned,
      async (trx) => {
        await trx
          .updateTable('ark_transactions')
          .set({ checkpoint_psbts_json: JSON.stringify(serverSigned), updated_at: this.#now() })
          .where('ark_txid', '=', arkTxid)
          .execute();
      },
    );
    return true;
  }

  /** Once every party signed its checkpoints: FinalizeTx (idempotent), then settle. */
  async #finalize(group: readonly SigningSession[]): Promise<boolean> {
    const challenges = await this.store.challenges(
      group.map((s) => s.session_id),
      2,
    );
    if (challenges.length !== group.length || challenges.some((c) => c.status !== 'answered')) return false;
    const arkTxid = group[0]!.ark_txid!;
    const row = await this.#deps.database.db
      .selectFrom('ark_transactions')
      .select(['checkpoint_psbts_json'])
      .where('ark_txid', '=', arkTxid)
      .executeTakeFirstOrThrow();
    const checkpoints = (JSON.parse(row.checkpoint_psbts_json!) as string[]).map(parsePsbt);
    for (const challenge of challenges) {
      const owner = group.find((s) => s.session_id === challenge.session_id)!.owner_pubkey;
      const sigs = JSON.parse(challenge.response_json!) as {
        input_index: number;
        psbt_index: number;
        sig: string;
      }[];
      for (const s of sigs)
        addSignatures(checkpoints[s.psbt_index]!, owner, [{ inputIndex: s.input_index, sig: s.sig }]);
    }
    const plan = fromStored(group[0]!.context_json).plan!;
    const gatewayInputs = gatewayInputIndexes(plan);
    if (gatewayInputs.length > 0) {
      const key = await this.#deps.inventoryKey();
      for (const index of gatewayInputs) signInputs(checkpoints[index]!, key.secretKey, [0]);
    }
    try {
      await this.#deps.ark.finalizeTx(arkTxid, checkpoints.map(encodePsbt));
    } catch (error) {
      // Finalized by another worker meanwhile, the refusal means nothing is wrong: settle.
      // Failing here would release inputs the server has already spent.
      const inputs = plan.inputs.map((i) => ({ txid: i.txid, vout: i.vout }));
      if ((await this.#deps.ark.getPendingTx(arkTxid, inputs)).state !== 'finalized') throw error;
    }
    this.crash('finalized');
    return this.#settle(group, 'awaiting_checkpoint_signatures');
  }

  /**
   * The one settlement transaction: sessions confirmed (conditional — a second run changes
   * nothing), inputs spent, outputs recorded with their colour, fees booked, intents settled,
   * the Ark tx finalized, and the 31340 queued.
   */
  async #settle(group: readonly SigningSession[], from: SessionState): Promise<boolean> {
    const context = fromStored(group[0]!.context_json);
    const plan = context.plan!;
    const arkTxid = group[0]!.ark_txid!;
    const now = this.#now();
    const expiresAt = plan.inputs.reduce<number | null>(
      (min, i) => (i.expiresAt === null ? min : min === null ? i.expiresAt : Math.min(min, i.expiresAt)),
      null,
    );
    await this.#transaction(async (trx) => {
      for (const session of group) {
        await this.#move(trx, session, from, 'confirmed', {
          current_step: STEP_TOTAL,
          steps_completed_json: JSON.stringify([1, 2]),
          step_deadline_at: null,
          completed_at: now,
        });
      }
      const fees = plan.outputs.filter((o) => o.role === 'fee');
      const bySession = new Map<string, string[]>();
      for (const input of plan.inputs)
        bySession.set(input.sessionId, [...(bySession.get(input.sessionId) ?? []), input.vtxoId]);
      const { spent, created } = await this.#deps.vtxos.spendWithin(
        trx,
        [...bySession].map(([sessionId, vtxoIds]) => ({ sessionId, vtxoIds })),
        arkTxid,
        plan.outputs.map((o, i) => ({
          txid: arkTxid,
          vout: context.vouts![i]!,
          ownerPubkey: o.owner,
          assetId: o.assetId,
          amount: o.amount,
          sats: o.sats,
          status: o.status,
          scriptHex: context.scripts?.[i] ?? null,
          expiresAt,
          createdByTxid: arkTxid,
        })),
        fees.map((f) => ({
          assetId: f.assetId,
          kind: 'fee' as const,
          amount: f.amount,
          reference: arkTxid,
          arkTxid,
        })),
      );
      await trx
        .updateTable('ark_transactions')
        .set({ status: 'finalized', finalized_at: now, updated_at: now })
        .where('ark_txid', '=', arkTxid)
        .execute();
      await trx
        .updateTable('intents')
        .set({ status: 'settled', updated_at: now })
        .where(
          'session_id',
          'in',
          group.map((s) => s.session_id),
        )
        .execute();
      if (group[0]!.batch_id) {
        await trx
          .updateTable('batches')
          .set({ status: 'settled', ark_txid: arkTxid, completed_at: now, updated_at: now })
          .where('batch_id', '=', group[0]!.batch_id)
          .execute();
      }
      const contexts = group.map((s) => fromStored(s.context_json));
      // A land announces itself once its payment is settled (31340 with the preimage) or failed.
      const hook = await this.#deps.onSettled?.(trx, {
        arkTxid,
        sessions: group,
        contexts,
        created,
        settledAt: now,
      });
      if (hook?.announce === false) return;
      const wire = (v: { vtxoId: string; ownerPubkey: string; assetId: string; amount: bigint }) => ({
        vtxo_id: v.vtxoId,
        owner: v.ownerPubkey,
        asset_id: v.assetId,
        amount: v.amount.toString(),
      });
      const confirmation = this.#deps.publisher.confirmation({
        intentEventIds: contexts.map((c) => c.intent.event_id),
        parties: [
          ...group.map((s) => s.owner_pubkey),
          ...plan.outputs.filter((o) => o.role === 'recipient').map((o) => o.owner),
        ],
        d: arkTxid,
        content: {
          action_ids: group.map((s) => s.action_id),
          ark_txid: arkTxid,
          ...(group[0]!.batch_id ? { batch_id: group[0]!.batch_id } : {}),
          spent: spent.filter((v) => v.amount > 0n).map(wire),
          created: created.filter((v) => v.amount > 0n).map(wire),
          fees: contexts.map((c) => ({
            asset_id: c.intent.fee.asset_id,
            amount: c.intent.fee.amount,
            payer: c.intent.author,
          })),
          settled_at: Math.floor(now / 1000),
        },
      });
      await this.#deps.publisher.send([confirmation], trx);
    });
    this.crash('confirmed');
    for (const session of group) this.observer?.intent(session.session_type, 'settled');
    for (const fee of plan.outputs.filter((o) => o.role === 'fee'))
      this.observer?.feeCollected(fee.assetId, fee.amount);
    return false;
  }

  /**
   * Ends every open session of the group with `reason`: locks released, challenges closed,
   * intents marked, a 31341 to each owner — one transaction. Sessions already ended stay as
   * they are; a group that has been submitted is failed only for a rejection by the server.
   */
  async fail(
    group: readonly SigningSession[],
    reason: ProtocolError,
    state: 'failed' | 'expired' | 'cancelled',
  ): Promise<boolean> {
    const now = this.#now();
    let changed = false;
    await this.#transaction(async (trx) => {
      for (const session of group) {
        const moved = await this.store.transition(trx, session.session_id, OPEN_STATES, state, now, {
          error_code: reason.code,
          error_message: reason.message.slice(0, 1000),
          step_deadline_at: null,
          completed_at: now,
        });
        if (!moved) continue;
        changed = true;
        this.observer?.intent(session.session_type, state);
        await this.#deps.vtxos.releaseWithin(trx, session.session_id);
        const context = fromStored(session.context_json);
        await trx
          .updateTable('intents')
          .set({
            status: FAILED_INTENT[state],
            error_code: reason.code,
            error_message: reason.message.slice(0, 1000),
            updated_at: now,
          })
          .where('intent_event_id', '=', context.intent.event_id)
          .execute();
        const notices: NostrEvent[] = [
          this.#deps.publisher.failureNotice(
            context.intent.event as NostrEvent,
            {
              action_id: session.action_id,
              code: reason.code,
              message: reason.message,
              details: { session_id: session.session_id, ...(reason.details ?? {}) },
            },
            {},
          ),
        ];
        if (state === 'expired') {
          notices.push(
            this.#deps.publisher.notification(
              { to: session.owner_pubkey },
              { type: 'session_expired', session_id: session.session_id, action_id: session.action_id },
              `${session.session_id}:expired`,
            ),
          );
        }
        await this.#deps.publisher.send(notices, trx);
      }
      await this.store.closeChallenges(
        trx,
        group.map((s) => s.session_id),
        state === 'expired' ? 'expired' : 'rejected',
      );
      if (group[0]?.ark_txid) {
        await trx
          .updateTable('ark_transactions')
          .set({ status: 'failed', error_message: reason.message.slice(0, 1000), updated_at: now })
          .where('ark_txid', '=', group[0].ark_txid)
          .where('status', 'in', ['built', 'submitted'])
          .execute();
      }
      if (group[0]?.batch_id) {
        await trx
          .updateTable('batches')
          .set({
            status: state,
            error_code: reason.code,
            error_message: reason.message.slice(0, 1000),
            completed_at: now,
            updated_at: now,
          })
          .where('batch_id', '=', group[0].batch_id)
          .where('status', 'not in', ['settled', 'failed', 'expired', 'cancelled'])
          .execute();
      }
    });
    return changed;
  }

  /** `cancel {action_id}`: the author's open session, before submission only. */
  async cancel(author: string, actionId: string): Promise<{ cancelled: true; session_id: string }> {
    const session = await this.#deps.database.db
      .selectFrom('signing_sessions')
      .selectAll()
      .where('owner_pubkey', '=', author)
      .where('action_id', '=', actionId)
      .executeTakeFirst();
    if (!session) throw new ProtocolError('MALFORMED_CONTENT', `no session for action ${actionId}`);
    if (!CANCELLABLE_STATES.includes(session.state)) {
      throw new ProtocolError(
        'MALFORMED_CONTENT',
        OPEN_STATES.includes(session.state)
          ? 'too late to cancel: the transaction was submitted'
          : `the session is ${session.state}`,
      );
    }
    const group = await this.store.group(session);
    await this.fail(
      group,
      new ProtocolError(
        'CANCELLED',
        `cancelled by ${author === session.owner_pubkey ? 'its author' : 'a party'}`,
      ),
      'cancelled',
    );
    const after = await this.store.get(session.session_id);
    if (after?.state !== 'cancelled')
      throw new ProtocolError('MALFORMED_CONTENT', 'too late to cancel: the transaction was submitted');
    return { cancelled: true, session_id: session.session_id };
  }
}

function gatewayInputIndexes(plan: Plan & { inputs: readonly { gateway: boolean }[] }): number[] {
  return plan.inputs.flatMap((input, i) => (input.gateway ? [i] : []));
}

export type { SessionContext };
