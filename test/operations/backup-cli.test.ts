// `arkrelay backup create` and `arkrelay backup restore` as an operator runs them.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/database.ts';
import { runCli, tempDir } from '../support/cli.ts';
import { silentLogger } from '../support/test-database.ts';

describe('arkrelay backup', () => {
  it('creates a backup of a migrated embedded database and restores it into a fresh DATA_DIR', async () => {
    const cwd = tempDir();
    const migrate = runCli(['migrate'], {}, cwd);
    expect((await migrate.exited).code).toBe(0);
    const create = runCli(['backup', 'create'], {}, cwd);
    expect((await create.exited).code, create.stderr()).toBe(0);
    const backup = JSON.parse(create.stdout().slice(create.stdout().indexOf('{\n'))) as {
      path: string;
      sha256: string;
    };
    expect(statSync(backup.path).mode & 0o777).toBe(0o600);
    expect(backup.path.startsWith(join(cwd, 'data', 'backups'))).toBe(true);

    const target = tempDir();
    const restore = runCli(['backup', 'restore', backup.path], {}, target);
    expect((await restore.exited).code, restore.stderr()).toBe(0);
    const restored = await openDatabase(
      { kind: 'sqlite', file: join(target, 'data', 'arkrelay.sqlite') },
      silentLogger,
    );
    const migrations = await restored.db
      .selectFrom('kysely_migration' as never)
      .selectAll()
      .execute();
    await restored.close();
    expect(migrations.length).toBeGreaterThan(0);
  });

  it('refuses a missing file with one line', async () => {
    const run = runCli(['backup', 'restore', '/nonexistent/backup.sqlite']);
    expect((await run.exited).code).not.toBe(0);
    expect(run.stderr().trim()).toBe('arkrelay: backup: no backup file at /nonexistent/backup.sqlite');
  });
});
