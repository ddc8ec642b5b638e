// Listing and pruning BACKUP_DIR: newest first, by age and by count, the newest full backup
// always kept, only complete backups ever shown or deleted; retention after each backup.
import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackup, listBackups, pruneBackups, type BackupType } from '../../src/operations/backup.ts';
import { runCli, tempDir } from '../support/cli.ts';
import { createTestDatabase, mariadbAvailable, type TestDatabase } from '../support/test-database.ts';

const DAY = 86_400_000;
const NOW = Date.parse('2026-06-01T12:00:00Z');

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase(mariadbAvailable ? 'mariadb' : 'sqlite');
});
afterAll(async () => t?.drop());

/** Backups made `daysAgo` days before NOW, oldest first. */
async function backupsAt(dir: string, plan: readonly [number, BackupType][]): Promise<string[]> {
  const names: string[] = [];
  for (const [daysAgo, type] of plan) {
    const made = await createBackup(t.database, t.config, dir, type, { now: new Date(NOW - daysAgo * DAY) });
    names.push(made.name);
  }
  return names;
}

describe(`backup retention (${mariadbAvailable ? 'mariadb' : 'sqlite'})`, () => {
  it('lists complete backups only, newest first', async () => {
    const dir = tempDir();
    const [old, mid, recent] = await backupsAt(dir, [
      [40, 'full'],
      [10, 'schema'],
      [1, 'full'],
    ]);
    // Neither a backup being written nor a stranger's file is a backup.
    writeFileSync(join(dir, `.${recent}.partial`), 'half');
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    mkdirSync(join(dir, 'arkrelay-sqlite-full-20260101T000000Z-abcdef.sqlite'));
    const list = await listBackups(dir);
    expect(list.map((b) => b.name)).toEqual([recent, mid, old]);
    expect(list[0]).toMatchObject({
      database: t.config.kind,
      type: 'full',
      created_at: new Date(NOW - DAY).toISOString(),
    });
    expect(list[0]!.size_bytes).toBeGreaterThan(0);
    expect(await listBackups(join(dir, 'nothing-here'))).toEqual([]);
  });

  it('prunes by age and by count; a dry run deletes nothing; other files are left alone', async () => {
    const dir = tempDir();
    const names = await backupsAt(dir, [
      [50, 'full'],
      [40, 'schema'],
      [20, 'full'],
      [5, 'schema'],
      [2, 'full'],
      [0, 'schema'],
    ]);
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    // What a crashed backup left a day ago goes with the first real prune; one being written stays.
    const abandoned = join(dir, '.arkrelay-sqlite-full-20260101T000000Z-aaaaaa.sqlite.partial');
    writeFileSync(abandoned, 'half');
    utimesSync(abandoned, new Date(Date.now() - 2 * DAY), new Date(Date.now() - 2 * DAY));
    const writing = join(dir, '.arkrelay-sqlite-full-20260101T000000Z-bbbbbb.sqlite.partial');
    writeFileSync(writing, 'half');
    const [d50, d40, d20, d5, d2, d0] = names;

    const dry = await pruneBackups(dir, { days: 30, count: 0 }, { dryRun: true, now: NOW });
    expect(dry.deleted.map((b) => b.name)).toEqual([d40, d50]);
    expect(readdirSync(dir)).toHaveLength(9);

    const byAge = await pruneBackups(dir, { days: 30, count: 0 }, { now: NOW });
    expect(byAge.deleted.map((b) => b.name)).toEqual([d40, d50]);
    expect((await listBackups(dir)).map((b) => b.name)).toEqual([d0, d2, d5, d20]);
    expect([existsSync(abandoned), existsSync(writing)]).toEqual([false, true]);

    const byCount = await pruneBackups(dir, { days: 0, count: 2 }, { now: NOW });
    expect(byCount.deleted.map((b) => b.name)).toEqual([d5, d20]);
    expect(byCount.kept.map((b) => b.name)).toEqual([d0, d2]);
    expect(existsSync(join(dir, 'notes.txt'))).toBe(true);

    // Both limits off: nothing goes.
    expect((await pruneBackups(dir, { days: 0, count: 0 }, { now: NOW })).deleted).toEqual([]);
  });

  it('never deletes the newest full backup, however old', async () => {
    const dir = tempDir();
    const [full, schema1, schema2] = await backupsAt(dir, [
      [90, 'full'],
      [60, 'schema'],
      [0, 'schema'],
    ]);
    const result = await pruneBackups(dir, { days: 30, count: 1 }, { now: NOW });
    expect(result.deleted.map((b) => b.name)).toEqual([schema1]);
    expect((await listBackups(dir)).map((b) => b.name)).toEqual([schema2, full]);
  });

  it('applies retention after each backup it is given', async () => {
    const dir = tempDir();
    await backupsAt(dir, [
      [3, 'full'],
      [2, 'full'],
      [1, 'full'],
    ]);
    const made = await createBackup(t.database, t.config, dir, 'full', {
      now: new Date(NOW),
      retention: { days: 0, count: 2 },
    });
    expect(made.pruned).toHaveLength(2);
    expect((await listBackups(dir)).map((b) => b.name)).toEqual([made.name, expect.any(String)]);
  });
});

describe.skipIf(mariadbAvailable)('arkrelay backup list | prune', () => {
  it('lists BACKUP_DIR and prunes it with the retention of the environment or the options', async () => {
    const cwd = tempDir();
    const env = { BACKUP_RETENTION_COUNT: '2', BACKUP_RETENTION_DAYS: '0' };
    expect((await runCli(['migrate'], env, cwd).exited).code).toBe(0);
    for (let i = 0; i < 4; i++) {
      const create = runCli(['backup', 'create', '--type', i === 0 ? 'full' : 'schema'], env, cwd);
      expect((await create.exited).code, create.stderr()).toBe(0);
      // Names carry the second they were made: keep them apart.
      await new Promise((r) => setTimeout(r, 1_050));
    }
    const json = (text: string) => JSON.parse(text.slice(text.indexOf('{\n'))) as Record<string, unknown>;
    const list = runCli(['backup', 'list'], env, cwd);
    expect((await list.exited).code).toBe(0);
    const listed = json(list.stdout()) as { backup_dir: string; backups: { name: string; type: string }[] };
    expect(listed.backup_dir).toBe(join(cwd, 'data', 'backups'));
    // Four made; the retention after each kept the newest two, and the full backup (always kept).
    expect(listed.backups.map((b) => b.type)).toEqual(['schema', 'schema', 'full']);

    const dry = runCli(['backup', 'prune', '--count', '1', '--dry-run'], env, cwd);
    expect((await dry.exited).code).toBe(0);
    expect(json(dry.stdout())).toMatchObject({ dry_run: true, deleted: [{ name: listed.backups[1]!.name }] });
    expect(readdirSync(join(cwd, 'data', 'backups'))).toHaveLength(3);
    const prune = runCli(['backup', 'prune', '--count', '1'], env, cwd);
    expect((await prune.exited).code).toBe(0);
    expect(readdirSync(join(cwd, 'data', 'backups')).sort()).toEqual(
      [listed.backups[0]!.name, listed.backups[2]!.name].sort(),
    );

    const bad = runCli(['backup', 'prune', '--days', 'soon'], env, cwd);
    expect((await bad.exited).code).not.toBe(0);
    expect(bad.stderr()).toContain('--days must be a whole number');
  }, 60_000);
});
