import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { listTables, migrateToLatest, pendingMigrations } from '../../src/store/migrator.ts';
import { SQLITE_ONLY_TABLES, TABLE_NAMES } from '../../src/store/schema.ts';
import { migrationsFor } from '../../src/store/migrations/index.ts';
import {
  createTestDatabase,
  mariadbAvailable,
  silentLogger,
  type TestDatabase,
} from '../support/test-database.ts';

/** Every migration, in order: the list the migrator itself runs. */
const ALL_MIGRATIONS = Object.keys(migrationsFor('sqlite'));

const run = promisify(execFile);
const kinds = [
  { kind: 'sqlite', skip: false },
  { kind: 'mariadb', skip: !mariadbAvailable },
] as const;

for (const { kind, skip } of kinds) {
  const ALL_TABLES = [...TABLE_NAMES, ...(kind === 'sqlite' ? SQLITE_ONLY_TABLES : [])].sort();
  describe.skipIf(skip)(`migrations on ${kind}`, () => {
    let test: TestDatabase | undefined;
    afterEach(async () => {
      await test?.drop();
      test = undefined;
    });

    it('create every table of the schema, then have nothing left to do', async () => {
      test = await createTestDatabase(kind, silentLogger, { migrate: false });
      expect(await pendingMigrations(test.database)).toEqual(ALL_MIGRATIONS);

      expect(await migrateToLatest(test.database, silentLogger)).toEqual({
        applied: ALL_MIGRATIONS,
      });
      expect(await listTables(test.database)).toEqual(ALL_TABLES);
      expect(await pendingMigrations(test.database)).toEqual([]);

      expect(await migrateToLatest(test.database, silentLogger)).toEqual({ applied: [] });
      expect(await listTables(test.database)).toEqual(ALL_TABLES);
    });

    it('give job_logs and heartbeats exactly the columns the job queue writes', async () => {
      test = await createTestDatabase(kind);
      const tables = await test.database.db.introspection.getTables();
      const columns = (name: string) => tables.find((t) => t.name === name)?.columns.map((c) => c.name);
      expect(columns('job_logs')).toEqual([
        'id',
        'job_id',
        'queue',
        'job_name',
        'status',
        'attempt',
        'instance_id',
        'started_at',
        'finished_at',
        'duration_ms',
        'error',
        'result_json',
      ]);
      expect(columns('heartbeats')).toEqual([
        'instance_id',
        'role',
        'hostname',
        'pid',
        'version',
        'started_at',
        'last_seen_at',
        'details_json',
      ]);
    });
  });
}

describe.skipIf(!mariadbAvailable)('migrations on mariadb, server specifics', () => {
  let test: TestDatabase | undefined;
  afterEach(async () => {
    await test?.drop();
    test = undefined;
  });

  it('apply once when two instances migrate the same empty database at the same time', async () => {
    test = await createTestDatabase('mariadb', silentLogger, { migrate: false });
    const other = await test.reopen();
    const results = await Promise.all([
      migrateToLatest(test.database, silentLogger),
      migrateToLatest(other, silentLogger),
      migrateToLatest(test.database, silentLogger),
    ]);
    expect(results.flatMap((r) => r.applied)).toEqual(ALL_MIGRATIONS);
    const executed = await sql<{ name: string }>`select name from kysely_migration`.execute(test.database.db);
    expect(executed.rows.map((r) => r.name)).toEqual(ALL_MIGRATIONS);
    expect(await listTables(other)).toEqual([...TABLE_NAMES].sort());
  });

  it('make every table InnoDB with binary utf8mb4, and large text MEDIUMTEXT', async () => {
    test = await createTestDatabase('mariadb');
    const tables = await sql<{ name: string; engine: string; collation: string }>`
      select table_name as name, engine, table_collation as collation
      from information_schema.tables where table_schema = database() and table_name not like 'kysely%'`.execute(
      test.database.db,
    );
    expect(tables.rows).toHaveLength(TABLE_NAMES.length);
    for (const row of tables.rows)
      expect([row.name, row.engine, row.collation]).toEqual([row.name, 'InnoDB', 'utf8mb4_bin']);

    const types = await sql<{ name: string; type: string }>`
      select concat(table_name, '.', column_name) as name, data_type as type
      from information_schema.columns where table_schema = database()
        and concat(table_name, '.', column_name) in
          ('ark_transactions.ark_psbt', 'signing_sessions.context_json', 'vtxos.amount', 'job_logs.id')
      order by name`.execute(test.database.db);
    expect(types.rows).toEqual([
      { name: 'ark_transactions.ark_psbt', type: 'mediumtext' },
      { name: 'job_logs.id', type: 'bigint' },
      { name: 'signing_sessions.context_json', type: 'mediumtext' },
      { name: 'vtxos.amount', type: 'bigint' },
    ]);
  });
});

describe('migrations on sqlite, several processes', () => {
  it('apply once when three processes migrate the same new file at the same time', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'arkrelay-migrate-'));
    try {
      const file = join(dir, 'arkrelay.sqlite');
      const child = join(import.meta.dirname, 'migrate-child.ts');
      const startAt = String(Date.now() + 3_000);
      const outputs = await Promise.all(
        [1, 2, 3].map(() => run(process.execPath, [child, file, startAt], { timeout: 20_000 })),
      );
      const applied = outputs.flatMap((o) => (JSON.parse(o.stdout) as { applied: string[] }).applied);
      expect(applied).toEqual(ALL_MIGRATIONS);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
