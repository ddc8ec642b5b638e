// The ledger's HTTP reads over the real route plugin, database and simulated daemons: a user's
// VTXOs by hex or npub with filters and cursor paging, balances, stats, the asset registry,
// the reserve, and the admin ledger check — amounts as decimal strings, also past 2^53.
import { routePlugins } from '../../src/http/admin-scope.ts';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { nip19 } from 'nostr-tools';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackends, type Backends } from '../../src/backends/index.ts';
import { loadConfig, Secret } from '../../src/config.ts';
import { adminGuard } from '../../src/http/admin-auth.ts';
import { auditHook } from '../../src/http/audit.ts';
import { ledgerRoutes, percentOf } from '../../src/http/routes/ledger.ts';
import { createHttpServer, type HttpServer } from '../../src/http/server.ts';
import { createLedgerModule, type LedgerModule } from '../../src/ledger/module.ts';
import { hex32 } from '../store/fixtures.ts';
import { tempDir } from '../support/cli.ts';
import {
  createTestDatabase,
  mariadbAvailable,
  silentLogger,
  type TestDatabase,
} from '../support/test-database.ts';

const ADMIN = 'k'.repeat(40);
const BIG = 2n ** 60n + 7n; // past 2^53: must survive as a string

describe('percentOf', () => {
  it.each([
    [1_000_000n, '100.00'],
    [999_999n, '99.99'],
    [1_234_567n, '123.45'],
    [0n, '0.00'],
    [500n, '0.05'],
  ])('%s ppm is %s percent', (ppm, text) => expect(percentOf(ppm)).toBe(text));
});

