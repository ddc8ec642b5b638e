import { createServer } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { alertRules, type AlertContext, type AlertRule } from '../../src/monitoring/alert-rules.ts';
import { AlertEngine, UnknownRuleError } from '../../src/monitoring/alerts.ts';
import type { HealthReport } from '../../src/monitoring/health.ts';
import {
  createTestDatabase,
  mariadbAvailable,
  silentLogger,
  type TestDatabase,
} from '../support/test-database.ts';
import { vtxoRow } from '../store/fixtures.ts';
import { waitFor } from '../support/wait.ts';

const kinds = ['sqlite', ...(mariadbAvailable ? (['mariadb'] as const) : [])] as const;

/** A rule whose measurement the test sets: the engine, not the measurement, is under test. */
function gaugeRule(name: string, forMs: number): AlertRule & { value: number | undefined } {
  const rule = {
    name,
    summary: `${name} above 10`,
    severity: 'warning' as const,
    comparison: 'above' as const,
    threshold: 10,
    forMs,
    unit: 'things',
    value: undefined as number | undefined,
    measure: async () => rule.value,
  };
  return rule;
}

const health = (
  deps: Record<string, { status: 'up' | 'down'; critical: boolean; breaker?: string }>,
): HealthReport => ({
  status: 'healthy',
  checked_at: new Date().toISOString(),
  dependencies: Object.fromEntries(
    Object.entries(deps).map(([n, d]) => [
      n,
      {
        status: d.status,
        critical: d.critical,
        latency_ms: 1,
        ...(d.breaker ? { details: { breaker: d.breaker } } : {}),
      },
    ]),
  ),
});

