// Everything under DATA_DIR is owner-only after a start — files 0600, directories 0700 — both what
// the gateway creates (database and its WAL/SHM, the embedded relay's store, the simulator's
// world, the generated secret, backups) and what an older version or a hand copy left looser.
import { chmodSync, lstatSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/app.ts';
import { createLogger } from '../../src/logging.ts';
import { createStack, stackName, startTestGateway, type SharedStack } from '../nostr/support.ts';
import { mariadbAvailable } from '../support/test-database.ts';

const KEY = 'file-modes-admin-key-'.padEnd(48, 'm');

/** Every file and directory under `dir` (symlinks excluded) with its permission bits. */
function modesUnder(dir: string): Map<string, number> {
  const modes = new Map<string, number>();
  const visit = (path: string) => {
    const info = lstatSync(path);
    if (info.isSymbolicLink()) return;
    modes.set(path, info.mode & 0o777);
    if (info.isDirectory()) for (const name of readdirSync(path)) visit(join(path, name));
  };
  visit(dir);
  return modes;
}

function loosen(dir: string): void {
  for (const [path] of modesUnder(dir)) {
    chmodSync(path, lstatSync(path).isDirectory() ? 0o755 : 0o644);
  }
}

let stack: SharedStack;
let gateway: Gateway | undefined;
afterAll(async () => {
  await gateway?.stop('test over');
  await stack?.drop();
});

describe(`file modes under DATA_DIR (${stackName})`, () => {
  it('are owner-only after a start, what was left looser included', async () => {
    stack = await createStack();
    const dataDir = stack.dataDir;
    // Logs live outside DATA_DIR (the default layout): their modes are the logger's business.
    const logDir = join(dataDir, '..', `logs-${Date.now()}`);
    const quiet = () => new Writable({ write: (_chunk, _enc, done) => done() });
    const start = () =>
      startTestGateway({
        stack,
        env: { ADMIN_API_KEY: KEY, LOG_DIR: logDir },
        logger: createLogger({ level: 'info', logDir, stdout: quiet() }),
      });

    const check = async (running: Gateway) => {
      const backup = await fetch(`${running.httpUrl}/admin/backup/create`, {
        method: 'POST',
        headers: { 'x-admin-key': KEY, 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'full' }),
      });
      expect(backup.status).toBe(200);
      const modes = modesUnder(dataDir);
      const names = [...modes.keys()].map((p) => p.slice(dataDir.length + 1));
      expect(names).toEqual(
        expect.arrayContaining([
          'relay.sqlite',
          'sim',
          join('sim', 'world.sqlite'),
          'backups',
          ...(mariadbAvailable ? [] : ['arkrelay.sqlite', 'arkrelay.sqlite-wal', 'secret_key']),
        ]),
      );
      expect(names.some((n) => n.startsWith(join('backups', 'arkrelay-')))).toBe(true);
      const loose = [...modes]
        .filter(([path, mode]) => mode !== (lstatSync(path).isDirectory() ? 0o700 : 0o600))
        .map(([path, mode]) => `${path.slice(dataDir.length + 1) || '.'} ${mode.toString(8)}`);
      expect(loose).toEqual([]);
      return names;
    };

    // A fresh DATA_DIR: everything is created owner-only.
    gateway = await start();
    await check(gateway);
    await gateway.stop('first run over');
    gateway = undefined;

    // Everything loosened, as an older version (or a hand copy) would have left it.
    writeFileSync(join(dataDir, 'notes.txt'), 'operator notes\n', { mode: 0o644 });
    mkdirSync(join(dataDir, 'old-logs'));
    writeFileSync(join(dataDir, 'old-logs', 'arkrelay.log'), '{}\n', { mode: 0o644 });
    loosen(dataDir);
    // A symlink is neither followed nor changed: its target is outside DATA_DIR.
    const outside = join(stack.dataDir, '..', `outside-${Date.now()}.txt`);
    writeFileSync(outside, 'not ours\n', { mode: 0o644 });
    symlinkSync(outside, join(dataDir, 'link-outside'));

    gateway = await start();
    expect(await check(gateway)).toEqual(
      expect.arrayContaining(['notes.txt', 'old-logs', join('old-logs', 'arkrelay.log')]),
    );
    expect(lstatSync(outside).mode & 0o777).toBe(0o644);
  }, 60_000);
});