for (const kind of ['sqlite', 'mariadb'] as const) {
  describe.skipIf(kind === 'mariadb' && !mariadbAvailable)(`ledger routes on ${kind}`, () => {
    let test: TestDatabase;
    let backends: Backends;
    let dir: string;
    let ledger: LedgerModule;
    let app: HttpServer;
    const alice = hex32();
    const bob = hex32();
    const ids: string[] = [];

    beforeAll(async () => {
      test = await createTestDatabase(kind);
      dir = tempDir('arkrelay-ledger-http-');
      const config = loadConfig({ DATA_DIR: dir, GBTC_ISSUANCE: '21000000' });
      backends = await createBackends(config, { logger: silentLogger });
      ledger = createLedgerModule({ config, database: test.database, backends, logger: silentLogger });
      await ledger.start();
      await ledger.assets.create({
        assetId: 'USDT',
        name: 'Tether',
        ticker: 'USDT',
        decimals: 6,
        assetType: 'permissionless',
      });
      app = await createHttpServer(
        silentLogger,
        routePlugins([ledgerRoutes(ledger)], {
          guard: adminGuard(new Secret(ADMIN)),
          audit: auditHook(test.database),
          configured: true,
        }),
      );
      // Alice: 25 gBTC VTXOs (one of them huge), 3 USDT; one locked by a session, one spent.
      for (let i = 0; i < 25; i++) {
        const txid = hex32();
        const amount = i === 0 ? BIG : BigInt(100 + i);
        const [v] = await ledger.store.createOutputs(
          [{ txid, vout: 0, ownerPubkey: alice, assetId: 'gBTC', amount, sats: 330n }],
          [{ assetId: 'gBTC', kind: 'lift', amount, reference: txid }],
        );
        ids.push(v!.vtxoId);
      }
      for (let i = 0; i < 3; i++) {
        const txid = hex32();
        await ledger.store.createOutputs(
          [{ txid, vout: 0, ownerPubkey: alice, assetId: 'USDT', amount: 5n, sats: 330n }],
          [{ assetId: 'USDT', kind: 'mint', amount: 5n, reference: txid }],
        );
      }
      await ledger.store.lockForSession(randomUUID(), [ids[1]!], alice, 'gBTC', 60_000);
      const session = randomUUID();
      await ledger.store.lockForSession(session, [ids[2]!], alice, 'gBTC', 60_000);
      const spend = hex32();
      await ledger.store.markSpent(session, spend, {
        outputs: [{ txid: spend, vout: 0, ownerPubkey: bob, assetId: 'gBTC', amount: 102n, sats: 330n }],
      });
    });
    afterAll(async () => {
      await app?.close();
      await ledger?.stop();
      await backends?.close();
      rmSync(dir, { recursive: true, force: true });
      await test?.drop();
    });

    const get = async (url: string, headers: Record<string, string> = {}) => {
      const response = await app.inject({ method: 'GET', url, headers });
      return {
        status: response.statusCode,
        // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies, checked by the assertions
        body: response.json() as Record<string, any>,
      };
    };

    it('pages a user’s VTXOs by id, the same for hex, upper-case hex and npub', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const { status, body } = await get(
          `/vtxos/user/${alice}?limit=10&asset_id=gBTC${cursor ? `&cursor=${cursor}` : ''}`,
        );
        expect(status).toBe(200);
        seen.push(...body.vtxos.map((v: { vtxo_id: string }) => v.vtxo_id));
        cursor = body.next_cursor;
        pages++;
      } while (cursor);
      // 25 gBTC VTXOs: 24 unspent or locked + 1 spent; each exactly once, in id order.
      expect(pages).toBe(3);
      expect(seen).toEqual([...ids].sort());
      const byNpub = await get(`/vtxos/user/${nip19.npubEncode(alice)}?limit=500`);
      const byUpper = await get(`/vtxos/user/${alice.toUpperCase()}?limit=500`);
      expect(byNpub.body).toEqual(byUpper.body);
      expect(byNpub.body.pubkey).toBe(alice);
      expect(byNpub.body.vtxos).toHaveLength(28);
      const huge = byNpub.body.vtxos.find((v: { vtxo_id: string }) => v.vtxo_id === ids[0]);
      expect(huge).toMatchObject({
        amount: BIG.toString(),
        sats: '330',
        status: 'assigned',
        asset_id: 'gBTC',
      });
    });

    it('filters by status (one or several) and asset', async () => {
      const locked = await get(`/vtxos/user/${alice}?status=pending_spend`);
      expect(locked.body.vtxos.map((v: { vtxo_id: string }) => v.vtxo_id)).toEqual([ids[1]]);
      expect(locked.body.vtxos[0].locked_by_session).toMatch(/^[0-9a-f-]{36}$/);
      const both = await get(`/vtxos/user/${alice}?status=spent&status=pending_spend`);
      expect(both.body.vtxos.map((v: { status: string }) => v.status).sort()).toEqual([
        'pending_spend',
        'spent',
      ]);
      const usdt = await get(`/vtxos/user/${alice}?asset_id=USDT`);
      expect(usdt.body.vtxos).toHaveLength(3);
      expect((await get(`/vtxos/user/${alice}?status=bogus`)).status).toBe(400);
    });

    it('refuses a bad pubkey or cursor with 400 validation_failed', async () => {
      for (const bad of ['abc', 'g'.repeat(64), 'npub1qqqq', nip19.nsecEncode(new Uint8Array(32).fill(1))]) {
        for (const path of [`/vtxos/user/${bad}`, `/balances/${bad}`]) {
          const { status, body } = await get(path);
          expect(status).toBe(400);
          expect(body.error.code).toBe('validation_failed');
        }
      }
      expect((await get(`/vtxos/user/${alice}?cursor=nope`)).status).toBe(400);
      expect((await get(`/vtxos/user/${alice}?limit=0`)).status).toBe(400);
    });

    it('answers balances per asset, available and pending', async () => {
      const { body } = await get(`/balances/${nip19.npubEncode(alice)}`);
      const gbtcAvailable = BIG + [...Array(25).keys()].slice(3).reduce((n, i) => n + BigInt(100 + i), 0n);
      expect(body.balances).toEqual([
        { asset_id: 'USDT', available: '15', pending: '0', available_count: 3, pending_count: 0 },
        {
          asset_id: 'gBTC',
          available: gbtcAvailable.toString(),
          pending: '101',
          available_count: 23,
          pending_count: 1,
        },
      ]);
      expect((await get(`/balances/${hex32()}`)).body.balances).toEqual([]);
    });

    it('counts and sums VTXOs by status and asset', async () => {
      const { body } = await get('/vtxos/stats');
      const gbtc = (status: string) =>
        body.by_status.find(
          (r: { asset_id: string; status: string }) => r.asset_id === 'gBTC' && r.status === status,
        );
      expect(gbtc('spent')).toEqual({
        asset_id: 'gBTC',
        status: 'spent',
        count: 1,
        amount: '102',
        sats: '330',
      });
      expect(gbtc('pending_spend')).toMatchObject({ count: 1, amount: '101' });
      expect(gbtc('assigned').count).toBe(24); // 23 of alice + bob's
      expect(body.totals).toEqual({ count: 29, sats: (29n * 330n).toString() });
    });

    it('lists and shows assets; 404 for an unknown one', async () => {
      const list = await get('/assets');
      expect(list.body.assets.map((a: { asset_id: string }) => a.asset_id)).toEqual(['USDT', 'gBTC']);
      const gbtc = await get('/assets/gBTC');
      expect(gbtc.body).toMatchObject({
        asset_id: 'gBTC',
        name: 'Gateway BTC',
        decimals: 8,
        type: 'relay_issued',
        enabled: true,
        total_supply: '21000000',
        tapd_asset_id: expect.stringMatching(/^[0-9a-f]{64}$/),
        min_amount: '1',
        max_amount: null,
      });
      await ledger.assets.setEnabled('USDT', false);
      expect((await get('/assets?enabled=true')).body.assets).toHaveLength(1);
      expect((await get('/assets?enabled=false')).body.assets[0].asset_id).toBe('USDT');
      await ledger.assets.setEnabled('USDT', true);
      const missing = await get('/assets/nope');
      expect(missing.status).toBe(404);
      expect(missing.body.error.code).toBe('not_found');
    });

    it('shows the newest reserve reading, null before the first, 404 for an unknown asset', async () => {
      expect((await get('/assets/gBTC/reserve')).body).toEqual({ asset_id: 'gBTC', latest: null });
      const reading = await ledger.reserves.check();
      const { body } = await get('/assets/gBTC/reserve');
      expect(body.latest).toMatchObject({
        asset_id: 'gBTC',
        total_sat: reading.totalSat.toString(),
        supply: reading.supply.toString(),
        ratio_ppm: reading.ratioPpm.toString(),
        ratio_percent: percentOf(reading.ratioPpm),
        // 2^60 sats lifted: far more than lnd holds.
        healthy: false,
      });
      expect((await get('/assets/nope/reserve')).status).toBe(404);
    });

    it('checks the ledger behind the admin key: ok, then ok:false naming the broken asset', async () => {
      expect((await get('/admin/ledger/check')).status).toBe(401);
      const good = await get('/admin/ledger/check', { 'x-admin-key': ADMIN });
      expect(good.status).toBe(200);
      expect(good.body.ok).toBe(true);
      // Value created from nothing, behind the ledger's back.
      await test.database.db
        .updateTable('vtxos')
        .set({ amount: 999n })
        .where('vtxo_id', '=', ids[3]!)
        .execute();
      const bad = await get('/admin/ledger/check', { 'x-admin-key': ADMIN });
      expect(bad.status).toBe(200);
      expect(bad.body.ok).toBe(false);
      expect(bad.body.assets).toContainEqual({
        asset_id: 'gBTC',
        ok: false,
        unspent: expect.any(String),
        expected: expect.any(String),
        difference: (999n - 103n).toString(),
      });
      await test.database.db
        .updateTable('vtxos')
        .set({ amount: 103n })
        .where('vtxo_id', '=', ids[3]!)
        .execute();
      const audited = await test.database.db.selectFrom('admin_audit_log').select('path').execute();
      expect(audited.filter((r) => r.path.startsWith('/admin/ledger/check'))).toHaveLength(3);
    });

    it('registers, disables and enables an asset behind the admin key; bad input changes nothing', async () => {
      const post = async (url: string, payload?: unknown, key: string | null = ADMIN) => {
        const response = await app.inject({
          method: 'POST',
          url,
          headers: key === null ? {} : { 'x-admin-key': key },
          ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
        });
        // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies, checked by the assertions
        return { status: response.statusCode, body: response.json() as Record<string, any> };
      };
      const gusd = {
        asset_id: 'gUSD',
        name: 'Gateway dollar',
        ticker: 'gUSD',
        decimals: 2,
        type: 'permissionless',
        max_amount: '100000000',
      };
      expect((await post('/admin/assets', gusd, null)).status).toBe(401);
      expect((await post('/admin/assets', { ...gusd, decimals: 40 })).status).toBe(400);
      expect(
        (await post('/admin/assets', { ...gusd, min_amount: '5', max_amount: '4' })).body.error.code,
      ).toBe('validation_failed');
      expect((await get('/assets/gUSD')).status).toBe(404);
      const created = await post('/admin/assets', gusd);
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        asset_id: 'gUSD',
        enabled: true,
        max_amount: '100000000',
        min_amount: '1',
      });
      expect((await post('/admin/assets', gusd)).status).toBe(409);
      expect((await post('/admin/assets/gUSD/disable')).body.enabled).toBe(false);
      expect((await get('/assets/gUSD')).body.enabled).toBe(false);
      expect((await post('/admin/assets/gUSD/enable')).body.enabled).toBe(true);
      expect((await post('/admin/assets/nope/enable')).status).toBe(404);
    });

    it('documents every ledger route in the OpenAPI document', async () => {
      const doc = (await get('/openapi.json')).body;
      for (const path of [
        '/vtxos/user/{pubkey}',
        '/vtxos/stats',
        '/assets',
        '/assets/{id}',
        '/assets/{id}/reserve',
        '/balances/{pubkey}',
        '/admin/ledger/check',
      ]) {
        expect(doc.paths[path]?.get, path).toBeDefined();
      }
    });
  });
}