describe.each(kinds)('alert engine on %s', (kind) => {
  let t: TestDatabase;
  afterEach(async () => t?.drop());

  const engineFor = (rule: AlertRule) =>
    new AlertEngine({ database: t.database, rules: [rule], logger: silentLogger, instanceId: 'a' });

  const ctx = (now: number, extra: Partial<AlertContext> = {}): AlertContext => ({
    database: t.database,
    system: undefined,
    health: undefined,
    now,
    ...extra,
  });

  it('goes pending, fires after its duration once, then resolves — each transition recorded once', async () => {
    t = await createTestDatabase(kind);
    const rule = gaugeRule('queue_depth', 60_000);
    const engine = engineFor(rule);
    await engine.ensureRules(0);
    rule.value = 50;
    await engine.evaluate(ctx(1_000));
    expect((await engine.statuses())[0]).toMatchObject({ state: 'pending', last_value: 50 });
    await engine.evaluate(ctx(30_000));
    expect((await engine.firing()).length).toBe(0);
    await engine.evaluate(ctx(61_000));
    await engine.evaluate(ctx(62_000));
    expect((await engine.firing()).map((s) => s.rule)).toEqual(['queue_depth']);
    rule.value = 3;
    await engine.evaluate(ctx(70_000));
    expect((await engine.statuses())[0]).toMatchObject({
      state: 'ok',
      resolved_at: new Date(70_000).toISOString(),
    });
    expect((await engine.history()).map((h) => h.status)).toEqual(['resolved', 'firing']);
  });

  it('a blip shorter than the duration never fires', async () => {
    t = await createTestDatabase(kind);
    const rule = gaugeRule('blip', 60_000);
    const engine = engineFor(rule);
    await engine.ensureRules(0);
    rule.value = 50;
    await engine.evaluate(ctx(1_000));
    rule.value = 1;
    await engine.evaluate(ctx(2_000));
    rule.value = 50;
    await engine.evaluate(ctx(62_000));
    expect(await engine.firing()).toEqual([]);
    expect(await engine.history()).toEqual([]);
  });

  it('two instances evaluating at once record one firing and call the webhook once', async () => {
    t = await createTestDatabase(kind);
    const calls: unknown[] = [];
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        calls.push(JSON.parse(body));
        res.end('{}');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const port = (receiver.address() as { port: number }).port;
    try {
      const rule = gaugeRule('shared', 0);
      rule.value = 99;
      const engines = ['a', 'b', 'c'].map(
        (id) =>
          new AlertEngine({
            database: t.database,
            rules: [rule],
            logger: silentLogger,
            instanceId: id,
            webhookUrl: `http://127.0.0.1:${port}/api/v2/alerts`,
          }),
      );
      await Promise.all(engines.map((e) => e.ensureRules(0)));
      await Promise.all(engines.map((e) => e.evaluate(ctx(5_000))));
      expect((await engines[0]!.history()).filter((h) => h.status === 'firing')).toHaveLength(1);
      await waitFor(() => calls.length === 1, 5_000, 'the webhook call');
      expect(calls[0]).toEqual([
        expect.objectContaining({
          labels: expect.objectContaining({ alertname: 'shared', severity: 'warning', service: 'arkrelay' }),
          annotations: expect.objectContaining({ summary: 'shared above 10' }),
          startsAt: new Date(5_000).toISOString(),
        }),
      ]);
    } finally {
      receiver.close();
    }
  });

  it('toggling a firing rule off resolves it and stops evaluating it; unknown rules are refused', async () => {
    t = await createTestDatabase(kind);
    const rule = gaugeRule('toggled', 0);
    const engine = engineFor(rule);
    await engine.ensureRules(0);
    rule.value = 99;
    await engine.evaluate(ctx(1_000));
    const off = await engine.toggle('toggled', 2_000);
    expect(off).toMatchObject({ enabled: false, state: 'ok' });
    await engine.evaluate(ctx(3_000));
    expect(await engine.firing()).toEqual([]);
    expect((await engine.history())[0]).toMatchObject({
      status: 'resolved',
      message: 'resolved: toggled was disabled by an operator',
    });
    expect(await engine.toggle('toggled', 4_000)).toMatchObject({ enabled: true });
    await expect(engine.toggle('nope')).rejects.toBeInstanceOf(UnknownRuleError);
  });

  it('measures the product rules from real rows and health', async () => {
    t = await createTestDatabase(kind);
    const rules = new Map(alertRules({ inventoryCritical: 3 }).map((r) => [r.name, r]));
    const c = ctx(Date.now());
    const db = t.database.db;
    // No enabled asset yet: nothing to judge.
    expect(await rules.get('low_vtxo_inventory')!.measure(c)).toBeUndefined();
    await db
      .insertInto('assets')
      .values({
        asset_id: 'gBTC',
        name: 'Gateway BTC',
        ticker: 'GBTC',
        decimals: 8,
        asset_type: 'relay_issued',
        enabled: 1,
        total_supply: 0n,
        tapd_asset_id: null,
        min_amount: 1n,
        max_amount: null,
        created_at: 0,
        updated_at: 0,
      })
      .execute();
    await db
      .insertInto('vtxos')
      .values([
        vtxoRow({ status: 'available' }),
        vtxoRow({ status: 'available' }),
        vtxoRow({ status: 'assigned' }),
      ])
      .execute();
    expect(await rules.get('low_vtxo_inventory')!.measure(c)).toBe(2);

    const now = Date.now();
    const logs = Array.from({ length: 10 }, (_, i) => ({
      job_id: `j${i}`,
      queue: 'default',
      job_name: 'x',
      status: i < 3 ? ('failed' as const) : ('completed' as const),
      attempt: 1,
      instance_id: 'a',
      started_at: now - 1000,
      finished_at: now,
      duration_ms: 5,
      error: null,
      result_json: null,
    }));
    await db.insertInto('job_logs').values(logs).execute();
    expect(await rules.get('job_failure_rate')!.measure(c)).toBe(30);

    const withHealth = ctx(now, {
      health: health({
        database: { status: 'up', critical: true },
        redis: { status: 'down', critical: true },
        'relay:ws://r': { status: 'down', critical: false },
        arkd: { status: 'up', critical: true, breaker: 'open' },
      }),
    });
    expect(await rules.get('service_down')!.measure(withHealth)).toBe(1);
    expect(await rules.get('relay_down')!.measure(withHealth)).toBe(1);
    expect(await rules.get('breaker_open')!.measure(withHealth)).toBe(1);
    expect(await rules.get('gbtc_reserve_below_100')!.measure(c)).toBeUndefined();
    await db
      .insertInto('asset_reserves')
      .values({
        asset_id: 'gBTC',
        lightning_sat: 900n,
        onchain_sat: 0n,
        total_sat: 900n,
        supply: 1000n,
        ratio_ppm: 900_000,
        healthy: 0,
        observed_at: now,
      })
      .execute();
    expect(await rules.get('gbtc_reserve_below_100')!.measure(c)).toBe(90);
  });
});
