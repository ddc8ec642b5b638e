// The gBTC reserve: the ratio in integer ppm (rounded down, healthy exactly when BTC held >=
// supply), a reading from the simulated lnd's balances against the ledger's supply, the row
// the alert rule reads, and the repeating task.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackends, type Backends } from '../../src/backends/index.ts';
import { loadConfig } from '../../src/config.ts';
import { createLedgerModule } from '../../src/ledger/module.ts';
import { FULL_RESERVE_PPM, RESERVE_CHECK_TASK, reserveRatioPpm } from '../../src/ledger/reserves.ts';
import { alertRules } from '../../src/monitoring/alert-rules.ts';
import { hex32 } from '../store/fixtures.ts';
import { tempDir } from '../support/cli.ts';
import { expectLedgerConsistent } from '../support/ledger.ts';
import {
  createTestDatabase,
  mariadbAvailable,
  silentLogger,
  type TestDatabase,
} from '../support/test-database.ts';

describe('reserveRatioPpm', () => {
  it.each([
    [100n, 100n, 1_000_000n],
    [99n, 100n, 990_000n],
    [1n, 3n, 333_333n], // rounded down
    [2n, 3n, 666_666n],
    [300n, 100n, 3_000_000n],
    [0n, 5n, 0n],
    [0n, 0n, FULL_RESERVE_PPM], // nothing in circulation: nothing to back
    [2n ** 70n, 2n ** 70n - 1n, 1_000_000n], // beyond 2^64 without floats
  ])('%s sat for %s units is %s ppm', (total, supply, ppm) => {
    expect(reserveRatioPpm(total, supply)).toBe(ppm);
  });

  it('is >= 1 000 000 exactly when total >= supply', () => {
    for (let supply = 1n; supply < 50n; supply++) {
      for (let total = 0n; total < 60n; total++) {
        expect(reserveRatioPpm(total, supply) >= FULL_RESERVE_PPM).toBe(total >= supply);
      }
    }
  });
});

for (const kind of ['sqlite', 'mariadb'] as const) {
  describe.skipIf(kind === 'mariadb' && !mariadbAvailable)(`reserve check on ${kind}`, () => {
    let test: TestDatabase;
    let backends: Backends;
    let dir: string;

    beforeAll(async () => {
      test = await createTestDatabase(kind);
      dir = tempDir('arkrelay-reserve-');
      backends = await createBackends(loadConfig({ DATA_DIR: dir }), { logger: silentLogger });
    });
    afterAll(async () => {
      await backends?.close();
      rmSync(dir, { recursive: true, force: true });
      await test?.drop();
    });

    it('records lnd channel + on-chain balance against the gBTC supply, and feeds the alert', async () => {
      const database = test.database;
      let clock = Date.UTC(2026, 0, 1);
      const config = loadConfig({
        DATA_DIR: dir,
        GBTC_ISSUANCE: '1000000000',
        RESERVE_CHECK_INTERVAL_MS: '60000',
      });
      const ledger = createLedgerModule({
        config,
        database,
        backends,
        logger: silentLogger,
        now: () => clock,
      });
      await ledger.assets.ensureGbtc();
      expect(ledger.repeatingJobs).toEqual([{ task: RESERVE_CHECK_TASK, everyMs: 60_000 }]);
      const rule = alertRules({ inventoryCritical: 1000 }).find((r) => r.name === 'gbtc_reserve_below_100')!;
      const measure = () => rule.measure({ database, system: undefined, health: undefined, now: clock });
      expect(await ledger.reserves.latest('gBTC')).toBeUndefined();
      expect(await measure()).toBeUndefined();

      const balances = await backends.lightning.getBalances();
      const held = balances.channelLocalSats + balances.onchainConfirmedSats;
      // Lift exactly what is held: fully reserved.
      const owner = hex32();
      const txid = hex32();
      await ledger.store.createOutputs(
        [{ txid, vout: 0, ownerPubkey: owner, assetId: 'gBTC', amount: held, sats: 330n }],
        [{ assetId: 'gBTC', kind: 'lift', amount: held, reference: txid }],
      );
      const full = await ledger.reserves.check();
      expect(full).toMatchObject({
        assetId: 'gBTC',
        lightningSat: balances.channelLocalSats,
        onchainSat: balances.onchainConfirmedSats,
        totalSat: held,
        supply: held,
        ratioPpm: 1_000_000n,
        healthy: true,
        observedAt: clock,
      });
      expect(await measure()).toBe(100);

      // One more sat lifted than is held: under-reserved, and the alert's value drops below 100 %.
      clock += 1000;
      const txid2 = hex32();
      await ledger.store.createOutputs(
        [{ txid: txid2, vout: 0, ownerPubkey: owner, assetId: 'gBTC', amount: 1n, sats: 330n }],
        [{ assetId: 'gBTC', kind: 'lift', amount: 1n, reference: txid2 }],
      );
      const task = ledger.tasks.find((t) => t.name === RESERVE_CHECK_TASK)!;
      const result = (await task.handler({}, {} as never)) as Record<string, unknown>;
      expect(result).toMatchObject({
        asset_id: 'gBTC',
        supply: (held + 1n).toString(),
        ratio_ppm: ((held * 1_000_000n) / (held + 1n)).toString(),
        healthy: false,
      });
      // The task's result is stored as JSON in job_logs: it must serialise.
      expect(() => JSON.stringify(result)).not.toThrow();
      const latest = await ledger.reserves.latest('gBTC');
      expect(latest).toMatchObject({ healthy: false, supply: held + 1n, observedAt: clock });
      expect(await measure()).toBeLessThan(100);
      const rows = await database.db.selectFrom('asset_reserves').selectAll().execute();
      expect(rows).toHaveLength(2);
      await expectLedgerConsistent(database);
    });
  });
}
