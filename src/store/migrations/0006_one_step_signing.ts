// Protocol v1.1 signs a transaction in one step (docs/protocol.md, "Signing sessions"). The state
// a wallet answers in is now `awaiting_signatures`. A session still waiting for the second step
// of v1.0 (`awaiting_checkpoint_signatures`, or the never-used `finalized`) cannot be finished by
// this version — it needs the wallet's checkpoint signatures, which v1.0 asked for after
// submission — so the migration refuses to run while one exists: finish or expire them on the
// previous version first (they expire at their step deadline, 120 s by default).
import { sql, type Kysely } from 'kysely';
import { createIndex, type DialectKind } from './ddl.ts';

export async function up(db: Kysely<unknown>, _kind: DialectKind): Promise<void> {
  const waiting = await sql<{ n: number | string }>`
    select count(*) as n from signing_sessions
    where state in ('awaiting_checkpoint_signatures', 'finalized')`.execute(db);
  const count = Number(waiting.rows[0]?.n ?? 0);
  if (count > 0) {
    throw new Error(
      `${count} signing session(s) wait for the second signing step of protocol v1.0; ` +
        'let them finish or expire on the previous version, then migrate again',
    );
  }
  await sql`update signing_sessions set state = 'awaiting_signatures'
    where state = 'awaiting_ark_signatures'`.execute(db);
  // The abuse limits count an author's sessions that ended recently.
  await createIndex(db, 'signing_sessions_owner_completed_idx', 'signing_sessions', [
    'owner_pubkey',
    'completed_at',
  ]);
}
