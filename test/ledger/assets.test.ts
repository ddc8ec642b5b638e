// The asset registry and gBTC's first-start mint, against the simulated tapd on SQLite and
// MariaDB: minted once with the configured issuance; never twice when several instances start
// together (a slow mint makes the race real); a mint whose database write was lost to a crash
// is adopted, not repeated; a live lease held by another process is never minted over.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createBackends, type Backends } from '../../src/backends/index.ts';
import type { AssetsBackend, MintRequest } from '../../src/backends/tapd/assets-backend.ts';
import { loadConfig } from '../../src/config.ts';
import {
  AssetExistsError,
  AssetService,
  AssetValidationError,
  GBTC_MINT_LEASE,
} from '../../src/ledger/assets.ts';
import type { Database } from '../../src/store/database.ts';
import { tempDir } from '../support/cli.ts';
import {
  createTestDatabase,
  mariadbAvailable,
  silentLogger,
  type TestDatabase,
} from '../support/test-database.ts';

const ISSUANCE = 2_100_000_000_000_000n;

/** tapd with a counted (and optionally slow, or crashing-after-mint) mintAsset. */
function instrumented(inner: AssetsBackend, options: { delayMs?: number; crashAfterMint?: boolean } = {}) {
  const calls: MintRequest[] = [];
  const mintAsset = async (request: MintRequest) => {
    calls.push(request);
    await new Promise((resolve) => setTimeout(resolve, options.delayMs ?? 0));
    const result = await inner.mintAsset(request);
    // The process "dies" after tapd minted and before the database heard of it.
    if (options.crashAfterMint) throw new Error('crash after mint');
    return result;
  };
  // Everything else goes to the simulator itself (bound: it keeps private state).
  const backend = new Proxy(inner, {
    get: (target, prop) => {
      if (prop === 'mintAsset') return mintAsset;
      const value = Reflect.get(target, prop) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { backend, calls };
}

for (const kind of ['sqlite', 'mariadb'] as const) {
  describe.skipIf(kind === 'mariadb' && !mariadbAvailable)(`AssetService on ${kind}`, () => {
    let test: TestDatabase;
    let database: Database;
    let dir: string;
    let backends: Backends;

    beforeAll(async () => {
      test = await createTestDatabase(kind);
    });
    afterAll(async () => {
      await test?.drop();
    });
    // Every test starts from an empty registry and a fresh simulated tapd.
    beforeEach(async () => {
      database = test.database;
      await database.db.deleteFrom('assets').execute();
      await database.db.deleteFrom('settings').execute();
      dir = tempDir('arkrelay-assets-');
      backends = await createBackends(loadConfig({ DATA_DIR: dir }), { logger: silentLogger });
      return async () => {
        await backends.close();
        rmSync(dir, { recursive: true, force: true });
      };
    });

    const service = (
      assets: AssetsBackend,
      extra: Partial<ConstructorParameters<typeof AssetService>[0]> = {},
    ) =>
      new AssetService({
        database,
        assets,
        logger: silentLogger,
        gbtcIssuance: ISSUANCE,
        pollMs: 20,
        ...extra,
      });

    it('creates and mints gBTC on first start, with tapd’s id and supply', async () => {
      const { backend, calls } = instrumented(backends.assets);
      const gbtc = await service(backend).ensureGbtc();
      expect(calls).toHaveLength(1);
      expect(calls[0]).toMatchObject({ name: 'gBTC', amount: ISSUANCE, decimalDisplay: 8 });
      const inTapd = (await backends.assets.listAssets()).filter((a) => a.name === 'gBTC');
      expect(inTapd).toHaveLength(1);
      expect(gbtc).toMatchObject({
        assetId: 'gBTC',
        name: 'Gateway BTC',
        ticker: 'gBTC',
        decimals: 8,
        assetType: 'relay_issued',
        enabled: true,
        tapdAssetId: inTapd[0]!.assetId,
        totalSupply: inTapd[0]!.mintedSupply,
        minAmount: 1n,
        maxAmount: null,
      });
      expect(inTapd[0]!.mintedSupply).toBe(ISSUANCE);
      // The lease is gone once the mint is recorded.
      expect(await database.db.selectFrom('settings').selectAll().execute()).toEqual([]);

      // A restart finds it and mints nothing.
      const again = instrumented(backends.assets);
      expect(await service(again.backend).ensureGbtc()).toEqual(gbtc);
      expect(again.calls).toHaveLength(0);
    });

    it('mints once when five instances start at the same time', async () => {
      const { backend, calls } = instrumented(backends.assets, { delayMs: 150 });
      // Separate pools on MariaDB, so the instances really run on different connections.
      const databases =
        kind === 'mariadb' ? await Promise.all([1, 2, 3, 4, 5].map(() => test.reopen())) : [database];
      const results = await Promise.all(
        [0, 1, 2, 3, 4].map((i) =>
          new AssetService({
            database: databases[i % databases.length]!,
            assets: backend,
            logger: silentLogger,
            gbtcIssuance: ISSUANCE,
            pollMs: 20,
          }).ensureGbtc(),
        ),
      );
      expect(calls).toHaveLength(1);
      expect(new Set(results.map((r) => r.tapdAssetId)).size).toBe(1);
      expect((await backends.assets.listAssets()).filter((a) => a.name === 'gBTC')).toHaveLength(1);
    });

    it('adopts a mint whose database write was lost instead of minting again', async () => {
      let clock = Date.UTC(2026, 0, 1);
      const crashing = instrumented(backends.assets, { crashAfterMint: true });
      await expect(service(crashing.backend, { now: () => clock }).ensureGbtc()).rejects.toThrow(
        'crash after mint',
      );
      expect(crashing.calls).toHaveLength(1);
      const row = await database.db
        .selectFrom('assets')
        .selectAll()
        .where('asset_id', '=', 'gBTC')
        .executeTakeFirstOrThrow();
      expect(row.tapd_asset_id).toBeNull();
      expect(Number(row.enabled)).toBe(0);
      // A dead process cannot drop its lease: leave one behind as it would.
      await database.db
        .insertInto('settings')
        .values({
          name: GBTC_MINT_LEASE,
          value_json: JSON.stringify({ holder: 'dead', expires_at: clock + 600_000 }),
          updated_at: clock,
        })
        .execute();

      clock += 600_001; // the dead holder's lease has run out
      const retry = instrumented(backends.assets);
      const gbtc = await service(retry.backend, { now: () => clock }).ensureGbtc();
      expect(retry.calls).toHaveLength(0);
      const inTapd = (await backends.assets.listAssets()).filter((a) => a.name === 'gBTC');
      expect(inTapd).toHaveLength(1);
      expect(gbtc).toMatchObject({ tapdAssetId: inTapd[0]!.assetId, totalSupply: ISSUANCE, enabled: true });
    });

    it('does not mint while another live process holds the lease', async () => {
      const clock = Date.UTC(2026, 0, 1);
      await service(backends.assets, { now: () => clock }).create({
        assetId: 'gBTC',
        name: 'Gateway BTC',
        ticker: 'gBTC',
        decimals: 8,
        assetType: 'relay_issued',
        enabled: false,
      });
      await database.db
        .insertInto('settings')
        .values({
          name: GBTC_MINT_LEASE,
          value_json: JSON.stringify({ holder: 'alive', expires_at: clock + 600_000 }),
          updated_at: clock,
        })
        .execute();
      const { backend, calls } = instrumented(backends.assets);
      let now = clock;
      // Its clock moves 100 ms per look; it gives up after 300 ms of waiting.
      const waiting = service(backend, { now: () => (now += 100), waitMs: 300 }).ensureGbtc();
      await expect(waiting).rejects.toThrow('being minted by another process');
      expect(calls).toHaveLength(0);
    });

    it('registers, lists, enables and disables assets; refuses duplicates and bad input', async () => {
      const assets = service(backends.assets);
      const created = await assets.create({
        assetId: 'a'.repeat(64),
        name: 'Tether',
        ticker: 'USDT',
        decimals: 6,
        assetType: 'permissionless',
        tapdAssetId: 'a'.repeat(64),
        maxAmount: 10_000_000_000n,
      });
      expect(created).toMatchObject({
        enabled: true,
        minAmount: 1n,
        maxAmount: 10_000_000_000n,
        totalSupply: 0n,
      });
      await expect(
        assets.create({
          assetId: 'other',
          name: 'x',
          ticker: 'USDT',
          decimals: 0,
          assetType: 'permissionless',
        }),
      ).rejects.toBeInstanceOf(AssetExistsError);
      await expect(
        assets.create({
          assetId: 'bad id!',
          name: 'x',
          ticker: 'X',
          decimals: 0,
          assetType: 'permissionless',
        }),
      ).rejects.toBeInstanceOf(AssetValidationError);
      await expect(
        assets.create({
          assetId: 'x',
          name: 'x',
          ticker: 'X',
          decimals: 0,
          assetType: 'permissionless',
          minAmount: 5n,
          maxAmount: 4n,
        }),
      ).rejects.toBeInstanceOf(AssetValidationError);
      await assets.ensureGbtc();
      expect((await assets.list()).map((a) => a.ticker)).toEqual(['USDT', 'gBTC']);
      expect((await assets.setEnabled(created.assetId, false))?.enabled).toBe(false);
      expect((await assets.list({ enabledOnly: true })).map((a) => a.assetId)).toEqual(['gBTC']);
      expect(await assets.setEnabled('nope', true)).toBeUndefined();
      // A restart never re-enables an asset the operator disabled.
      await assets.setEnabled('gBTC', false);
      expect((await assets.ensureGbtc()).enabled).toBe(false);
    });
  });
}
