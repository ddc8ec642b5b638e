import { createConnection } from 'mysql2/promise';
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createBackup, restoreBackup } from '../../src/operations/backup.ts';
import { openDatabase, type Database } from '../../src/store/database.ts';
import { migrateToLatest } from '../../src/store/migrator.ts';
import { TABLE_NAMES } from '../../src/store/schema.ts';
import { tempDir } from '../support/cli.ts';
import {
  createTestDatabase,
  mariadbAvailable,
  mariadbConfigFor,
  silentLogger,
  type TestDatabase,
} from '../support/test-database.ts';
import { intentRow, vtxoRow } from '../store/fixtures.ts';

async function rowCounts(database: Database): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of TABLE_NAMES) {
    const row = await database.db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    counts[table] = Number(row.n);
  }
  return counts;
}

async function seed(database: Database): Promise<void> {
  await database.db
    .insertInto('vtxos')
    .values([vtxoRow(), vtxoRow({ status: 'available' }), vtxoRow({ amount: 2n ** 62n })])
    .execute();
  await database.db.insertInto('intents').values([intentRow(), intentRow()]).execute();
}

let t: TestDatabase | undefined;
afterEach(async () => {
  await t?.drop();
  t = undefined;
});

describe('backups on SQLite', () => {
  it('backs up online, owner-only with its sha256, and restores to the same rows', async () => {
    t = await createTestDatabase('sqlite');
    await seed(t.database);
    const before = await rowCounts(t.database);
    const dir = join(tempDir(), 'backups');
    const backup = await createBackup(t.database, t.config, dir, 'full');
    expect(backup).toMatchObject({ type: 'full', database: 'sqlite' });
    expect(statSync(backup.path).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(backup.size_bytes).toBe(statSync(backup.path).size);
    expect(backup.sha256).toMatch(/^[0-9a-f]{64}$/);

    const target = { kind: 'sqlite' as const, file: join(tempDir(), 'restored', 'arkrelay.sqlite') };
    await restoreBackup(target, backup.path);
    const restored = await openDatabase(target, silentLogger);
    try {
      expect(await rowCounts(restored)).toEqual(before);
      const big = await restored.db
        .selectFrom('vtxos')
        .select('amount')
        .where('amount', '=', 2n ** 62n)
        .executeTakeFirst();
      expect(big).toBeDefined();
    } finally {
      await restored.close();
    }
  });

  it('a schema backup holds the CREATE statements and no rows; a tampered file is refused on restore', async () => {
    t = await createTestDatabase('sqlite');
    await seed(t.database);
    const backup = await createBackup(t.database, t.config, join(tempDir(), 'b'), 'schema');
    const text = readFileSync(backup.path, 'utf8');
    expect(text).toContain('CREATE TABLE');
    // The triggers come with the schema (the VTXO page cache relies on them); no row does:
    // an INSERT appears only inside a trigger's body, never as a statement of its own.
    expect(text).toMatch(/create trigger vtxos_owner_version_update/i);
    expect(text).not.toMatch(/^insert/im);
    const target = { kind: 'sqlite' as const, file: join(tempDir(), 'x.sqlite') };
    await expect(restoreBackup(target, backup.path)).rejects.toThrow(/full backup/);
  });
});

describe.skipIf(!mariadbAvailable)('backups on MariaDB', () => {
  it('dumps without a password on the command line and restores into a fresh database with the same rows', async () => {
    t = await createTestDatabase('mariadb');
    await seed(t.database);
    const before = await rowCounts(t.database);
    const backup = await createBackup(t.database, t.config, join(tempDir(), 'backups'), 'full');
    expect(statSync(backup.path).mode & 0o777).toBe(0o600);
    expect(readFileSync(backup.path, 'utf8')).toContain('INSERT INTO `vtxos`');

    const name = `arkrelay_restore_${randomBytes(4).toString('hex')}`;
    const target = mariadbConfigFor(name);
    const admin = await createConnection({
      host: target.host,
      port: target.port,
      user: target.user,
      password: target.password.reveal(),
    });
    await admin.query(`CREATE DATABASE \`${name}\``);
    try {
      await restoreBackup(target, backup.path);
      const restored = await openDatabase(target, silentLogger);
      try {
        expect(await rowCounts(restored)).toEqual(before);
        expect((await migrateToLatest(restored, silentLogger)).applied).toEqual([]);
      } finally {
        await restored.close();
      }
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await admin.end();
    }
  });
});
