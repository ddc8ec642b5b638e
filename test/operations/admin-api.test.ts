// Every admin route of the operator guide, through the composed gateway on the embedded default.
import { statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logging.ts';
import { tempDir } from '../support/cli.ts';

const KEY = 'operator-key-'.padEnd(48, 'x');
// Response bodies are checked field by field below; their static type adds nothing here.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
const json = async (response: Response): Promise<Json> => response.json();
let gateway: Gateway;
let url: string;

const call = (method: string, path: string, options: { key?: string | null; body?: unknown } = {}) =>
  fetch(`${url}${path}`, {
    method,
    headers: {
      ...(options.key === null ? {} : { 'x-admin-key': options.key ?? KEY }),
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });

const ROUTES: [string, string, unknown?][] = [
  ['GET', '/admin/health/comprehensive'],
  ['GET', '/admin/metrics/system?hours=24'],
  ['GET', '/admin/alerts'],
  ['GET', '/admin/alerts/rules'],
  ['POST', '/admin/alerts/rules/high_cpu/toggle'],
  ['POST', '/admin/maintenance/cleanup', { days: 30, dry_run: true }],
  ['GET', '/admin/logs/recent?limit=10&level=completed'],
  ['GET', '/admin/database/stats'],
  ['GET', '/admin/services/status'],
  ['GET', '/admin/jobs/statistics'],
  ['GET', '/admin/dashboard/summary'],
  ['GET', '/admin/performance/profile?seconds=1'],
  ['POST', '/admin/restart/service', { service: 'monitoring' }],
  ['POST', '/admin/backup/create', { type: 'schema' }],
  ['GET', '/admin/backup/list'],
  ['POST', '/admin/backup/prune', { dry_run: true }],
];

beforeAll(async () => {
  const dataDir = tempDir();
  gateway = await startGateway(
    loadConfig({
      DATA_DIR: dataDir,
      PORT: '0',
      HOST: '127.0.0.1',
      ADMIN_API_KEY: KEY,
      ADMIN_AUTH_MAX_FAILURES: '1000',
      EMBEDDED_RELAY_PORT: '0',
      METRICS_PORT: '0',
    }),
    { roles: ['api'], logger: createLogger({ level: 'silent' }) },
  );
  url = gateway.httpUrl!;
});
afterAll(async () => gateway?.stop('test over'));

describe('admin API', () => {
  it.each(ROUTES)(
    '%s %s: 401 without a key, 401 with a wrong one, 200 with the key',
    async (method, path, body) => {
      expect((await call(method, path, { key: null, body })).status).toBe(401);
      const wrong = await call(method, path, { key: KEY.slice(0, -1) + 'y', body });
      expect(wrong.status).toBe(401);
      expect(await json(wrong)).toEqual({
        error: { code: 'unauthorized', message: 'missing or wrong x-admin-key header' },
      });
      const ok = await call(method, path, { body });
      expect(ok.status, await ok.clone().text()).toBe(200);
    },
  );

  it('writes every call to the audit log, refused ones included', async () => {
    const before = await gateway.database.db.selectFrom('admin_audit_log').select('id').execute();
    await call('GET', '/admin/alerts/rules', { key: null });
    await call('GET', '/admin/alerts/rules');
    const rows = await gateway.database.db
      .selectFrom('admin_audit_log')
      .selectAll()
      .orderBy('id', 'asc')
      .execute();
    const added = rows.slice(before.length);
    expect(added.map((r) => [r.path, r.status_code, r.actor])).toEqual([
      ['/admin/alerts/rules', 401, 'unauthenticated'],
      ['/admin/alerts/rules', 200, 'admin-key'],
    ]);
  });

  it('audits the operational endpoints behind the key too, sharing one failure count', async () => {
    await call('POST', '/grpc/reconnect/lnd');
    await call('GET', '/grpc/reconnect/arkd', { key: 'not-the-key' });
    const rows = await gateway.database.db
      .selectFrom('admin_audit_log')
      .select(['path', 'status_code'])
      .where('path', 'like', '/grpc/reconnect/%')
      .orderBy('id', 'asc')
      .execute();
    expect(rows).toEqual([
      { path: '/grpc/reconnect/lnd', status_code: 200 },
      { path: '/grpc/reconnect/arkd', status_code: 401 },
    ]);
  });

  it.each([
    ['POST', '/admin/maintenance/cleanup', { days: -1 }],
    ['POST', '/admin/maintenance/cleanup', { days: 0, dry_run: false }],
    ['POST', '/admin/maintenance/cleanup', { days: 30, dry_run: false, extra: 1 }],
    ['GET', '/admin/logs/recent?limit=100000'],
    ['GET', '/admin/logs/recent?level=exploded'],
    ['GET', '/admin/metrics/system?hours=-3'],
    ['POST', '/admin/backup/create', { type: 'partial' }],
  ] as const)('%s %s with bad parameters: 400 and nothing changes', async (method, path, body?) => {
    const response = await call(method, path, { body });
    expect(response.status).toBe(400);
    expect((await json(response)).error.code).toBe('validation_failed');
  });

  it('unknown rule and unknown service: 404', async () => {
    expect((await call('POST', '/admin/alerts/rules/no_such_rule/toggle')).status).toBe(404);
    expect((await call('POST', '/admin/restart/service', { body: { service: 'nope' } })).status).toBe(404);
  });

  it('toggles a rule off and on again, persisted', async () => {
    const off = await json(await call('POST', '/admin/alerts/rules/low_disk/toggle'));
    expect(off).toMatchObject({ rule: 'low_disk', enabled: false });
    const rules = (await json(await call('GET', '/admin/alerts/rules'))) as {
      rules: { rule: string; enabled: boolean }[];
    };
    expect(rules.rules.find((r) => r.rule === 'low_disk')?.enabled).toBe(false);
    expect(await json(await call('POST', '/admin/alerts/rules/low_disk/toggle'))).toMatchObject({
      enabled: true,
    });
  });

  it('cleanup: a dry run reports and removes nothing; a real run removes old rows only', async () => {
    const db = gateway.database.db;
    const old = Date.now() - 40 * 86_400_000;
    await db
      .insertInto('system_metrics')
      .values({
        instance_id: 'old',
        sampled_at: old,
        cpu_percent: 1,
        memory_percent: 1,
        memory_rss_bytes: 1,
        disk_percent: 1,
        disk_free_bytes: 1,
        event_loop_lag_ms: 1,
        load_avg_1m: 1,
      })
      .execute();
    const count = async () => (await db.selectFrom('system_metrics').select('id').execute()).length;
    const total = await count();
    const dry = await json(
      await call('POST', '/admin/maintenance/cleanup', { body: { days: 30, dry_run: true } }),
    );
    expect(dry).toMatchObject({ dry_run: true, tables: { system_metrics: 1 } });
    expect(await count()).toBe(total);
    const real = await json(
      await call('POST', '/admin/maintenance/cleanup', { body: { days: 30, dry_run: false } }),
    );
    expect(real).toMatchObject({ dry_run: false, tables: { system_metrics: 1 } });
    expect(await count()).toBe(total - 1);
  });

  it('restart really stops and starts the named service', async () => {
    const startedAt = async () => (await json(await fetch(`${url}/monitoring/stats`))).started_at as string;
    const before = await startedAt();
    await new Promise((r) => setTimeout(r, 5));
    const status = await json(
      await call('POST', '/admin/restart/service', { body: { service: 'monitoring' } }),
    );
    expect(status).toMatchObject({ name: 'monitoring', running: true });
    expect(status.restarts).toBeGreaterThanOrEqual(1);
    // A stub would leave the service's own start time alone.
    const after = await startedAt();
    expect(Date.parse(after)).toBeGreaterThan(Date.parse(before));
  });

  it('creates an owner-only full backup with its checksum', async () => {
    const backup = await json(await call('POST', '/admin/backup/create', { body: { type: 'full' } }));
    expect(backup).toMatchObject({
      type: 'full',
      database: 'sqlite',
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(statSync(backup.path).mode & 0o777).toBe(0o600);
  });
});

describe('operational read routes', () => {
  it.each([
    '/health/comprehensive',
    '/monitoring/stats',
    '/monitoring/alerts',
    '/monitoring/cache/stats',
    '/stats',
    '/jobs',
    '/queue-status',
  ])('GET %s answers 200 with JSON', async (path) => {
    const response = await fetch(`${url}${path}`);
    expect(response.status, await response.clone().text()).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/json');
  });

  it('GET /jobs/{id} shows every attempt of a job, 404 for an unknown one', async () => {
    const id = await gateway.queue.enqueue('heartbeat', {}, { jobId: 'hb-admin-test' });
    const deadline = Date.now() + 5_000;
    let response: Response;
    do {
      response = await fetch(`${url}/jobs/${id}`);
      if (response.status === 200) break;
      await new Promise((r) => setTimeout(r, 50));
    } while (Date.now() < deadline);
    expect(response.status).toBe(200);
    expect(await json(response)).toMatchObject({
      job_id: 'hb-admin-test',
      job_name: 'heartbeat',
      attempts: [expect.objectContaining({ attempt: 1 })],
    });
    expect((await fetch(`${url}/jobs/nope`)).status).toBe(404);
  });
});
