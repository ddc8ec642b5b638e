// The inventory monitor, driven with a fake clock and a fake fee reading: it replenishes at the
// documented thresholds (below critical always, below warning only when the fee is low) up to
// the target in batches, and not otherwise; its running state is shared; two monitors at once
// never replenish twice (the lease in `settings`), on SQLite and MariaDB.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  InventoryMonitor,
  MONITOR_LEASE_SETTING,
  planReplenishment,
  type InventoryThresholds,
} from '../../src/ledger/inventory-monitor.ts';
import type { InventoryService } from '../../src/ledger/inventory.ts';
import { SettingsLease } from '../../src/ledger/settings.ts';
import type { Database } from '../../src/store/database.ts';
import { hex32 } from '../store/fixtures.ts';
import { mariadbAvailable, silentLogger } from '../support/test-database.ts';
import { harness, type Harness } from './inventory-support.ts';

/** The documented defaults (VTXO_INVENTORY_CRITICAL/WARNING/TARGET, VTXO_BATCH_SIZE, VTXO_LOW_FEE_RATE). */
const DEFAULTS: InventoryThresholds = {
  critical: 1000,
  warning: 3000,
  target: 10_000,
  batchSize: 1000,
  amountSats: 1000n,
  lowFeeRate: 10n,
};

/** A fee reading that counts how often it is asked. */
function fee(value: bigint | undefined | Error) {
  const reading = {
    calls: 0,
    value,
    read: async () => {
      reading.calls++;
      if (reading.value instanceof Error) throw reading.value;
      return reading.value;
    },
  };
  return reading;
}

describe('replenishment plan at the documented thresholds', () => {
  it('below critical: up to the target in batches, whatever the fee (not even read)', async () => {
    const f = fee(500n);
    const plan = await planReplenishment(999, DEFAULTS, f.read);
    expect(plan.reason).toBe('critical');
    expect(plan.batches).toEqual([...Array(9).fill(1000), 1]);
    expect(plan.batches.reduce((a, b) => a + b, 0)).toBe(10_000 - 999);
    expect(f.calls).toBe(0);
    expect((await planReplenishment(0, DEFAULTS, f.read)).batches).toEqual(Array(10).fill(1000));
  });

  it('from critical to below warning: only when the fee rate is below 10 sat/vB', async () => {
    for (const available of [1000, 2000, 2999]) {
      expect((await planReplenishment(available, DEFAULTS, fee(9n).read)).reason).toBe('warning_low_fee');
      expect((await planReplenishment(available, DEFAULTS, fee(10n).read)).reason).toBeUndefined();
      expect((await planReplenishment(available, DEFAULTS, fee(undefined).read)).reason).toBeUndefined();
    }
    const plan = await planReplenishment(2500, DEFAULTS, fee(1n).read);
    expect(plan.batches).toEqual([...Array(7).fill(1000), 500]);
  });

  it('at or above warning: nothing, and no fee reading', async () => {
    for (const available of [3000, 9999, 10_000, 20_000]) {
      const f = fee(1n);
      const plan = await planReplenishment(available, DEFAULTS, f.read);
      expect(plan).toEqual({ reason: undefined, batches: [] });
      expect(f.calls).toBe(0);
    }
  });
});

const kinds = [
  { kind: 'sqlite', skip: false },
  { kind: 'mariadb', skip: !mariadbAvailable },
] as const;

/** Small thresholds so the simulator makes the batches quickly; the rules are the same. */
const SMALL: InventoryThresholds = {
  critical: 10,
  warning: 30,
  target: 100,
  batchSize: 25,
  amountSats: 1000n,
  lowFeeRate: 10n,
};

