// Housekeeping the operator triggers: removing old operational rows, and database statistics.
// Ledger, session and dedupe tables are never touched here: they are the record of money and
// of what was already executed (processed_events is what makes a re-delivered event harmless).
import { sql } from 'kysely';
import type { Database } from '../store/database.ts';
import { TABLE_NAMES, type TableName } from '../store/schema.ts';

/** Operational tables old rows may be removed from, with the time column that ages them. */
const CLEANABLE = {
  job_logs: 'started_at',
  system_metrics: 'sampled_at',
  alert_history: 'created_at',
  admin_audit_log: 'created_at',
  heartbeats: 'last_seen_at',
} as const satisfies Partial<Record<TableName, string>>;

export interface CleanupReport {
  readonly days: number;
  readonly dry_run: boolean;
  readonly before: string;
  /** Rows removed, or that would be removed on a dry run, per table. */
  readonly tables: Record<string, number>;
}

export async function cleanupOldData(
  database: Database,
  days: number,
  dryRun: boolean,
  now = Date.now(),
): Promise<CleanupReport> {
  if (!Number.isSafeInteger(days) || days < 1)
    throw new RangeError('days must be a whole number of at least 1');
  const before = now - days * 86_400_000;
  const tables: Record<string, number> = {};
  await database.db.transaction().execute(async (tx) => {
    for (const [table, column] of Object.entries(CLEANABLE) as [keyof typeof CLEANABLE, string][]) {
      if (dryRun) {
        const row = await tx
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where(sql.ref(column), '<', before)
          .executeTakeFirstOrThrow();
        tables[table] = Number(row.n);
      } else {
        const result = await tx.deleteFrom(table).where(sql.ref(column), '<', before).executeTakeFirst();
        tables[table] = Number(result.numDeletedRows);
      }
    }
  });
  return { days, dry_run: dryRun, before: new Date(before).toISOString(), tables };
}

export interface TableStats {
  readonly table: string;
  readonly rows: number;
  readonly bytes: number | null;
}

export interface DatabaseStats {
  readonly kind: 'sqlite' | 'mariadb';
  readonly tables: TableStats[];
  readonly total_bytes: number | null;
}

export async function databaseStats(database: Database): Promise<DatabaseStats> {
  const tables: TableStats[] = [];
  let sizes = new Map<string, number>();
  if (database.kind === 'mariadb') {
    const { rows } = await sql<{ t: string; bytes: number | string }>`
      select table_name as t, data_length + index_length as bytes
      from information_schema.tables where table_schema = database()`.execute(database.db);
    sizes = new Map(rows.map((r) => [r.t, Number(r.bytes)]));
  }
  for (const table of TABLE_NAMES) {
    const row = await database.db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    tables.push({ table, rows: Number(row.n), bytes: sizes.get(table) ?? null });
  }
  let total: number;
  if (database.kind === 'sqlite') {
    const { rows } = await sql<{ bytes: number }>`
      select page_count * page_size as bytes from pragma_page_count(), pragma_page_size()`.execute(
      database.db,
    );
    total = Number(rows[0]?.bytes ?? 0);
  } else {
    total = [...sizes.values()].reduce((a, b) => a + b, 0);
  }
  return { kind: database.kind, tables, total_bytes: total };
}
