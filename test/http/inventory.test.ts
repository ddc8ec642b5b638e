// The inventory routes over HTTP, on the simulated Ark server: the inventory read, batch
// creation (admin key, validated, stable error codes), the monitor toggle and the cleanup
// endpoints, each admin call in the audit log.
import { routePlugins } from '../../src/http/admin-scope.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret, loadConfig } from '../../src/config.ts';
import { LightningSimulator } from '../../src/backends/lnd/simulator.ts';
import { adminGuard, type AdminAccess } from '../../src/http/admin-auth.ts';
import { auditHook } from '../../src/http/audit.ts';
import { inventoryRoutes } from '../../src/http/routes/inventory.ts';
import { createHttpServer, type HttpServer } from '../../src/http/server.ts';
import { createInventoryLedger, type InventoryLedger } from '../../src/ledger/inventory-ledger.ts';
import { tempDir } from '../support/cli.ts';
import { silentLogger } from '../support/test-database.ts';
import { AT_REST, harness, insertAsset, type Harness } from '../ledger/inventory-support.ts';

const KEY = 'inventory-admin-key-'.padEnd(40, 'k');

let h: Harness;
let ledger: InventoryLedger;
let app: HttpServer;

const call = async (method: 'GET' | 'POST', url: string, body?: unknown, key: string | null = KEY) => {
  const response = await app.inject({
    method,
    url,
    headers: key === null ? {} : { 'x-admin-key': key },
    ...(body === undefined ? {} : { payload: body as object }),
  });
  // Response bodies are checked field by field below.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return { status: response.statusCode, body: response.json() as any };
};

beforeAll(async () => {
  h = await harness('sqlite');
  await insertAsset(h.database, 'gOFF', 0);
  ledger = await createInventoryLedger({
    config: loadConfig({
      DATA_DIR: tempDir(),
      VTXO_INVENTORY_CRITICAL: '2',
      VTXO_INVENTORY_WARNING: '4',
      VTXO_INVENTORY_TARGET: '8',
      VTXO_BATCH_SIZE: '3',
      VTXO_INVENTORY_AMOUNT_SATS: '600',
    }),
    database: h.database,
    backends: { ark: h.ark, lightning: new LightningSimulator(h.world.world) },
    logger: silentLogger,
    atRestKey: AT_REST,
  });
  const admin: AdminAccess = {
    guard: adminGuard(new Secret(KEY), { maxFailures: 1000 }),
    audit: auditHook(h.database),
    configured: true,
  };
  app = await createHttpServer(silentLogger, routePlugins([inventoryRoutes({ ledger })], admin));
});
afterAll(async () => {
  await app?.close();
  await ledger?.close();
  await h?.dispose();
});

