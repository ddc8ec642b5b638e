// The one owner of the ceremony's rows: intents, signing sessions, their challenges, the Ark
// transactions the gateway builds, and batches. Every other module reads and writes them through
// here. Every transition is a conditional update naming the state it leaves (`WHERE state IN
// (...)`), so two workers advancing the same session — or a worker and the timeout sweep — cannot
// both win, and a crash leaves either the old state or the new one, never half of it.
//
// A session row is handed out parsed, as a discriminated union on its state: a prepared session
// always has its plan and its built transaction, an ended one its error.
import { sql, type Selectable, type Transaction } from 'kysely';
import type { Database } from '../store/database.ts';
import type {
  ArkTransactionStatus,
  BatchStatus,
  ChallengeStatus,
  IntentStatus,
  Schema,
  SessionState,
  SigningChallenge,
  SigningSession,
} from '../store/schema.ts';
import { parseContext, serializeContext, type PreparedTx, type SessionContext } from './context.ts';
import type { Plan } from './planner.ts';

export type Trx = Transaction<Schema>;

/** Before submission: the wallet may still answer, cancel or time out. */
export const PRE_SUBMISSION_STATES = ['accepted', 'ark_tx_prepared', 'awaiting_signatures'] as const;
/** Not ended: the pre-submission states and `submitted` (the gateway's own work from there). */
export const OPEN_STATES: readonly SessionState[] = [...PRE_SUBMISSION_STATES, 'submitted'];
export const ENDED_STATES = ['failed', 'expired', 'cancelled'] as const;
export const TERMINAL_STATES: readonly SessionState[] = ['confirmed', ...ENDED_STATES];
export const ALL_STATES: readonly SessionState[] = [...OPEN_STATES, ...TERMINAL_STATES];
/** A wallet's single signing step (protocol v1.1). */
export const SIGNING_STEP = 1;

export type PreSubmissionState = (typeof PRE_SUBMISSION_STATES)[number];
export type EndedState = (typeof ENDED_STATES)[number];

interface SessionFields {
  readonly sessionId: string;
  readonly owner: string;
  readonly actionId: string;
  readonly intentEventId: string;
  /** The intent type (`transfer:p2p`, …). */
  readonly type: string;
  readonly batchId: string | null;
  readonly version: number;
  readonly currentStep: number;
  /** Unix ms. */
  readonly deadlineAt: number;
  readonly stepDeadlineAt: number | null;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly context: SessionContext;
}

export type Session =
  | (SessionFields & { readonly state: 'accepted'; readonly plan: Plan | undefined })
  | (SessionFields & {
      readonly state: 'ark_tx_prepared' | 'awaiting_signatures' | 'submitted' | 'confirmed';
      readonly plan: Plan;
      readonly tx: PreparedTx;
    })
  | (SessionFields & {
      readonly state: EndedState;
      readonly plan: Plan | undefined;
      readonly tx: PreparedTx | undefined;
      readonly error: { readonly code: number; readonly message: string };
    });

export type PreparedSession = Extract<Session, { tx: PreparedTx }>;
/** The sessions settled together (a batch's, or one): never empty, the head first. */
export type Group<S extends Session = Session> = readonly [S, ...S[]];

export function mapGroup<S extends Session, T extends Session>(
  group: Group<S>,
  f: (session: S) => T,
): Group<T> {
  return [f(group[0]), ...group.slice(1).map(f)];
}
/** A session with its plan and built transaction, whatever its state (settlement needs both). */
export type SessionWithTx = Session & { readonly plan: Plan; readonly tx: PreparedTx };

/** The session with its built transaction; throws for one that has none (check hasTx first). */
export function withTx(session: Session): SessionWithTx {
  const { plan, tx } = session.context;
  if (!plan || !tx) throw new Error(`session ${session.sessionId} has no built transaction`);
  return { ...session, plan, tx };
}

export const hasTx = (session: Session): boolean => Boolean(session.context.plan && session.context.tx);

export function isEnded(session: Session): session is Extract<Session, { state: EndedState }> {
  return (ENDED_STATES as readonly string[]).includes(session.state);
}

export function isPreSubmission(state: SessionState): state is PreSubmissionState {
  return (PRE_SUBMISSION_STATES as readonly string[]).includes(state);
}