for (const { kind, skip } of kinds) {
  describe.skipIf(skip)(`inventory monitor on ${kind}`, () => {
    let h: Harness;
    const feeReading = fee(50n);

    const monitorOn = (
      inventory: InventoryService,
      database: Database,
      options: { instanceId?: string; autoStart?: boolean } = {},
    ) =>
      new InventoryMonitor({
        database,
        inventory,
        thresholds: SMALL,
        feeRate: feeReading.read,
        autoStart: options.autoStart ?? true,
        instanceId: options.instanceId ?? 'instance-a',
        logger: silentLogger,
        now: h.clock.now,
        leaseMs: 60_000,
      });

    /** Spends `count` inventory VTXOs in a (pretend) Ark transaction, as lifts and transfers do. */
    async function drain(count: number): Promise<void> {
      const session = `drain-${hex32().slice(0, 16)}`;
      await h.vtxos.lockInventory(session, 'gBTC', count, 1n, 60_000);
      await h.vtxos.markSpent(session, hex32());
    }

    beforeAll(async () => {
      h = await harness(kind);
    });
    afterAll(async () => h?.dispose());
    beforeEach(() => {
      h.counting.delayMs = 0;
      feeReading.value = 50n;
    });

    it('refuses thresholds out of order', () => {
      expect(
        () =>
          new InventoryMonitor({
            database: h.database,
            inventory: h.inventory,
            thresholds: { ...SMALL, warning: 5 },
            feeRate: feeReading.read,
            autoStart: true,
            instanceId: 'x',
            logger: silentLogger,
          }),
      ).toThrow(RangeError);
    });

    it('stopped (VTXO_AUTO_START=false, never toggled): does nothing; started by one instance: runs on all', async () => {
      const a = monitorOn(h.inventory, h.database, { autoStart: false });
      const b = monitorOn(await h.another(), h.database, { instanceId: 'instance-b', autoStart: false });
      expect(await a.tick()).toEqual({ status: 'stopped' });
      expect(h.counting.batchCalls).toBe(0);
      await a.start();
      expect(await b.isRunning()).toBe(true);
      await b.stop();
      expect(await a.isRunning()).toBe(false);
      expect(await a.tick()).toEqual({ status: 'stopped' });
      // The toggle outlives the default: another process with VTXO_AUTO_START=true still sees it stopped.
      expect(await monitorOn(h.inventory, h.database, { autoStart: true }).isRunning()).toBe(false);
      await a.start();
    });

    it('empty inventory is below critical: replenished to the target in batches of the batch size', async () => {
      const m = monitorOn(h.inventory, h.database);
      const run = await m.tick();
      expect(run.status).toBe('done');
      if (run.status !== 'done') return;
      expect(run.assets).toEqual([
        expect.objectContaining({ asset: 'gBTC', available: 0, reason: 'critical', created: 100 }),
      ]);
      expect(run.assets[0]!.commitmentTxids).toHaveLength(4);
      expect(h.counting.batchCalls).toBe(4);
      expect(await h.inventory.available('gBTC')).toBe(100);
      // At the target: nothing more.
      expect(await m.tick()).toMatchObject({ status: 'done', assets: [{ created: 0, reason: null }] });
      expect(h.counting.batchCalls).toBe(4);
    });

    it('between critical and warning: replenishes only while the fee is low', async () => {
      const m = monitorOn(h.inventory, h.database);
      await drain(75); // 25 left: below warning (30), not below critical (10)
      const calls = h.counting.batchCalls;
      feeReading.value = 10n; // not below 10
      expect(await m.tick()).toMatchObject({
        status: 'done',
        feeRate: '10',
        assets: [{ available: 25, created: 0 }],
      });
      feeReading.value = new Error('lnd down'); // unknown fee: not low
      expect(await m.tick()).toMatchObject({ status: 'done', feeRate: null, assets: [{ created: 0 }] });
      expect(h.counting.batchCalls).toBe(calls);
      feeReading.value = 9n;
      const run = await m.tick();
      expect(run).toMatchObject({ status: 'done', assets: [{ reason: 'warning_low_fee', created: 75 }] });
      expect(h.counting.batchCalls).toBe(calls + 3);
      expect(await h.inventory.available('gBTC')).toBe(100);
    });

    it('at exactly warning nothing; below critical it replenishes even when the fee is high or unknown', async () => {
      const m = monitorOn(h.inventory, h.database);
      await drain(70); // 30 = warning
      feeReading.value = 1n;
      expect(await m.tick()).toMatchObject({ assets: [{ available: 30, created: 0 }] });
      await drain(21); // 9 < critical
      feeReading.value = new Error('lnd down');
      expect(await m.tick()).toMatchObject({ assets: [{ available: 9, reason: 'critical', created: 91 }] });
      expect(await h.inventory.available('gBTC')).toBe(100);
    });

    it('two (five) monitors ticking at once replenish once, exactly to the target', async () => {
      await drain(95); // 5 left
      const calls = h.counting.batchCalls;
      h.counting.delayMs = 30; // each batch takes a while: the runs overlap for real
      const monitors = [];
      for (let i = 0; i < 5; i++) {
        monitors.push(
          monitorOn(i === 0 ? h.inventory : await h.another(), h.database, { instanceId: `i-${i}` }),
        );
      }
      const runs = await Promise.all(monitors.map((m) => m.tick()));
      expect(runs.filter((r) => r.status === 'done')).toHaveLength(1);
      expect(runs.filter((r) => r.status === 'busy')).toHaveLength(4);
      expect(h.counting.batchCalls).toBe(calls + 4);
      expect(await h.inventory.available('gBTC')).toBe(100);
      // And once the winner is done, the next tick anywhere sees the target and does nothing.
      expect(await monitors[3]!.tick()).toMatchObject({ status: 'done', assets: [{ created: 0 }] });
    });

    it("a dead holder's lease lapses: the next monitor runs once it has", async () => {
      const dead = new SettingsLease(h.database, MONITOR_LEASE_SETTING, {
        ttlMs: 60_000,
        holder: 'dead',
        now: h.clock.now,
      });
      expect(await dead.acquire()).toBeDefined();
      await drain(95);
      const m = monitorOn(h.inventory, h.database);
      expect(await m.tick()).toEqual({ status: 'busy' });
      h.clock.ms += 60_001;
      expect(await m.tick()).toMatchObject({ status: 'done', assets: [{ created: 95 }] });
    });
  });
}
