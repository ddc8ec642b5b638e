// `arkrelay backup restore` against a database a gateway is serving: refused, naming the live
// process, and nothing changes; `--force` restores; once the gateway has stopped, a plain
// restore goes through. And the admin API's backup list and download.
import { chmodSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/app.ts';
import { openDatabase, type Database } from '../../src/store/database.ts';
import { createStack, stackName, startTestGateway, type SharedStack } from '../nostr/support.ts';
import { runCli, tempDir } from '../support/cli.ts';
import { silentLogger } from '../support/test-database.ts';
import { waitFor } from '../support/wait.ts';

const KEY = 'restore-live-admin-key-'.padEnd(48, 'r');
const MARKER = '/admin/alerts/rules/marker-after-backup/toggle';

let stack: SharedStack;
let gateway: Gateway;

beforeAll(async () => {
  stack = await createStack();
  gateway = await startTestGateway({ stack, env: { ADMIN_API_KEY: KEY } });
}, 60_000);
afterAll(async () => {
  await gateway?.stop('test over');
  await stack?.drop();
});

const admin = (method: string, path: string, body?: unknown, key: string | null = KEY) =>
  fetch(`${gateway.httpUrl}${path}`, {
    method,
    headers: {
      ...(key === null ? {} : { 'x-admin-key': key }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

/** The CLI on the same database as the gateway (its DATA_DIR, or its MariaDB database). */
const cli = (...args: string[]) => runCli(args, { ...stack.env, DATA_DIR: stack.dataDir }, tempDir());

/** Audit rows of a marker path, read through a connection of our own (what a restart would see). */
async function markers(path: string): Promise<number> {
  const database: Database = await openDatabase(gateway.config.database, silentLogger);
  try {
    const rows = await database.db
      .selectFrom('admin_audit_log')
      .select('id')
      .where('path', '=', path)
      .execute();
    return rows.length;
  } finally {
    await database.close();
  }
}

describe(`backups of a live gateway (${stackName})`, () => {
  let backup: { name: string; path: string; sha256: string };

  it('lists and downloads a backup over the admin API, owner-only, by name only', async () => {
    const created = await admin('POST', '/admin/backup/create', { type: 'full' });
    expect(created.status).toBe(200);
    backup = (await created.json()) as typeof backup;
    expect(backup.name).toBe(backup.path.split('/').pop());

    const list = (await (await admin('GET', '/admin/backup/list')).json()) as {
      backup_dir: string;
      backups: { name: string; size_bytes: number }[];
    };
    expect(list.backup_dir).toBe(join(stack.dataDir, 'backups'));
    expect(list.backups[0]).toMatchObject({ name: backup.name, size_bytes: statSync(backup.path).size });

    // Someone loosened it: the download serves it and makes it owner-only again.
    chmodSync(backup.path, 0o644);
    const download = await admin('GET', `/admin/backup/${backup.name}`);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-disposition')).toBe(`attachment; filename="${backup.name}"`);
    expect(download.headers.get('cache-control')).toBe('no-store');
    const bytes = Buffer.from(await download.arrayBuffer());
    expect(bytes.equals(readFileSync(backup.path))).toBe(true);
    expect(statSync(backup.path).mode & 0o777).toBe(0o600);

    expect((await admin('GET', `/admin/backup/${backup.name}`, undefined, null)).status).toBe(401);
    expect((await admin('GET', '/admin/backup/..%2F..%2Farkrelay.sqlite')).status).toBe(400);
    const missing = backup.name.replace(/-[0-9a-f]{6}\./, '-000000.');
    expect((await admin('GET', `/admin/backup/${missing}`)).status).toBe(404);
    // A symlink named like a backup is not followed out of BACKUP_DIR.
    const sneaky = backup.name.replace(/-[0-9a-f]{6}\./, '-abcdef.');
    symlinkSync('/etc/hostname', join(stack.dataDir, 'backups', sneaky));
    expect((await admin('GET', `/admin/backup/${sneaky}`)).status).toBe(404);
  });

  it('refuses a restore while the gateway runs, naming it, and changes nothing', async () => {
    // An audit row the backup lacks (written once the response is out).
    expect((await admin('POST', MARKER)).status).toBe(404);
    await waitFor(async () => (await markers(MARKER)) === 1, 5_000, 'the marker audit row');

    const refused = cli('backup', 'restore', backup.path);
    expect((await refused.exited).code).not.toBe(0);
    expect(refused.stderr()).toContain('refusing to restore');
    expect(refused.stderr()).toContain(gateway.config.instanceId);
    expect(refused.stderr()).toContain(`pid ${process.pid}`);
    expect(refused.stderr()).toContain('--force');
    expect(await markers(MARKER)).toBe(1);
  }, 60_000);

  it('--force restores anyway (by name), warning that the live process must be restarted', async () => {
    const forced = cli('backup', 'restore', '--force', backup.name);
    expect((await forced.exited).code, forced.stderr()).toBe(0);
    expect(forced.stderr()).toContain('restart');
    expect(forced.stderr()).toContain(gateway.config.instanceId);
    expect(await markers(MARKER)).toBe(0);
  }, 60_000);

  it('once the gateway has stopped (its lease released), a plain restore goes through', async () => {
    await gateway.stop('restarted after the forced restore');
    // Started again on the restored database, then stopped cleanly: its lease is released.
    gateway = await startTestGateway({ stack, env: { ADMIN_API_KEY: KEY } });
    expect((await cli('backup', 'restore', backup.path).exited).code).not.toBe(0);
    await gateway.stop('stopped for a restore');
    const restore = cli('backup', 'restore', backup.path);
    expect((await restore.exited).code, restore.stderr()).toBe(0);
    expect(restore.stdout()).toContain('restored');
  }, 60_000);
});