/** The parsed session of a row; throws for a row that breaks the state's shape (never written). */
export function toSession(row: SigningSession): Session {
  const context = parseContext(row.context_json, row.ark_txid);
  const fields: SessionFields = {
    sessionId: row.session_id,
    owner: row.owner_pubkey,
    actionId: row.action_id ?? context.intent.action_id,
    intentEventId: row.intent_event_id ?? context.intent.event_id,
    type: row.session_type,
    batchId: row.batch_id,
    version: Number(row.version),
    currentStep: Number(row.current_step),
    deadlineAt: Number(row.deadline_at),
    stepDeadlineAt: row.step_deadline_at === null ? null : Number(row.step_deadline_at),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    context,
  };
  const state = row.state;
  switch (state) {
    case 'accepted':
      return { ...fields, state, plan: context.plan };
    case 'ark_tx_prepared':
    case 'awaiting_signatures':
    case 'submitted':
    case 'confirmed':
      if (!context.plan || !context.tx)
        throw new Error(`session ${row.session_id} is ${state} without its tx`);
      return { ...fields, state, plan: context.plan, tx: context.tx };
    case 'failed':
    case 'expired':
    case 'cancelled':
      return {
        ...fields,
        state,
        plan: context.plan,
        tx: context.tx,
        error: { code: Number(row.error_code ?? 0), message: row.error_message ?? '' },
      };
    default:
      throw new Error(`session ${row.session_id} is in an unknown state ${String(state)}`);
  }
}

export interface SessionPatch {
  readonly currentStep?: number;
  readonly stepDeadlineAt?: number | null;
  readonly context?: SessionContext;
  readonly arkTxid?: string;
  readonly error?: { readonly code: number; readonly message: string };
  readonly completedAt?: number;
  readonly stepsCompleted?: readonly number[];
}

export interface NewSession {
  readonly sessionId: string;
  readonly intent: {
    readonly eventId: string;
    readonly author: string;
    readonly actionId: string;
    readonly type: string;
    readonly feeAssetId: string;
    readonly feeAmount: bigint;
    /** Unix ms. */
    readonly expiresAt: number;
    readonly eventJson: string;
  };
  readonly context: SessionContext;
  readonly batchId: string | null;
  readonly deadlineAt: number;
  readonly stepDeadlineAt: number;
}

export interface NewArkTx {
  readonly arkTxid: string;
  /** The session (or the lock id of a gateway-only tx) it belongs to; null for none. */
  readonly ownerId: string | null;
  readonly batchId: string | null;
  readonly kind: string;
  readonly status: ArkTransactionStatus;
  readonly psbt: string;
  readonly checkpoints: readonly string[];
}

export interface ArkTxRecord extends NewArkTx {
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** What an author has under way and has abandoned lately, for the abuse limits. */
export interface AuthorLoad {
  readonly openSessions: number;
  /** Sessions that ended with one of the abandon codes since the time asked. */
  readonly abandoned: number;
  /** When the oldest of those ended (unix ms), or null. */
  readonly oldestAbandonedAt: number | null;
}

const clip = (message: string) => message.slice(0, 1000);

export class CeremonyRecords {
  readonly #database: Database;
  readonly #now: () => number;

  constructor(database: Database, now: () => number = Date.now) {
    this.#database = database;
    this.#now = now;
  }

  get database(): Database {
    return this.#database;
  }

  transaction<T>(work: (trx: Trx) => Promise<T>): Promise<T> {
    return this.#database.db.transaction().execute(work);
  }

  // --- sessions ------------------------------------------------------------------------------

