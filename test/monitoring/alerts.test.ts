// The alert engine against a real database: transitions recorded once however many instances
// judge a rule, toggles, and the webhook's Alertmanager cadence (re-sends while firing, the
// resolution once over, one alert per dependency named).
import { afterEach, describe, expect, it } from 'vitest';
import type { AlertContext, AlertRule } from '../../src/monitoring/alert-rules.ts';
import { AlertEngine, UnknownRuleError } from '../../src/monitoring/alerts.ts';
import {
  createTestDatabase,
  mariadbAvailable,
  silentLogger,
  type TestDatabase,
} from '../support/test-database.ts';
import { waitFor } from '../support/wait.ts';
import { gaugeRule } from './support.ts';
import { WebhookReceiver } from './webhook-receiver.ts';

const kinds = ['sqlite', ...(mariadbAvailable ? (['mariadb'] as const) : [])] as const;
const RESEND = 60_000;

describe.each(kinds)('alert engine on %s', (kind) => {
  let t: TestDatabase;
  let receiver: WebhookReceiver | undefined;
  afterEach(async () => {
    await receiver?.close();
    receiver = undefined;
    await t?.drop();
  });

  const engineFor = (rules: AlertRule[], extra: { instanceId?: string; webhookUrl?: string } = {}) =>
    new AlertEngine({
      database: t.database,
      rules,
      logger: silentLogger,
      instanceId: extra.instanceId ?? 'a',
      resendIntervalMs: RESEND,
      ...(extra.webhookUrl ? { webhookUrl: extra.webhookUrl } : {}),
    });

  const ctx = (now: number, extra: Partial<AlertContext> = {}): AlertContext => ({
    database: t.database,
    system: undefined,
    health: undefined,
    now,
    ...extra,
  });

  const withReceiver = async () => {
    receiver = new WebhookReceiver();
    return receiver.start();
  };

  it('goes pending, fires after its duration once, then resolves — each transition recorded once', async () => {
    t = await createTestDatabase(kind);
    const rule = gaugeRule('queue_depth', 60_000);
    const engine = engineFor([rule]);
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
    // The record is the database's: a fresh engine (another process) reads the same.
    expect((await engineFor([rule]).statuses())[0]).toMatchObject({ state: 'ok', last_value: 3 });
  });

  it('a blip shorter than the duration never fires', async () => {
    t = await createTestDatabase(kind);
    const rule = gaugeRule('blip', 60_000);
    const engine = engineFor([rule]);
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

  it('re-sends a firing alert every resend interval, then sends its resolution once', async () => {
    t = await createTestDatabase(kind);
    const url = await withReceiver();
    const rule = gaugeRule('backlog', 0);
    const engine = engineFor([rule], { webhookUrl: url });
    rule.value = 99;
    await engine.evaluate(ctx(10_000));
    await engine.evaluate(ctx(10_000 + RESEND / 2)); // not due yet
    expect(receiver!.of('backlog')).toHaveLength(1);
    const [first] = receiver!.of('backlog');
    expect(first).toMatchObject({
      labels: { alertname: 'backlog', severity: 'warning', service: 'arkrelay' },
      annotations: { summary: 'backlog above 10' },
      startsAt: new Date(10_000).toISOString(),
      // Alertmanager resolves it by itself if nobody re-sends it for four intervals.
      endsAt: new Date(10_000 + 4 * RESEND).toISOString(),
    });
    expect(first!.labels).not.toHaveProperty('instance');

    await engine.evaluate(ctx(10_000 + RESEND));
    await engine.evaluate(ctx(10_000 + 2 * RESEND));
    const sent = receiver!.of('backlog');
    expect(sent.map((a) => a.endsAt)).toEqual(
      [10_000, 10_000 + RESEND, 10_000 + 2 * RESEND].map((at) => new Date(at + 4 * RESEND).toISOString()),
    );
    expect(new Set(sent.map((a) => a.startsAt))).toEqual(new Set([new Date(10_000).toISOString()]));

    rule.value = 1;
    const resolvedAt = 10_000 + 2 * RESEND + 5_000;
    await engine.evaluate(ctx(resolvedAt));
    await engine.evaluate(ctx(resolvedAt + 2 * RESEND));
    const all = receiver!.of('backlog');
    expect(all).toHaveLength(4);
    expect(all[3]).toMatchObject({
      startsAt: new Date(10_000).toISOString(),
      endsAt: new Date(resolvedAt).toISOString(),
    });
  });

  it('keeps what the receiver refused and delivers it on a later round', async () => {
    t = await createTestDatabase(kind);
    const url = await withReceiver();
    const rule = gaugeRule('flaky', 0);
    const engine = engineFor([rule], { webhookUrl: url });
    receiver!.refusing = true;
    rule.value = 99;
    await engine.evaluate(ctx(1_000));
    rule.value = 1;
    await engine.evaluate(ctx(2_000));
    expect(receiver!.posts).toBe(2);
    expect(receiver!.alerts).toEqual([]);
    receiver!.refusing = false;
    await engine.evaluate(ctx(3_000));
    expect(receiver!.of('flaky')).toMatchObject([{ endsAt: new Date(2_000).toISOString() }]);
    await engine.evaluate(ctx(4_000));
    expect(receiver!.of('flaky')).toHaveLength(1);
  });

  it('sends one alert per dependency it names, and resolves each when it recovers', async () => {
    t = await createTestDatabase(kind);
    const url = await withReceiver();
    const rule = gaugeRule('deps_down', 0, 'dependency');
    const engine = engineFor([rule], { webhookUrl: url });
    rule.value = { value: 12, subjects: ['database', 'redis'] };
    await engine.evaluate(ctx(1_000));
    expect((await engine.firing())[0]).toMatchObject({
      subject_label: 'dependency',
      subjects: ['database', 'redis'],
    });
    expect(receiver!.alerts.map((a) => a.labels.dependency).sort()).toEqual(['database', 'redis']);
    expect((await engine.history())[0]!.message).toContain('database, redis');

    rule.value = { value: 11, subjects: ['database'] };
    await engine.evaluate(ctx(2_000));
    const redis = receiver!.of('deps_down', { dependency: 'redis' });
    expect(redis.at(-1)).toMatchObject({ endsAt: new Date(2_000).toISOString() });
    expect(receiver!.of('deps_down', { dependency: 'database' })).toHaveLength(1);
    expect((await engine.firing())[0]!.subjects).toEqual(['database']);
  });

  it('two instances record one firing and notify once; after the interval both re-send the same alert', async () => {
    t = await createTestDatabase(kind);
    const url = await withReceiver();
    const rule = gaugeRule('shared', 0);
    rule.value = 99;
    const engines = ['a', 'b', 'c'].map((id) => engineFor([rule], { instanceId: id, webhookUrl: url }));
    await Promise.all(engines.map((e) => e.ensureRules(0)));
    await Promise.all(engines.map((e) => e.evaluate(ctx(5_000))));
    expect((await engines[0]!.history()).filter((h) => h.status === 'firing')).toHaveLength(1);
    await waitFor(() => receiver!.alerts.length === 1, 5_000, 'the webhook call');
    expect(receiver!.alerts[0]).toMatchObject({
      labels: { alertname: 'shared', severity: 'warning', service: 'arkrelay' },
      startsAt: new Date(5_000).toISOString(),
    });

    // Every instance keeps it alive: Alertmanager merges them (same labels, no instance).
    await Promise.all(engines.map((e) => e.evaluate(ctx(5_000 + RESEND))));
    const resent = receiver!.alerts.slice(1);
    expect(resent).toHaveLength(3);
    expect(new Set(resent.map((a) => JSON.stringify(a.labels))).size).toBe(1);
    expect(new Set(resent.map((a) => a.annotations.reported_by))).toEqual(new Set(['a', 'b', 'c']));
  });

  it('toggling a firing rule off resolves it and stops evaluating it; unknown rules are refused', async () => {
    t = await createTestDatabase(kind);
    const url = await withReceiver();
    const rule = gaugeRule('toggled', 0);
    const engine = engineFor([rule], { webhookUrl: url });
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
    expect(receiver!.of('toggled').map((a) => a.endsAt)).toEqual([
      new Date(1_000 + 4 * RESEND).toISOString(),
      new Date(2_000).toISOString(),
    ]);
    expect(await engine.toggle('toggled', 4_000)).toMatchObject({ enabled: true });
    await expect(engine.toggle('nope')).rejects.toBeInstanceOf(UnknownRuleError);
  });
});
