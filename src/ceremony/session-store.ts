// Persistence of signing sessions and their challenges. Every transition is a conditional
// update naming the state it leaves (`WHERE state IN (...)`), so two workers advancing the same
// session — or a worker and the timeout sweep — cannot both win, and a crash leaves either the
// old state or the new one, never half of it.
import { sql, type Transaction } from 'kysely';
import type { Database } from '../store/database.ts';
import type {
  ChallengeStatus,
  Schema,
  SessionState,
  SigningChallenge,
  SigningSession,
} from '../store/schema.ts';

export type Trx = Transaction<Schema>;

export const OPEN_STATES: readonly SessionState[] = [
  'accepted',
  'ark_tx_prepared',
  'awaiting_ark_signatures',
  'submitted',
  'awaiting_checkpoint_signatures',
  'finalized',
];
export const TERMINAL_STATES: readonly SessionState[] = ['confirmed', 'failed', 'expired', 'cancelled'];
export const ALL_STATES: readonly SessionState[] = [...OPEN_STATES, ...TERMINAL_STATES];
/** Before submission a session may still be cancelled; after it, the Ark server has the tx. */
export const CANCELLABLE_STATES: readonly SessionState[] = [
  'accepted',
  'ark_tx_prepared',
  'awaiting_ark_signatures',
];

export type SessionPatch = Partial<
  Pick<
    SigningSession,
    | 'current_step'
    | 'context_json'
    | 'ark_txid'
    | 'error_code'
    | 'error_message'
    | 'step_deadline_at'
    | 'completed_at'
    | 'steps_completed_json'
  >
>;

export class SessionStore {
  readonly database: Database;
  constructor(database: Database) {
    this.database = database;
  }

  async get(sessionId: string, trx?: Trx): Promise<SigningSession | undefined> {
    return (trx ?? this.database.db)
      .selectFrom('signing_sessions')
      .selectAll()
      .where('session_id', '=', sessionId)
      .executeTakeFirst();
  }

  /** The sessions settled together: a batch's, or the one session. Ordered by session id. */
  async group(
    session: Pick<SigningSession, 'session_id' | 'batch_id'>,
    trx?: Trx,
  ): Promise<SigningSession[]> {
    const query = (trx ?? this.database.db).selectFrom('signing_sessions').selectAll().orderBy('session_id');
    return session.batch_id
      ? query.where('batch_id', '=', session.batch_id).execute()
      : query.where('session_id', '=', session.session_id).execute();
  }

  /**
   * Moves `sessionId` from one of `from` to `to`, bumping its version; false when it was not
   * in one of those states (someone else moved it first).
   */
  async transition(
    trx: Trx,
    sessionId: string,
    from: readonly SessionState[],
    to: SessionState,
    now: number,
    patch: SessionPatch = {},
  ): Promise<boolean> {
    const result = await trx
      .updateTable('signing_sessions')
      .set({
        ...patch,
        state: to,
        updated_at: now,
        version: sql<number>`version + 1`,
      })
      .where('session_id', '=', sessionId)
      .where('state', 'in', from)
      .executeTakeFirst();
    return result.numUpdatedRows === 1n;
  }

  async challenge(sessionId: string, step: number, trx?: Trx): Promise<SigningChallenge | undefined> {
    return (trx ?? this.database.db)
      .selectFrom('signing_challenges')
      .selectAll()
      .where('session_id', '=', sessionId)
      .where('step', '=', step)
      .executeTakeFirst();
  }

  async challenges(sessionIds: readonly string[], step: number, trx?: Trx): Promise<SigningChallenge[]> {
    if (sessionIds.length === 0) return [];
    return (trx ?? this.database.db)
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
    now: number,
  ): Promise<boolean> {
    const result = await trx
      .updateTable('signing_challenges')
      .set({
        status: 'answered',
        response_event_id: responseEventId,
        response_json: responseJson,
        answered_at: now,
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

  /** Open sessions, oldest first, for the sweep that resumes and times them out. */
  async open(limit: number): Promise<SigningSession[]> {
    return this.database.db
      .selectFrom('signing_sessions')
      .selectAll()
      .where('state', 'in', OPEN_STATES)
      .orderBy('created_at')
      .orderBy('session_id')
      .limit(limit)
      .execute();
  }
}
