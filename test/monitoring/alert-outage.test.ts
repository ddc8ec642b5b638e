// The alert engine while its own database is down: service_down fires naming `database` (judged
// from memory and the live health check), the alert reaches the webhook and is re-sent, the
// engine's reads answer from memory, and once the database is back the transitions made during
// the outage are written to it. On SQLite every query is refused by a switch; on MariaDB the
// connections really are cut, at a TCP proxy in front of the server.
import { afterEach, describe, expect, it } from 'vitest';
import { alertRules, type AlertRule } from '../../src/monitoring/alert-rules.ts';
import { AlertEngine } from '../../src/monitoring/alerts.ts';
import { HealthRegistry } from '../../src/monitoring/health.ts';
import { openDatabase, type Database } from '../../src/store/database.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';
import {
  createTestDatabase,
  mariadbAvailable,
  silentLogger,
  type TestDatabase,
} from '../support/test-database.ts';
import { switchableDatabase } from './support.ts';
import { WebhookReceiver } from './webhook-receiver.ts';

interface Outage {
  readonly t: TestDatabase;
  readonly database: Database;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

async function refusedSqlite(): Promise<Outage> {
  const t = await createTestDatabase('sqlite');
  const s = switchableDatabase(t.database);
  return { t, ...s, close: () => t.drop() };
}

async function mariadbBehindProxy(): Promise<Outage> {
  const t = await createTestDatabase('mariadb');
  if (t.config.kind !== 'mariadb') throw new Error('expected MariaDB');
  const proxy = new TcpProxy(t.config.host, t.config.port);
  await proxy.start();
  const database = await openDatabase(
    { ...t.config, host: '127.0.0.1', port: proxy.port, poolTimeoutMs: 2_000, connectTimeoutMs: 1_000 },
    silentLogger,
  );
  return {
    t,
    database,
    cut: () => proxy.cut(),
    restore: () => proxy.restore(),
    close: async () => {
      await database.close();
      await proxy.close();
      await t.drop();
    },
  };
}

const outages = [
  ['SQLite refusing every query', refusedSqlite],
  ...(mariadbAvailable ? ([['MariaDB cut off at a TCP proxy', mariadbBehindProxy]] as const) : []),
] as const;

const RESEND = 60_000;

describe.each(outages)('alerts while the database is down (%s)', (_name, makeOutage) => {
  let outage: Outage | undefined;
  let receiver: WebhookReceiver | undefined;
  afterEach(async () => {
    await receiver?.close();
    await outage?.close();
  });

  it('fires service_down naming database, answers from memory, and records it once the database is back', async () => {
    outage = await makeOutage();
    const { database } = outage;
    receiver = new WebhookReceiver();
    const url = await receiver.start();
    const health = new HealthRegistry();
    health.register({
      name: 'database',
      critical: true,
      check: async (timeoutMs) => ({ latencyMs: await database.ping(timeoutMs) }),
    });
    const rules = alertRules({ inventoryCritical: 1000 }).filter((r: AlertRule) =>
      ['service_down', 'job_failure_rate'].includes(r.name),
    );
    const engine = new AlertEngine({
      database,
      rules,
      logger: silentLogger,
      instanceId: 'api-1',
      webhookUrl: url,
      resendIntervalMs: RESEND,
    });
    const round = async (now: number) =>
      engine.evaluate({ database, system: undefined, health: await health.report(), now });

    await round(1_000);
    expect(await engine.firing()).toEqual([]);

    outage.cut();
    await round(2_000);
    const started = Date.now();
    const firing = await engine.firing();
    // A read of the database is given 1 s before the engine answers from memory; 3× that leaves
    // room for a loaded machine, and waiting out the outage would take far longer.
    expect(Date.now() - started).toBeLessThan(3 * 1_000);
    expect(firing).toMatchObject([
      { rule: 'service_down', subject_label: 'dependency', subjects: ['database'], state: 'firing' },
    ]);
    const rulesNow = await engine.statuses();
    // job_failure_rate reads the database: it keeps its state rather than guess.
    expect(rulesNow.find((r) => r.rule === 'job_failure_rate')).toMatchObject({ state: 'ok' });
    expect(receiver.of('service_down')).toMatchObject([
      {
        labels: { alertname: 'service_down', severity: 'critical', dependency: 'database' },
        startsAt: new Date(2_000).toISOString(),
      },
    ]);
    const during = await engine.history();
    expect(during[0]).toMatchObject({ id: null, rule: 'service_down', status: 'firing' });
    expect(during[0]!.message).toContain('database');

    await round(2_000 + RESEND); // still down: re-sent
    expect(receiver.of('service_down', { dependency: 'database' })).toHaveLength(2);

    outage.restore();
    const back = 3_000 + RESEND;
    await round(back);
    expect(await engine.firing()).toEqual([]);
    expect(receiver.of('service_down').at(-1)).toMatchObject({ endsAt: new Date(back).toISOString() });
    const rows = await outage.t.database.db
      .selectFrom('alert_history')
      .select(['rule_name', 'status', 'message', 'created_at'])
      .orderBy('id')
      .execute();
    expect(rows.map((r) => [r.rule_name, r.status, Number(r.created_at)])).toEqual([
      ['service_down', 'firing', 2_000],
      ['service_down', 'resolved', back],
    ]);
    expect(rows[0]!.message).toContain('recorded by api-1 while the database was unavailable');
    const row = await outage.t.database.db
      .selectFrom('alert_rules')
      .selectAll()
      .where('rule_name', '=', 'service_down')
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ state: 'ok' });
    expect(Number(row.fired_at)).toBe(2_000);
    expect(Number(row.resolved_at)).toBe(back);
  });
});
