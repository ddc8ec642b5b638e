// Read views of sessions and challenges for operators and dApps, and the cleanup an operator
// runs on demand. Nothing here creates, answers or completes a session: that happens only on
// Nostr, signed by the wallet.
import { sql } from 'kysely';
import type { Database } from '../store/database.ts';
import type { SessionState, SigningChallenge, SigningSession } from '../store/schema.ts';
import type { CeremonyEngine } from './engine.ts';
import { OPEN_STATES, TERMINAL_STATES } from './records.ts';
import { sweepSessions } from './tasks.ts';
import { isoTime, isoTimeOrNull } from '../domain/iso-time.ts';

export function sessionJson(s: SigningSession) {
  return {
    session_id: s.session_id,
    owner_pubkey: s.owner_pubkey,
    action_id: s.action_id,
    intent_event_id: s.intent_event_id,
    type: s.session_type,
    state: s.state,
    current_step: Number(s.current_step),
    step_total: Number(s.step_total),
    steps_completed: JSON.parse(s.steps_completed_json) as number[],
    ark_txid: s.ark_txid,
    batch_id: s.batch_id,
    error: s.error_code === null ? null : { code: Number(s.error_code), message: s.error_message ?? '' },
    deadline_at: isoTime(s.deadline_at),
    step_deadline_at: isoTimeOrNull(s.step_deadline_at),
    created_at: isoTime(s.created_at),
    updated_at: isoTime(s.updated_at),
    completed_at: isoTimeOrNull(s.completed_at),
  };
}

/** A challenge as an operator sees it: what was asked, not the PSBTs themselves. */
export function challengeJson(c: SigningChallenge) {
  const payload = JSON.parse(c.payload_json) as {
    type?: string;
    sighashes?: unknown[];
    payload_ref?: string;
  };
  return {
    challenge_id: c.challenge_id,
    session_id: c.session_id,
    step: Number(c.step),
    type: c.challenge_type,
    status: c.status,
    event_id: c.event_id,
    payload_ref: payload.payload_ref ?? null,
    sighash_count: payload.sighashes?.length ?? 0,
    response_event_id: c.response_event_id,
    expires_at: isoTime(c.expires_at),
    created_at: isoTime(c.created_at),
    answered_at: isoTimeOrNull(c.answered_at),
  };
}

export interface SessionQuery {
  readonly user?: string;
  readonly states?: readonly SessionState[];
  readonly limit: number;
  /** created_at:session_id of the last row of the previous page (newest first). */
  readonly cursor?: string;
}

