// The admin key sent in the wrong places — a query string, a body field, a path, a value under an
// innocent name — is refused, and is never written down: not in admin_audit_log, not in any file
// under DATA_DIR, not in a backup, not in the logs.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/app.ts';
import { createRedactor, REDACTED } from '../../src/http/redact.ts';
import { Secret } from '../../src/config.ts';
import { createStack, LogCapture, stackName, startTestGateway, type SharedStack } from '../nostr/support.ts';

const KEY = 'at-rest-admin-key-'.padEnd(48, 'z');

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(path) : entry.isFile() ? [path] : [];
  });
}

let stack: SharedStack;
let gateway: Gateway;
const logs = new LogCapture('debug');

beforeAll(async () => {
  stack = await createStack();
  gateway = await startTestGateway({
    stack,
    env: { ADMIN_API_KEY: KEY, ADMIN_AUTH_MAX_FAILURES: '1000', LOG_LEVEL: 'debug' },
    logger: logs.logger,
  });
}, 60_000);
afterAll(async () => {
  await gateway?.stop('test over');
  await stack?.drop();
});

const call = (method: string, path: string, options: { header?: boolean; body?: unknown } = {}) =>
  fetch(`${gateway.httpUrl}${path}`, {
    method,
    headers: {
      ...(options.header === false ? {} : { 'x-admin-key': KEY }),
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });

describe(`no secret at rest (${stackName})`, () => {
  it('keeps the admin key out of the audit log, DATA_DIR, backups and logs wherever a client puts it', async () => {
    const before = await gateway.database.db.selectFrom('admin_audit_log').select('id').execute();
    const sent = [
      // In a query string only: refused (header only), and recorded as refused.
      await call('GET', `/admin/alerts/rules?x-admin-key=${KEY}`, { header: false }),
      await call('GET', `/admin/alerts?api_key=${encodeURIComponent(KEY)}`),
      await call('GET', `/admin/logs/recent?level=${KEY}`),
      // In a body: under a secret's name, and under an innocent one.
      await call('POST', '/admin/maintenance/cleanup', { body: { days: 30, dry_run: true, admin_key: KEY } }),
      await call('POST', '/admin/restart/service', { body: { service: KEY } }),
      await call('POST', '/admin/backup/create', { body: { type: 'schema', token: `Bearer ${KEY}` } }),
      // In a path.
      await call('POST', `/admin/alerts/rules/${KEY}/toggle`),
      // In the header, as it should be.
      await call('GET', '/admin/alerts/rules'),
    ];
    expect(sent.map((r) => r.status)).toEqual([401, 400, 400, 400, 404, 400, 404, 200]);

    const rows = await gateway.database.db
      .selectFrom('admin_audit_log')
      .selectAll()
      .orderBy('id', 'asc')
      .execute();
    const added = rows.slice(before.length);
    expect(added).toHaveLength(sent.length);
    for (const row of added) expect(JSON.stringify(row)).not.toContain(KEY);
    // What was sent is still recorded, the secret replaced.
    expect(added.map((r) => JSON.parse(r.params_json!) as unknown)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ query: { 'x-admin-key': REDACTED } }),
        expect.objectContaining({ body: { days: 30, dry_run: true, admin_key: REDACTED } }),
        expect.objectContaining({ body: { service: REDACTED } }),
      ]),
    );
    expect(added.some((r) => r.path === `/admin/alerts/rules/${encodeURI(REDACTED)}/toggle`)).toBe(true);

    // A full backup of the database holds none of it either.
    const backup = (await (
      await call('POST', '/admin/backup/create', { body: { type: 'full' } })
    ).json()) as {
      path: string;
    };
    expect(statSync(backup.path).size).toBeGreaterThan(0);
    expect(readFileSync(backup.path).includes(KEY)).toBe(false);
    // Nor does any file under DATA_DIR (the SQLite database and its WAL, the relay, the simulator).
    const files = filesUnder(stack.dataDir);
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) expect(readFileSync(file).includes(KEY), file).toBe(false);
    // Nor the logs.
    expect(logs.text.length).toBeGreaterThan(0);
    expect(logs.text).not.toContain(KEY);
  });
});

describe('the redactor', () => {
  const r = createRedactor([new Secret(KEY), new Secret('short'), undefined, new Secret('')]);

  it('hides fields named like secrets, at any depth, and values holding a configured secret', () => {
    expect(
      r.value({
        password: 'x',
        nested: [{ lnd_macaroon: 'abc', owner_pubkey: 'aa', note: `key is ${KEY}` }],
        amount: 5,
        ok: 'short',
        shorter: 'not short at all',
      }),
    ).toEqual({
      password: REDACTED,
      nested: [{ lnd_macaroon: REDACTED, owner_pubkey: 'aa', note: `key is ${REDACTED}` }],
      amount: 5,
      ok: REDACTED,
      // A short secret is hidden only as a whole value: a substring match would hide too much.
      shorter: 'not short at all',
    });
  });

  it('hides secrets in URLs: secret-named query values, configured secrets anywhere, nsec keys', () => {
    expect(r.url(`/a/${KEY}/b?limit=5&api_key=abc&note=${encodeURIComponent(KEY)}`)).toBe(
      '/a/%5Bredacted%5D/b?limit=5&api_key=%5Bredacted%5D&note=%5Bredacted%5D',
    );
    expect(r.url('/x?owner_pubkey=ab&limit=1')).toBe('/x?owner_pubkey=ab&limit=1');
    expect(r.text(`nsec1${'q'.repeat(58)}`)).toBe(REDACTED);
  });
});
