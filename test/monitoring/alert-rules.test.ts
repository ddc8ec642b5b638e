// The product's alert rules measured from real rows and health reports, and the fresh deploy's
// grace for the VTXO inventory: no critical low_vtxo_inventory while the running monitor makes
// the first VTXOs of a new asset, and the alert as soon as that is not what is happening.
import type { Insertable } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { MONITOR_STATE_SETTING } from '../../src/ledger/inventory-monitor.ts';
import { writeSetting } from '../../src/ledger/settings.ts';
import { alertRules, type AlertContext, type AlertThresholds } from '../../src/monitoring/alert-rules.ts';
import { AlertEngine } from '../../src/monitoring/alerts.ts';
import type { AssetsTable } from '../../src/store/schema.ts';
import { vtxoRow } from '../store/fixtures.ts';
import {
  createTestDatabase,
  mariadbAvailable,
  silentLogger,
  type TestDatabase,
} from '../support/test-database.ts';
import { health } from './support.ts';

const kinds = ['sqlite', ...(mariadbAvailable ? (['mariadb'] as const) : [])] as const;
const MINUTE = 60_000;

const asset = (asset_id: string, created_at: number): Insertable<AssetsTable> => ({
  asset_id,
  name: asset_id,
  ticker: asset_id.toUpperCase(),
  decimals: 8,
  asset_type: 'relay_issued',
  enabled: 1,
  total_supply: 0n,
  tapd_asset_id: null,
  min_amount: 1n,
  max_amount: null,
  created_at,
  updated_at: created_at,
});

describe.each(kinds)('alert rules on %s', (kind) => {
  let t: TestDatabase;
  afterEach(async () => t?.drop());

  const ctx = (now: number, extra: Partial<AlertContext> = {}): AlertContext => ({
    database: t.database,
    system: undefined,
    health: undefined,
    now,
    ...extra,
  });
  const rule = (name: string, thresholds: AlertThresholds = { inventoryCritical: 3 }) =>
    alertRules(thresholds).find((r) => r.name === name)!;

  it('measures the product rules from real rows and health, naming what breaches them', async () => {
    t = await createTestDatabase(kind);
    const c = ctx(Date.now());
    const db = t.database.db;
    // No enabled asset yet: nothing to judge.
    expect(await rule('low_vtxo_inventory').measure(c)).toBeUndefined();
    await db.insertInto('assets').values(asset('gBTC', 0)).execute();
    await db
      .insertInto('vtxos')
      .values([
        vtxoRow({ status: 'available' }),
        vtxoRow({ status: 'available' }),
        vtxoRow({ status: 'assigned' }),
      ])
      .execute();
    expect(await rule('low_vtxo_inventory').measure(c)).toEqual({ value: 2, subjects: ['gBTC'] });

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
    expect(await rule('job_failure_rate').measure(c)).toBe(30);

    const withHealth = ctx(now, {
      health: health({
        database: { status: 'up', critical: true },
        redis: { status: 'down', critical: true },
        'relay:ws://r': { status: 'down', critical: false },
        arkd: { status: 'up', critical: true, breaker: 'open' },
        tapd: { status: 'simulated', critical: true },
      }),
    });
    expect(await rule('service_down').measure(withHealth)).toEqual({ value: 1, subjects: ['redis'] });
    expect(await rule('relay_down').measure(withHealth)).toEqual({ value: 1, subjects: ['relay:ws://r'] });
    expect(await rule('breaker_open').measure(withHealth)).toEqual({ value: 1, subjects: ['arkd'] });
    expect(await rule('gbtc_reserve_below_100').measure(c)).toBeUndefined();
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
    expect(await rule('gbtc_reserve_below_100').measure(c)).toBe(90);
  });

  it('gives a fresh deploy its first inventory fill before low_vtxo_inventory fires', async () => {
    t = await createTestDatabase(kind);
    const db = t.database.db;
    const deployedAt = 1_000_000;
    const thresholds = {
      inventoryCritical: 3,
      inventoryGraceMs: 30 * MINUTE,
      inventoryMonitorAutoStart: true,
    };
    const engine = new AlertEngine({
      database: t.database,
      rules: [rule('low_vtxo_inventory', thresholds)],
      logger: silentLogger,
      instanceId: 'a',
    });
    const state = async () => (await engine.statuses())[0]!.state;
    await db.insertInto('assets').values(asset('gBTC', deployedAt)).execute();

    // Empty inventory, monitor running, minutes after the deploy: it is filling, not depleted.
    await engine.evaluate(ctx(deployedAt + MINUTE));
    expect(await state()).toBe('ok');
    await db
      .insertInto('vtxos')
      .values([vtxoRow({ status: 'available' })])
      .execute();
    await engine.evaluate(ctx(deployedAt + 5 * MINUTE));
    expect(await state()).toBe('ok');

    // The monitor stopped: nobody is filling it, so the alert fires at once.
    await writeSetting(t.database, MONITOR_STATE_SETTING, { running: false, updated_at: 0 }, 0);
    await engine.evaluate(ctx(deployedAt + 6 * MINUTE));
    expect(await state()).toBe('firing');
    await writeSetting(t.database, MONITOR_STATE_SETTING, { running: true, updated_at: 0 }, 0);

    // Once the inventory has held the critical count, running low again is real.
    await db
      .insertInto('vtxos')
      .values([vtxoRow({ status: 'available' }), vtxoRow({ status: 'available' })])
      .execute();
    await engine.evaluate(ctx(deployedAt + 7 * MINUTE));
    expect(await state()).toBe('ok');
    await db.updateTable('vtxos').set({ status: 'assigned' }).execute();
    await engine.evaluate(ctx(deployedAt + 8 * MINUTE));
    expect(await state()).toBe('firing');
    expect((await engine.firing())[0]).toMatchObject({ subjects: ['gBTC'], last_value: 0 });
  });

  it('fires when the first fill outlasts the grace, or for an asset registered long ago', async () => {
    t = await createTestDatabase(kind);
    const db = t.database.db;
    const thresholds = {
      inventoryCritical: 3,
      inventoryGraceMs: 30 * MINUTE,
      inventoryMonitorAutoStart: true,
    };
    const low = rule('low_vtxo_inventory', thresholds);
    await db.insertInto('assets').values(asset('gBTC', 0)).execute();
    expect(await low.measure(ctx(10 * MINUTE))).toBeUndefined();
    expect(await low.measure(ctx(31 * MINUTE))).toEqual({ value: 0, subjects: ['gBTC'] });
    // A new asset in its grace is left out; the old one is still judged.
    await db
      .insertInto('assets')
      .values(asset('gNEW', 31 * MINUTE))
      .execute();
    expect(await low.measure(ctx(32 * MINUTE))).toEqual({ value: 0, subjects: ['gBTC'] });
    // Without a grace (the default) every asset is judged from the start.
    expect(await rule('low_vtxo_inventory').measure(ctx(32 * MINUTE))).toEqual({
      value: 0,
      subjects: ['gBTC', 'gNEW'],
    });
  });
});
