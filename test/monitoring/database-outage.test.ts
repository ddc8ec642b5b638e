// A gateway on MariaDB whose connections a TCP proxy cuts: the outage is reported, not suffered.
// /health names the database within a second, service_down fires naming `database` and reaches
// the webhook (re-sent while it lasts), the alert routes answer from memory, the routes that read
// the database answer 503 naming it, the log says so once rather than per request, and when the
// database is back the alert resolves and its history is in the database.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { LogCapture } from '../nostr/support.ts';
import { tempDir } from '../support/cli.ts';
import { simulatedProduction } from '../support/production-env.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';
import { createTestDatabase, mariadbAvailable, type TestDatabase } from '../support/test-database.ts';
import { waitFor } from '../support/wait.ts';
import { WebhookReceiver } from './webhook-receiver.ts';

const ADMIN_KEY = 'database-outage-admin-key-0123456789abcdef';

describe.skipIf(!mariadbAvailable)('a database outage, seen from the operator surface', () => {
  let t: TestDatabase;
  let proxy: TcpProxy;
  let receiver: WebhookReceiver;
  let gateway: Gateway;
  const logs = new LogCapture('info');

  const get = async (path: string, admin = false) => {
    const started = Date.now();
    const response = await fetch(`${gateway.httpUrl}${path}`, {
      headers: admin ? { 'x-admin-key': ADMIN_KEY } : {},
    });
    return { status: response.status, body: (await response.json()) as never, ms: Date.now() - started };
  };

  beforeAll(async () => {
    t = await createTestDatabase('mariadb');
    if (t.config.kind !== 'mariadb') throw new Error('expected MariaDB');
    proxy = new TcpProxy(t.config.host, t.config.port);
    await proxy.start();
    const url = new URL(process.env.DATABASE_URL!);
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    url.pathname = `/${t.config.database}`;
    receiver = new WebhookReceiver();
    const webhook = await receiver.start();
    gateway = await startGateway(
      loadConfig(
        simulatedProduction({
          DATABASE_URL: url.toString(),
          SECRET_KEY: process.env.SECRET_KEY ?? 'database-outage-secret-key-0123456789abcdef',
          ADMIN_API_KEY: ADMIN_KEY,
          DATA_DIR: tempDir(),
          PORT: '0',
          HOST: '127.0.0.1',
          METRICS_PORT: '0',
          EMBEDDED_RELAY_PORT: '0',
          VTXO_AUTO_START: 'false',
          DB_POOL_TIMEOUT_MS: '2000',
          ALERT_EVALUATION_INTERVAL_MS: '200',
          ALERT_RESEND_INTERVAL_MS: '1000',
          ALERT_WEBHOOK_URL: webhook,
        }),
      ),
      { roles: ['api'], logger: logs.logger },
    );
  }, 60_000);

  afterAll(async () => {
    proxy?.restore();
    await gateway?.stop('test over');
    await receiver?.close();
    await proxy?.close();
    await t?.drop();
  }, 60_000);

  it('fires service_down naming database, answers 503 naming it, and recovers', async () => {
    // Simulated daemons on a production database: degraded, not healthy.
    const before = await get('/health');
    expect(before.status).toBe(200);
    expect(before.body).toMatchObject({
      status: 'degraded',
      dependencies: { arkd: { status: 'simulated' } },
    });

    proxy.cut();
    const cutAt = Date.now();
    const fired = await waitFor(
      () => receiver.of('service_down', { dependency: 'database' })[0],
      10_000,
      'service_down naming database at the webhook',
    );
    expect(fired.receivedAt - cutAt).toBeLessThan(5_000);
    expect(fired).toMatchObject({ labels: { severity: 'critical', service: 'arkrelay' } });
    expect(fired.labels).not.toHaveProperty('instance');

    const health = await get('/health');
    expect(health.status).toBe(503);
    // Each check is cut off at 900 ms so that /health answers within a second; 3× that leaves
    // room for a loaded machine, and waiting on the cut connection would take far longer.
    expect(health.ms).toBeLessThan(3 * 900);
    expect(health.body).toMatchObject({
      status: 'unhealthy',
      dependencies: { database: { status: 'down' } },
    });

    const alerts = await get('/admin/alerts', true);
    expect(alerts.status).toBe(200);
    const answered = alerts.body as { firing: { rule: string }[]; history: { rule: string }[] };
    expect(answered.firing.find((a) => a.rule === 'service_down')).toMatchObject({ subjects: ['database'] });
    expect(answered.history.find((h) => h.rule === 'service_down')).toMatchObject({
      id: null,
      status: 'firing',
    });
    expect((await get('/monitoring/alerts')).status).toBe(200);
    expect((await get('/admin/alerts/rules', true)).status).toBe(200);

    for (const path of ['/stats', '/jobs']) {
      const response = await get(path);
      expect(response.status, path).toBe(503);
      expect(response.body, path).toMatchObject({
        error: { code: 'dependency_unavailable', dependency: 'database' },
      });
    }

    // Alertmanager forgets an alert nobody re-sends: it is re-sent while the outage lasts.
    await waitFor(
      () => receiver.of('service_down', { dependency: 'database' }).length >= 2,
      10_000,
      'service_down re-sent',
    );
    const sent = receiver.of('service_down', { dependency: 'database' });
    expect(sent[1]!.receivedAt - sent[0]!.receivedAt).toBeGreaterThanOrEqual(900);
    expect(sent.every((a) => !WebhookReceiver.resolved(a))).toBe(true);

    proxy.restore();
    const resolution = await waitFor(
      () => receiver.of('service_down').find((a) => WebhookReceiver.resolved(a)),
      15_000,
      'the resolution of service_down',
    );
    expect(resolution.startsAt).toBe(fired.startsAt);
    await waitFor(async () => (await get('/health')).status === 200, 10_000, '/health 200 again');
    const history = await waitFor(
      async () => {
        const rows = await t.database.db
          .selectFrom('alert_history')
          .select(['status', 'message'])
          .where('rule_name', '=', 'service_down')
          .orderBy('id')
          .execute();
        return rows.length >= 2 ? rows : undefined;
      },
      10_000,
      'the outage recorded in alert_history',
    );
    expect(history.map((r) => r.status)).toEqual(['firing', 'resolved']);
    expect(history[0]!.message).toContain('database');

    // One line per minute and thing that failed, never a line (or a stack) per failure.
    const lines = logs.text.split('\n').filter((l) => l.startsWith('{'));
    const requestLines = lines.filter((l) => l.includes('requests needing database'));
    expect(requestLines.length).toBeLessThanOrEqual(2);
    expect(lines.filter((l) => l.includes('alert evaluation failed'))).toEqual([]);
    expect(lines.filter((l) => l.includes('"msg":"request failed"'))).toEqual([]);
    const monitoringStacks = lines.filter(
      (l) => /"component":"(alerts|monitoring|metrics)"/.test(l) && l.includes('"stack"'),
    );
    expect(monitoringStacks).toEqual([]);
  }, 60_000);
});
