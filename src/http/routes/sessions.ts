// Signing sessions, read-only (a session is created, answered and completed only on Nostr,
// signed by the wallet), the operator's cleanup (`POST /sessions/cleanup`, admin key), and the
// reconciliation of the ledger with the Ark server (`POST /admin/ledger/reconcile`, admin key).
import { Type } from 'typebox';
import { reconcileJson, type ReconcileReport } from '../../ceremony/reconcile.ts';
import { challengeJson, sessionJson, type SessionReads } from '../../ceremony/session-reads.ts';
import { ALL_STATES } from '../../ceremony/records.ts';
import { parsePubkey, InvalidPubkeyError } from '../../ledger/ledger-reads.ts';
import type { SessionState } from '../../store/schema.ts';
import { ADMIN_SECURITY } from '../admin-auth.ts';
import { HttpError } from '../errors.ts';
import type { RouteSet } from '../admin-scope.ts';
import type { HttpServer } from '../server.ts';

export interface SessionRoutesDeps {
  readonly reads: SessionReads;
  readonly reconcile: () => Promise<ReconcileReport>;
  /** How long the challenges of an ended session are kept (they hold whole PSBTs). */
  readonly challengeRetentionMs: number;
}

const NoExtra = { additionalProperties: false } as const;
const Time = Type.String({ format: 'date-time' });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) =>
  Type.Union([schema, Type.Null()]);
const STATES = ALL_STATES;
const State = Type.Union([
  Type.Literal('accepted'),
  Type.Literal('ark_tx_prepared'),
  Type.Literal('awaiting_signatures'),
  Type.Literal('submitted'),
  Type.Literal('confirmed'),
  Type.Literal('failed'),
  Type.Literal('expired'),
  Type.Literal('cancelled'),
]);
const Id = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }, NoExtra);

const Session = Type.Object({
  session_id: Type.String(),
  owner_pubkey: Type.String(),
  action_id: Nullable(Type.String()),
  intent_event_id: Nullable(Type.String()),
  type: Type.String(),
  state: State,
  current_step: Type.Integer(),
  step_total: Type.Integer(),
  steps_completed: Type.Array(Type.Integer()),
  ark_txid: Nullable(Type.String()),
  batch_id: Nullable(Type.String()),
  error: Nullable(Type.Object({ code: Type.Integer(), message: Type.String() })),
  deadline_at: Nullable(Time),
  step_deadline_at: Nullable(Time),
  created_at: Nullable(Time),
  updated_at: Nullable(Time),
  completed_at: Nullable(Time),
});

const Challenge = Type.Object({
  challenge_id: Type.String(),
  session_id: Type.String(),
  step: Type.Integer(),
  type: Type.String(),
  status: Type.String(),
  event_id: Nullable(Type.String()),
  payload_ref: Nullable(Type.String()),
  sighash_count: Type.Integer(),
  response_event_id: Nullable(Type.String()),
  expires_at: Nullable(Time),
  created_at: Nullable(Time),
  answered_at: Nullable(Time),
});

export function sessionRoutes(deps: SessionRoutesDeps): RouteSet {
  const { reads } = deps;
  const found = async (id: string) => {
    const session = await reads.get(id);
    if (!session) throw new HttpError('not_found', `no session ${id}`);
    return session;
  };
  return {
    open: async (app: HttpServer) => {
      app.get(
        '/sessions',
        {
          schema: {
            summary: 'Signing sessions, newest first, one page at a time',
            tags: ['sessions'],
            querystring: Type.Object(
              {
                user: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
                status: Type.Optional(Type.Array(State, { maxItems: STATES.length })),
                limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
                cursor: Type.Optional(Type.String({ pattern: '^\\d{1,16}:[A-Za-z0-9-]{1,64}$' })),
              },
              NoExtra,
            ),
            response: {
              200: Type.Object({ sessions: Type.Array(Session), next_cursor: Nullable(Type.String()) }),
            },
          },
        },
        async (request) => {
          const q = request.query;
          let user: string | undefined;
          if (q.user !== undefined) {
            try {
              user = parsePubkey(q.user);
            } catch (error) {
              if (error instanceof InvalidPubkeyError)
                throw new HttpError('validation_failed', error.message);
              throw error;
            }
          }
          const page = await reads.list({
            limit: q.limit,
            ...(user ? { user } : {}),
            ...(q.status ? { states: q.status as SessionState[] } : {}),
            ...(q.cursor ? { cursor: q.cursor } : {}),
          });
          return { sessions: page.sessions.map(sessionJson), next_cursor: page.nextCursor };
        },
      );

      app.get(
        '/sessions/stats',
        {
          schema: {
            summary: 'Sessions by state and type; open count; settlement time',
            tags: ['sessions'],
            response: {
              200: Type.Object({
                by_state: Type.Array(
                  Type.Object({ state: State, type: Type.String(), count: Type.Integer() }),
                ),
                open: Type.Integer(),
                settled: Type.Object({
                  count: Type.Integer(),
                  avg_ms: Nullable(Type.Integer()),
                  max_ms: Nullable(Type.Integer()),
                }),
              }),
            },
          },
        },
        async () => reads.stats(),
      );

      app.get(
        '/sessions/:id',
        {
          schema: {
            summary: 'One signing session',
            tags: ['sessions'],
            params: Id,
            response: { 200: Session },
          },
        },
        async (request) => sessionJson(await found(request.params.id)),
      );

      app.get(
        '/signing/ceremony/:id/status',
        {
          schema: {
            summary: "A session's ceremony: its state and every challenge",
            tags: ['sessions'],
            params: Id,
            response: { 200: Type.Object({ session: Session, challenges: Type.Array(Challenge) }) },
          },
        },
        async (request) => {
          const session = await found(request.params.id);
          return {
            session: sessionJson(session),
            challenges: (await reads.challenges(session.session_id)).map(challengeJson),
          };
        },
      );

      app.get(
        '/challenges/:id',
        {
          schema: {
            summary: 'One signing challenge (what was asked; the PSBTs travel only to the wallet)',
            tags: ['sessions'],
            params: Id,
            response: { 200: Challenge },
          },
        },
        async (request) => {
          const challenge = await reads.challenge(request.params.id);
          if (!challenge) throw new HttpError('not_found', `no challenge ${request.params.id}`);
          return challengeJson(challenge);
        },
      );
    },
    admin: async (app: HttpServer) => {
      app.post(
        '/sessions/cleanup',
        {
          schema: {
            summary: 'Resume open sessions, time out overdue ones, delete old challenges (admin key)',
            tags: ['sessions'],
            security: ADMIN_SECURITY,
            response: {
              200: Type.Object({ resumed_groups: Type.Integer(), challenges_deleted: Type.Integer() }),
            },
          },
        },
        async () => reads.cleanup(deps.challengeRetentionMs),
      );

      app.post(
        '/admin/ledger/reconcile',
        {
          schema: {
            summary:
              'Reconcile the ledger with the Ark server now (admin key): settle what it finalized, hold what it holds, release the rest',
            tags: ['admin'],
            security: ADMIN_SECURITY,
            response: { 200: ReconcileBody },
          },
        },
        async () => reconcileJson(await deps.reconcile()),
      );
    },
  };
}

const Ids = Type.Array(Type.String());
const ReconcileBody = Type.Object({
  checked_at: Time,
  transactions: Type.Object({ checked: Type.Integer(), settled: Ids, held: Ids, voided: Ids }),
  locks: Type.Object({ checked: Type.Integer(), released: Ids, held: Ids }),
  problems: Type.Array(Type.Object({ subject: Type.String(), problem: Type.String() })),
});
