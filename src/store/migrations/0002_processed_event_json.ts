// processed_events.event_json: the claimed event itself, so a claim whose process died (the
// in-process queue loses its jobs on exit) can be handed to a worker again without waiting for
// a relay to deliver the event once more. Idempotent: a rerun after a cut-off finds the column.
import { sql, type Kysely } from 'kysely';
import type { DialectKind } from './ddl.ts';

export async function up(db: Kysely<unknown>, kind: DialectKind): Promise<void> {
  const tables = await db.introspection.getTables();
  const table = tables.find((t) => t.name === 'processed_events');
  if (table?.columns.some((c) => c.name === 'event_json')) return;
  const type = kind === 'mariadb' ? sql`mediumtext` : sql`text`;
  await sql`alter table processed_events add column event_json ${type}`.execute(db);
}