  async session(sessionId: string, trx?: Trx): Promise<Session | undefined> {
    const row = await (trx ?? this.#database.db)
      .selectFrom('signing_sessions')
      .selectAll()
      .where('session_id', '=', sessionId)
      .executeTakeFirst();
    return row && toSession(row);
  }

  /** The raw row, for read views that show it as stored. */
  async sessionRow(sessionId: string): Promise<SigningSession | undefined> {
    return this.#database.db
      .selectFrom('signing_sessions')
      .selectAll()
      .where('session_id', '=', sessionId)
      .executeTakeFirst();
  }

  /** The sessions settled together: a batch's, or the one session. Ordered by session id. */
  async group(session: Pick<Session, 'sessionId' | 'batchId'>, trx?: Trx): Promise<Group> {
    const query = (trx ?? this.#database.db).selectFrom('signing_sessions').selectAll().orderBy('session_id');
    const rows = session.batchId
      ? await query.where('batch_id', '=', session.batchId).execute()
      : await query.where('session_id', '=', session.sessionId).execute();
    const [head, ...rest] = rows.map(toSession);
    if (!head) throw new Error(`session ${session.sessionId} is gone`);
    return [head, ...rest];
  }

  async sessionOfAction(author: string, actionId: string): Promise<Session | undefined> {
    const row = await this.#database.db
      .selectFrom('signing_sessions')
      .selectAll()
      .where('owner_pubkey', '=', author)
      .where('action_id', '=', actionId)
      .executeTakeFirst();
    return row && toSession(row);
  }

  /** Open sessions, oldest first, for the sweep that resumes and times them out. */
  async openSessions(limit: number): Promise<Session[]> {
    const rows = await this.#database.db
      .selectFrom('signing_sessions')
      .selectAll()
      .where('state', 'in', OPEN_STATES)
      .orderBy('created_at')
      .orderBy('session_id')
      .limit(limit)
      .execute();
    return rows.map(toSession);
  }

  /**
   * Moves a session from one of `from` to `to`, bumping its version; false when it was not in
   * one of those states (someone else moved it first).
   */
  async transition(
    trx: Trx,
    sessionId: string,
    from: readonly SessionState[],
    to: SessionState,
    patch: SessionPatch = {},
  ): Promise<boolean> {
    const result = await trx
      .updateTable('signing_sessions')
      .set({
        ...(patch.currentStep !== undefined ? { current_step: patch.currentStep } : {}),
        ...(patch.stepDeadlineAt !== undefined ? { step_deadline_at: patch.stepDeadlineAt } : {}),
        ...(patch.context ? { context_json: serializeContext(patch.context) } : {}),
        ...(patch.arkTxid ? { ark_txid: patch.arkTxid } : {}),
        ...(patch.error ? { error_code: patch.error.code, error_message: clip(patch.error.message) } : {}),
        ...(patch.completedAt !== undefined ? { completed_at: patch.completedAt } : {}),
        ...(patch.stepsCompleted ? { steps_completed_json: JSON.stringify(patch.stepsCompleted) } : {}),
        state: to,
        updated_at: this.#now(),
        version: sql<number>`version + 1`,
      })
      .where('session_id', '=', sessionId)
      .where('state', 'in', from)
      .executeTakeFirst();
    return result.numUpdatedRows === 1n;
  }

  /** Stores the plan of an `accepted` session unless another planner stored one first. */
  async storePlan(trx: Trx, session: Session, plan: Plan): Promise<boolean> {
    const result = await trx
      .updateTable('signing_sessions')
      .set({
        context_json: serializeContext({ ...session.context, plan }),
        updated_at: this.#now(),
        version: session.version + 1,
      })
      .where('session_id', '=', session.sessionId)
      .where('state', '=', 'accepted')
      .where('version', '=', session.version)
      .executeTakeFirst();
    return result.numUpdatedRows === 1n;
  }

  // --- intents -------------------------------------------------------------------------------

  /** Which event used `(author, actionId)` and its session, if any did. */
  async intentOf(
    author: string,
    actionId: string,
    trx?: Trx,
  ): Promise<{ readonly intentEventId: string; readonly sessionId: string | null } | undefined> {
    const row = await (trx ?? this.#database.db)
      .selectFrom('intents')
      .select(['intent_event_id', 'session_id'])
      .where('author_pubkey', '=', author)
      .where('action_id', '=', actionId)
      .executeTakeFirst();
    return row && { intentEventId: row.intent_event_id, sessionId: row.session_id };
  }

  /** The intent and its session, inserted together (the caller's transaction holds a batch's). */
  async insertSession(trx: Trx, session: NewSession): Promise<void> {
    const now = this.#now();
    const { intent } = session;
    await trx
      .insertInto('intents')
      .values({
        intent_event_id: intent.eventId,
        author_pubkey: intent.author,
        action_id: intent.actionId,
        intent_type: intent.type,
        params_json: JSON.stringify(session.context.intent.params),
        event_json: intent.eventJson,
        fee_asset_id: intent.feeAssetId,
        fee_amount: intent.feeAmount,
        status: 'in_session',
        session_id: session.sessionId,
        batch_id: session.batchId,
        expires_at: intent.expiresAt,
        created_at: now,
        updated_at: now,
      })
      .execute();
    await trx
      .insertInto('signing_sessions')
      .values({
        session_id: session.sessionId,
        intent_event_id: intent.eventId,
        owner_pubkey: intent.author,
        action_id: intent.actionId,
        session_type: intent.type,
        state: 'accepted',
        current_step: 0,
        step_total: SIGNING_STEP,
        steps_completed_json: '[]',
        context_json: serializeContext(session.context),
        batch_id: session.batchId,
        deadline_at: session.deadlineAt,
        step_deadline_at: session.stepDeadlineAt,
        created_at: now,
        updated_at: now,
      })
      .execute();
  }

  async markIntents(
    trx: Trx,
    sessionIds: readonly string[],
    status: IntentStatus,
    error?: { readonly code: number; readonly message: string },
  ): Promise<void> {
    if (sessionIds.length === 0) return;
    await trx
      .updateTable('intents')
      .set({
        status,
        ...(error ? { error_code: error.code, error_message: clip(error.message) } : {}),
        updated_at: this.#now(),
      })
      .where('session_id', 'in', sessionIds)
      .execute();
  }

  // --- challenges ----------------------------------------------------------------------------

  async insertChallenge(
    trx: Trx,
    challenge: {
      readonly sessionId: string;
      readonly step: number;
      readonly type: string;
      readonly payload: unknown;
      readonly eventId: string;
      readonly expiresAt: number;
    },
  ): Promise<void> {
    await trx
      .insertInto('signing_challenges')
      .values({
        challenge_id: globalThis.crypto.randomUUID(),
        session_id: challenge.sessionId,
        step: challenge.step,
        challenge_type: challenge.type,
        payload_json: JSON.stringify(challenge.payload),
        event_id: challenge.eventId,
        status: 'open',
        expires_at: challenge.expiresAt,
        created_at: this.#now(),
      })
      .execute();
  }

  async challenge(sessionId: string, step: number, trx?: Trx): Promise<SigningChallenge | undefined> {
    return (trx ?? this.#database.db)
      .selectFrom('signing_challenges')
      .selectAll()
      .where('session_id', '=', sessionId)
      .where('step', '=', step)
      .executeTakeFirst();
  }

  async challenges(sessionIds: readonly string[], step: number, trx?: Trx): Promise<SigningChallenge[]> {
    if (sessionIds.length === 0) return [];
    return (trx ?? this.#database.db)
      .selectFrom('signing_challenges')
      .selectAll()
      .where('session_id', 'in', sessionIds)
      .where('step', '=', step)
      .orderBy('session_id')
      .execute();
  }

  /** Records an answer once: only an open challenge becomes answered. */
  async answer(
    trx: Trx,
    challengeId: string,
    responseEventId: string,
    responseJson: string,
  ): Promise<boolean> {
    const result = await trx
      .updateTable('signing_challenges')
      .set({
        status: 'answered',
        response_event_id: responseEventId,
        response_json: responseJson,
        answered_at: this.#now(),
      })
      .where('challenge_id', '=', challengeId)
      .where('status', '=', 'open')
      .executeTakeFirst();
    return result.numUpdatedRows === 1n;
  }

  async closeChallenges(trx: Trx, sessionIds: readonly string[], status: ChallengeStatus): Promise<void> {
    if (sessionIds.length === 0) return;
    await trx
      .updateTable('signing_challenges')
      .set({ status })
      .where('session_id', 'in', sessionIds)
      .where('status', '=', 'open')
      .execute();
  }

  // --- Ark transactions ----------------------------------------------------------------------

  async insertArkTx(trx: Trx, tx: NewArkTx): Promise<void> {
    const now = this.#now();
    await trx
      .insertInto('ark_transactions')
      .values({
        ark_txid: tx.arkTxid,
        session_id: tx.ownerId,
        batch_id: tx.batchId,
        tx_kind: tx.kind,
        status: tx.status,
        ark_psbt: tx.psbt,
        checkpoint_psbts_json: JSON.stringify(tx.checkpoints),
        ...(tx.status === 'submitted' ? { submitted_at: now } : {}),
        created_at: now,
        updated_at: now,
      })
      .execute();
  }

  async arkTx(arkTxid: string, trx?: Trx): Promise<ArkTxRecord | undefined> {
    const row = await (trx ?? this.#database.db)
      .selectFrom('ark_transactions')
      .selectAll()
      .where('ark_txid', '=', arkTxid)
      .executeTakeFirst();
    return row && arkTxRecord(row);
  }

  /** The gateway-only transaction stored under `ownerId` in `status` (a lift or mint under way). */
  async arkTxOf(ownerId: string, status: ArkTransactionStatus): Promise<ArkTxRecord | undefined> {
    const row = await this.#database.db
      .selectFrom('ark_transactions')
      .selectAll()
      .where('session_id', '=', ownerId)
      .where('status', '=', status)
      .executeTakeFirst();
    return row && arkTxRecord(row);
  }

  /** Moves an Ark tx from one of `from` to `to`; false when it was elsewhere. */
  async markArkTx(
    trx: Trx | undefined,
    arkTxid: string,
    from: readonly ArkTransactionStatus[],
    to: ArkTransactionStatus,
    patch: { readonly psbt?: string; readonly checkpoints?: readonly string[]; readonly error?: string } = {},
  ): Promise<boolean> {
    const now = this.#now();
    const result = await (trx ?? this.#database.db)
      .updateTable('ark_transactions')
      .set({
        status: to,
        ...(patch.psbt ? { ark_psbt: patch.psbt } : {}),
        ...(patch.checkpoints ? { checkpoint_psbts_json: JSON.stringify(patch.checkpoints) } : {}),
        ...(patch.error ? { error_message: clip(patch.error) } : {}),
        ...(to === 'submitted' ? { submitted_at: now } : {}),
        ...(to === 'finalized' ? { finalized_at: now } : {}),
        updated_at: now,
      })
      .where('ark_txid', '=', arkTxid)
      .where('status', 'in', from)
      .executeTakeFirst();
    return result.numUpdatedRows === 1n;
  }

  /**
   * Ceremony transactions the gateway built but did not settle because their sessions ended
   * (`failed`): what a wallet could still submit on its own. Least recently looked at first.
   */
  async unsettledArkTxs(limit: number): Promise<ArkTxRecord[]> {
    const rows = await this.#database.db
      .selectFrom('ark_transactions')
      .selectAll()
      .where('status', '=', 'failed')
      .where('tx_kind', 'not in', ['lift', 'mint', 'refund'])
      .where('session_id', 'is not', null)
      .orderBy('updated_at')
      .orderBy('ark_txid')
      .limit(limit)
      .execute();
    return rows.map(arkTxRecord);
  }

  /** Notes that the reconciliation looked at a transaction (it moves to the back of the queue). */
  async touchArkTx(arkTxid: string): Promise<void> {
    await this.#database.db
      .updateTable('ark_transactions')
      .set({ updated_at: this.#now() })
      .where('ark_txid', '=', arkTxid)
      .execute();
  }

  /**
   * VTXO locks no open session holds, oldest first: a session that ended or never existed (a
   * crash), or a hold for the Ark server (`ark:<txid>`). Locks of the gateway's own transactions
   * under way (`issue:…`, `refund:…`) are their owners' business and not listed.
   */
  async orphanLocks(
    limit: number,
  ): Promise<{ vtxoId: string; txid: string; vout: number; lockedBy: string }[]> {
    const rows = await this.#database.db
      .selectFrom('vtxos')
      .leftJoin('signing_sessions', 'signing_sessions.session_id', 'vtxos.locked_by_session')
      .select(['vtxos.vtxo_id', 'vtxos.txid', 'vtxos.vout', 'vtxos.locked_by_session'])
      .where('vtxos.status', '=', 'pending_spend')
      .where((eb) =>
        eb.or([
          eb('signing_sessions.state', 'in', TERMINAL_STATES),
          eb.and([
            eb('signing_sessions.session_id', 'is', null),
            eb('vtxos.locked_by_session', 'not like', 'issue:%'),
            eb('vtxos.locked_by_session', 'not like', 'refund:%'),
          ]),
        ]),
      )
      .orderBy('vtxos.locked_at')
      .orderBy('vtxos.vtxo_id')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      vtxoId: r.vtxo_id,
      txid: r.txid,
      vout: Number(r.vout),
      lockedBy: r.locked_by_session ?? '',
    }));
  }

  // --- batches -------------------------------------------------------------------------------

  async batchRequest(batchId: string): Promise<string | undefined> {
    const row = await this.#database.db
      .selectFrom('batches')
      .select('request_event_id')
      .where('batch_id', '=', batchId)
      .executeTakeFirst();
    return row?.request_event_id;
  }

  async insertBatch(batch: {
    readonly batchId: string;
    readonly submitter: string;
    readonly requestEventId: string;
    readonly intentCount: number;
    readonly deadlineAt: number;
  }): Promise<void> {
    const now = this.#now();
    await this.#database.db
      .insertInto('batches')
      .values({
        batch_id: batch.batchId,
        submitter_pubkey: batch.submitter,
        request_event_id: batch.requestEventId,
        status: 'signing',
        intent_count: batch.intentCount,
        deadline_at: batch.deadlineAt,
        created_at: now,
        updated_at: now,
      })
      .execute();
  }

  /** The batch's sessions' first error, if any ended with one. */
  async batchError(batchId: string): Promise<{ code: number; message: string } | undefined> {
    const row = await this.#database.db
      .selectFrom('signing_sessions')
      .select(['error_code', 'error_message'])
      .where('batch_id', '=', batchId)
      .where('error_code', 'is not', null)
      .orderBy('session_id')
      .executeTakeFirst();
    return row ? { code: Number(row.error_code), message: row.error_message ?? '' } : undefined;
  }

  async endBatch(
    trx: Trx,
    batchId: string,
    status: BatchStatus,
    outcome: { readonly arkTxid?: string; readonly error?: { code: number; message: string } },
  ): Promise<void> {
    const now = this.#now();
    let update = trx
      .updateTable('batches')
      .set({
        status,
        ...(outcome.arkTxid ? { ark_txid: outcome.arkTxid } : {}),
        ...(outcome.error
          ? { error_code: outcome.error.code, error_message: clip(outcome.error.message) }
          : {}),
        completed_at: now,
        updated_at: now,
      })
      .where('batch_id', '=', batchId);
    // A settlement wins over an earlier failure (a transaction the Ark server finalized anyway).
    if (status !== 'settled')
      update = update.where('status', 'not in', ['settled', 'failed', 'expired', 'cancelled']);
    await update.execute();
  }

  // --- abuse limits --------------------------------------------------------------------------

  /**
   * An author's open sessions and the sessions it abandoned (ended with one of `abandonCodes`)
   * since `since`. Inside an admission's transaction the open sessions are read with a locking
   * read (MariaDB: the index range is locked, so a concurrent admission of the same author waits,
   * or deadlocks and retries; SQLite: the write transaction is serial anyway), which makes the
   * open-sessions limit exact.
   */
  async authorLoad(
    trx: Trx,
    author: string,
    since: number,
    abandonCodes: readonly number[],
  ): Promise<AuthorLoad> {
    let open = trx
      .selectFrom('signing_sessions')
      .select('session_id')
      .where('owner_pubkey', '=', author)
      .where('state', 'in', OPEN_STATES);
    if (this.#database.kind === 'mariadb') open = open.forUpdate();
    const openSessions = (await open.execute()).length;
    const abandoned = await trx
      .selectFrom('signing_sessions')
      .select([
        (eb) => eb.fn.countAll<number | string | bigint>().as('n'),
        (eb) => eb.fn.min<number | string | bigint | null>('completed_at').as('oldest'),
      ])
      .where('owner_pubkey', '=', author)
      .where('completed_at', '>=', since)
      .where('state', 'in', ENDED_STATES)
      .where('error_code', 'in', abandonCodes)
      .executeTakeFirst();
    return {
      openSessions,
      abandoned: Number(abandoned?.n ?? 0),
      oldestAbandonedAt:
        abandoned?.oldest === null || abandoned?.oldest === undefined ? null : Number(abandoned.oldest),
    };
  }

  /** The gateway inventory VTXOs (0 units) the author's open sessions hold locked. */
  async inventoryLockedBy(author: string): Promise<number> {
    const row = await this.#database.db
      .selectFrom('vtxos')
      .innerJoin('signing_sessions', 'signing_sessions.session_id', 'vtxos.locked_by_session')
      .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
      .where('signing_sessions.owner_pubkey', '=', author)
      .where('signing_sessions.state', 'in', OPEN_STATES)
      .where('vtxos.status', '=', 'pending_spend')
      .where('vtxos.amount', '=', 0)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }
}

function arkTxRecord(row: Selectable<Schema['ark_transactions']>): ArkTxRecord {
  return {
    arkTxid: row.ark_txid,
    ownerId: row.session_id,
    batchId: row.batch_id,
    kind: row.tx_kind,
    status: row.status,
    psbt: row.ark_psbt,
    checkpoints: JSON.parse(row.checkpoint_psbts_json ?? '[]') as string[],
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}