/** Signing sessions by state, over the whole ledger (metrics, /stats). */
export async function sessionCounts(database: Database): Promise<{ state: SessionState; count: number }[]> {
  const rows = await database.db
    .selectFrom('signing_sessions')
    .select(['state', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy('state')
    .execute();
  return rows.map((r) => ({ state: r.state, count: Number(r.n) }));
}

/** Intents received since `sinceMs`, by status. */
export async function intentCounts(
  database: Database,
  sinceMs: number,
): Promise<{ status: string; count: number }[]> {
  const rows = await database.db
    .selectFrom('intents')
    .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
    .where('created_at', '>=', sinceMs)
    .groupBy('status')
    .execute();
  return rows.map((r) => ({ status: r.status, count: Number(r.n) }));
}

/** Sessions that ended since `sinceMs`: how many failed or expired, out of how many ended. */
export async function sessionOutcomes(
  database: Database,
  sinceMs: number,
): Promise<{ failed: number; total: number }> {
  const row = await database.db
    .selectFrom('signing_sessions')
    .select([
      sql<number>`sum(case when state in ('failed', 'expired') then 1 else 0 end)`.as('failed'),
      sql<number>`count(*)`.as('total'),
    ])
    .where('state', 'in', ['failed', 'expired', 'confirmed'])
    .where('completed_at', '>=', sinceMs)
    .executeTakeFirst();
  return { failed: Number(row?.failed ?? 0), total: Number(row?.total ?? 0) };
}

export class SessionReads {
  readonly #database: Database;
  readonly #engine: CeremonyEngine;
  constructor(database: Database, engine: CeremonyEngine) {
    this.#database = database;
    this.#engine = engine;
  }

  get(sessionId: string): Promise<SigningSession | undefined> {
    return this.#engine.records.sessionRow(sessionId);
  }

  async challenges(sessionId: string): Promise<SigningChallenge[]> {
    return this.#database.db
      .selectFrom('signing_challenges')
      .selectAll()
      .where('session_id', '=', sessionId)
      .orderBy('step')
      .execute();
  }

  async challenge(challengeId: string): Promise<SigningChallenge | undefined> {
    return this.#database.db
      .selectFrom('signing_challenges')
      .selectAll()
      .where('challenge_id', '=', challengeId)
      .executeTakeFirst();
  }

  /** Newest first, one page; the cursor is opaque to clients. */
  async list(query: SessionQuery): Promise<{ sessions: SigningSession[]; nextCursor: string | null }> {
    let q = this.#database.db.selectFrom('signing_sessions').selectAll();
    if (query.user) q = q.where('owner_pubkey', '=', query.user);
    if (query.states?.length) q = q.where('state', 'in', query.states);
    if (query.cursor) {
      const [at, id] = query.cursor.split(':');
      const createdAt = Number(at);
      q = q.where((eb) =>
        eb.or([
          eb('created_at', '<', createdAt),
          eb.and([eb('created_at', '=', createdAt), eb('session_id', '<', id!)]),
        ]),
      );
    }
    const rows = await q
      .orderBy('created_at', 'desc')
      .orderBy('session_id', 'desc')
      .limit(query.limit + 1)
      .execute();
    const page = rows.slice(0, query.limit);
    const last = page[page.length - 1];
    return {
      sessions: page,
      nextCursor: rows.length > query.limit && last ? `${Number(last.created_at)}:${last.session_id}` : null,
    };
  }

  /** Counts by state and type, and how long settled sessions took (ms). */
  async stats() {
    const byState = await this.#database.db
      .selectFrom('signing_sessions')
      .select(['state', 'session_type', (eb) => eb.fn.countAll<number | string | bigint>().as('n')])
      .groupBy(['state', 'session_type'])
      .execute();
    const settled = await this.#database.db
      .selectFrom('signing_sessions')
      .select([
        (eb) => eb.fn.countAll<number | string | bigint>().as('n'),
        (eb) => eb.fn.avg<number | string>(eb('completed_at', '-', eb.ref('created_at'))).as('avg_ms'),
        (eb) =>
          eb.fn.max<number | string | bigint>(eb('completed_at', '-', eb.ref('created_at'))).as('max_ms'),
      ])
      .where('state', '=', 'confirmed')
      .executeTakeFirst();
    return {
      by_state: byState.map((r) => ({ state: r.state, type: r.session_type, count: Number(r.n) })),
      open: byState.filter((r) => OPEN_STATES.includes(r.state)).reduce((n, r) => n + Number(r.n), 0),
      settled: {
        count: Number(settled?.n ?? 0),
        // Milliseconds are whole numbers for operators; the average is rounded.
        avg_ms:
          settled?.avg_ms === null || settled?.avg_ms === undefined
            ? null
            : Math.round(Number(settled.avg_ms)),
        max_ms: settled?.max_ms === null || settled?.max_ms === undefined ? null : Number(settled.max_ms),
      },
    };
  }

  /**
   * `POST /sessions/cleanup`: open sessions are resumed and overdue ones timed out (3003, locks released); the
   * challenges of sessions that ended more than `retentionMs` ago are deleted (they hold whole
   * PSBTs; the session row stays as the record).
   */
  async cleanup(retentionMs: number): Promise<{ resumed_groups: number; challenges_deleted: number }> {
    const sweep = await sweepSessions(this.#engine);
    const cutoff = this.#engine.now - retentionMs;
    const ended = this.#database.db
      .selectFrom('signing_sessions')
      .select('session_id')
      .where('state', 'in', TERMINAL_STATES)
      .where('completed_at', '<', cutoff);
    const result = await this.#database.db
      .deleteFrom('signing_challenges')
      .where('session_id', 'in', ended)
      .executeTakeFirst();
    return { resumed_groups: sweep.groups, challenges_deleted: Number(result.numDeletedRows) };
  }
}