describe('inventory routes', () => {
  it('GET /vtxos/inventory/{asset_id}: counts, thresholds, monitor state; 404 for an unknown asset', async () => {
    const { status, body } = await call('GET', '/vtxos/inventory/gBTC', undefined, null);
    expect(status).toBe(200);
    expect(body).toEqual({
      asset_id: 'gBTC',
      enabled: true,
      available: 0,
      counts: { available: 0, assigned: 0, pending_spend: 0, spent: 0, expired: 0 },
      thresholds: {
        critical: 2,
        warning: 4,
        target: 8,
        batch_size: 3,
        amount_sats: '600',
        low_fee_rate_sat_vb: '10',
      },
      monitor: { running: true, updated_at: null },
      last_replenishment: null,
      inventory_pubkey: ledger.key.pubkey,
    });
    const unknown = await call('GET', '/vtxos/inventory/nope', undefined, null);
    expect(unknown).toEqual({
      status: 404,
      body: { error: { code: 'not_found', message: 'unknown asset nope' } },
    });
  });

  it('POST /vtxos/batch/create: admin key required; bad bodies are 400 validation_failed and create nothing', async () => {
    expect((await call('POST', '/vtxos/batch/create', { count: 2 }, null)).status).toBe(401);
    const calls = h.counting.batchCalls;
    for (const body of [
      {},
      { count: 0 },
      { count: 10_001 },
      { count: 1.5 },
      { count: 2, extra: true },
      { count: 2, amount_sats: '0' },
      { count: 2, amount_sats: -5 },
      { count: 2, amount_sats: 329 }, // below the Ark server's dust
      { count: 2, asset_id: 'nope' },
      { count: 2, asset_id: 'gOFF' }, // disabled
      { count: 2, asset_id: 'bad id!' },
    ]) {
      const { status, body: reply } = await call('POST', '/vtxos/batch/create', body);
      expect([status, reply.error?.code], JSON.stringify(body)).toEqual([400, 'validation_failed']);
    }
    expect(h.counting.batchCalls).toBe(calls);
    expect(await ledger.inventory.available('gBTC')).toBe(0);
  });

  it('POST /vtxos/batch/create makes the batch and reports its commitment txid; the read shows it', async () => {
    const created = await call('POST', '/vtxos/batch/create', { count: 3 });
    expect(created.status).toBe(200);
    expect(created.body).toEqual({
      asset_id: 'gBTC',
      commitment_txid: expect.stringMatching(/^[0-9a-f]{64}$/),
      count: 3,
      amount_sats: '600',
      available: 3,
    });
    const custom = await call('POST', '/vtxos/batch/create', {
      asset_id: 'gBTC',
      count: 2,
      amount_sats: '1500',
    });
    expect(custom.body).toMatchObject({ count: 2, amount_sats: '1500', available: 5 });
    const read = await call('GET', '/vtxos/inventory/gBTC', undefined, null);
    expect(read.body.counts.available).toBe(5);
    expect(read.body.last_replenishment).toMatchObject({
      commitment_txid: custom.body.commitment_txid,
      count: 2,
    });
    expect((await h.ark.getCommitmentAnchor())?.txid).toBe(custom.body.commitment_txid);
  });

  it('POST /vtxos/monitor/stop|start toggles the shared state', async () => {
    expect((await call('POST', '/vtxos/monitor/stop', undefined, null)).status).toBe(401);
    const stopped = await call('POST', '/vtxos/monitor/stop');
    expect(stopped).toMatchObject({ status: 200, body: { running: false } });
    expect(await ledger.monitor.isRunning()).toBe(false);
    expect((await call('GET', '/vtxos/inventory/gBTC', undefined, null)).body.monitor.running).toBe(false);
    expect(await ledger.monitor.tick()).toEqual({ status: 'stopped' });
    const started = await call('POST', '/vtxos/monitor/start');
    expect(started.body.running).toBe(true);
    expect(new Date(started.body.updated_at).getTime()).toBeGreaterThan(0);
    expect(await ledger.monitor.isRunning()).toBe(true);
  });

  it('POST /vtxos/cleanup and /assets/cleanup-vtxos run the cleanup and return its counts', async () => {
    // Push the expiry of two inventory VTXOs into the past.
    const ids = (await ledger.vtxos.listByOwner(ledger.key.pubkey, { limit: 2 })).map((v) => v.vtxoId);
    await h.database.db.updateTable('vtxos').set({ expires_at: 1 }).where('vtxo_id', 'in', ids).execute();
    expect((await call('POST', '/vtxos/cleanup', undefined, null)).status).toBe(401);
    const first = await call('POST', '/vtxos/cleanup');
    expect(first).toEqual({
      status: 200,
      body: {
        released_locks: 0,
        expired_vtxos: 2,
        by_asset: { gBTC: { available: 2, assigned: 0 } },
        more: false,
      },
    });
    const second = await call('POST', '/assets/cleanup-vtxos');
    expect(second).toEqual({
      status: 200,
      body: { released_locks: 0, expired_vtxos: 0, by_asset: {}, more: false },
    });
    expect(await ledger.inventory.available('gBTC')).toBe(3);
  });

  it('POST /vtxos/inventory/reconcile records nothing when the ledger is complete', async () => {
    const { status, body } = await call('POST', '/vtxos/inventory/reconcile', { asset_id: 'gBTC' });
    expect(status).toBe(200);
    expect(body).toMatchObject({ asset_id: 'gBTC', recorded: 0 });
    expect(body.on_server).toBeGreaterThanOrEqual(3);
  });

  it('every admin call, refused or not, is in the audit log', async () => {
    const rows = await h.database.db
      .selectFrom('admin_audit_log')
      .select(['action', 'status_code'])
      .execute();
    const actions = new Set(rows.map((r) => `${r.action} ${r.status_code}`));
    for (const expected of [
      '/vtxos/batch/create 401',
      '/vtxos/batch/create 400',
      '/vtxos/batch/create 200',
      '/vtxos/monitor/stop 401',
      '/vtxos/monitor/stop 200',
      '/vtxos/cleanup 200',
      '/assets/cleanup-vtxos 200',
    ]) {
      expect(actions).toContain(expected);
    }
  });
});
