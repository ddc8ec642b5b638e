// GET /grpc/*, reconnect and the simulator's HTTP controls, over the real route plugins and
// the real simulators; and the composed gateway showing each daemon's mode.
import { routePlugins } from '../../src/http/admin-scope.ts';
import { rmSync } from 'node:fs';
import bolt11 from 'bolt11';
import { afterEach, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../src/app.ts';
import { backendHealthChecks } from '../../src/backends/health.ts';
import { createBackends, type Backends } from '../../src/backends/index.ts';
import type { LightningBackend } from '../../src/backends/lnd/lightning-backend.ts';
import { BackendError, type BackendStatus } from '../../src/backends/types.ts';
import { loadConfig } from '../../src/config.ts';
import { adminGuard } from '../../src/http/admin-auth.ts';
import { backendRoutes } from '../../src/http/routes/backends.ts';
import { systemRoutes } from '../../src/http/routes/system.ts';
import { createHttpServer } from '../../src/http/server.ts';
import { createLogger } from '../../src/logging.ts';
import { HealthRegistry } from '../../src/monitoring/health.ts';
import { Readiness } from '../../src/monitoring/readiness.ts';
import { tempDir } from '../support/cli.ts';

const logger = createLogger({ level: 'silent' });
const ADMIN = 'a'.repeat(40);
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** A real lnd that cannot be reached: its probe fails and its breaker is open. */
function unreachableLnd(): LightningBackend {
  const status: BackendStatus = {
    name: 'lnd',
    mode: 'real',
    address: '127.0.0.1:10009',
    breaker: { state: 'open', consecutiveFailures: 5, openedAtMs: Date.UTC(2025, 0, 1) },
    lastError: {
      message: 'connect ECONNREFUSED 127.0.0.1:10009',
      kind: 'unavailable',
      atMs: Date.UTC(2025, 0, 1),
    },
  };
  const down = async () => {
    throw new BackendError('lnd', 'circuit_open', 'lnd circuit breaker is open');
  };
  return new Proxy(
    { name: 'lnd', mode: 'real', status: () => status, close: async () => undefined } as object,
    {
      // Not a thenable: `then` stays undefined so the proxy can be returned from an async function.
      get: (target, prop) =>
        prop in target ? target[prop as keyof typeof target] : prop === 'then' ? undefined : down,
    },
  ) as LightningBackend;
}

async function setup(env: Record<string, string> = {}, real?: { lnd: () => Promise<LightningBackend> }) {
  const dir = tempDir();
  const config = loadConfig({ DATA_DIR: dir, ...env });
  const backends: Backends = await createBackends(config, { logger, ...(real ? { real } : {}) });
  const health = new HealthRegistry();
  for (const check of backendHealthChecks(backends)) health.register(check);
  // The audit log is tested with the admin API; these tests are about the routes.
  const admin = {
    guard: adminGuard(config.adminApiKey),
    audit: async () => {},
    configured: config.adminApiKey !== undefined,
  };
  const app = await createHttpServer(logger, [
    systemRoutes({
      instanceId: 't',
      roles: ['api'],
      mode: {},
      startedAt: new Date(),
      readiness: new Readiness(),
      health,
      readinessChecks: [],
    }),
    ...routePlugins([backendRoutes({ backends, admin })], admin),
  ]);
  cleanup.push(async () => {
    await app.close();
    await backends.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { app, backends, config };
}

describe('GET /grpc/{service}', () => {
  it('shows real figures from the simulators in the embedded default', async () => {
    const { app, backends } = await setup();
    await backends.assets.mintAsset({ name: 'gBTC', amount: 5_000n, decimalDisplay: 8, grouped: true });
    await backends.ark.createInventoryBatch({
      ownerPubkey: 'f9308a019258c31049344f85f89d5229b531c845836f99b08601f113bce036f9',
      // Secret key 3: the x-only key above is 3·G.
      ownerSecretKey: Uint8Array.from({ length: 32 }, (_, i) => (i === 31 ? 3 : 0)),
      amounts: [1000n],
    });

    const arkd = await app.inject('/grpc/arkd');
    expect(arkd.statusCode).toBe(200);
    const ark = arkd.json();
    expect(ark).toMatchObject({
      service: 'arkd',
      mode: 'sim',
      status: 'up',
      breaker: { state: 'closed' },
      last_error: null,
    });
    expect(ark.figures.info).toMatchObject({
      network: 'regtest',
      dust: '330',
      signer_pubkey: (await backends.ark.getInfo()).signerPubkey,
    });
    expect(ark.figures.latest_commitment.txid).toMatch(/^[0-9a-f]{64}$/);

    const tapd = (await app.inject('/grpc/tapd')).json();
    expect(tapd.figures.assets).toMatchObject([{ name: 'gBTC', minted_supply: '5000', balance: '5000' }]);

    const invoice = await backends.lightning.createInvoice({ amountMsat: 40_000n });
    await backends.sim!.lightning!.payInvoice(invoice.paymentHash);
    const lnd = (await app.inject('/grpc/lnd')).json();
    expect(lnd.figures.info.node_pubkey).toMatch(/^0[23][0-9a-f]{64}$/);
    expect(lnd.figures.balances.channel_local_sats).toBe('10000040');

    const health = (await app.inject('/health')).json();
    expect(health.dependencies.lnd).toMatchObject({
      status: 'simulated',
      critical: true,
      details: { mode: 'sim', breaker: 'closed' },
    });
    expect((await app.inject('/grpc/nope')).statusCode).toBe(400);
  });

  it('reports a configured real daemon that is down as down, never as the simulator', async () => {
    const { app, backends } = await setup(
      { LND_HOST: '127.0.0.1:10009', LND_MACAROON: 'ab'.repeat(16) },
      { lnd: async () => unreachableLnd() },
    );
    expect(backends.sim?.lightning).toBeUndefined();
    const lnd = await app.inject('/grpc/lnd');
    expect(lnd.statusCode).toBe(503);
    expect(lnd.json()).toMatchObject({
      service: 'lnd',
      mode: 'real',
      status: 'down',
      error: 'lnd circuit breaker is open',
      breaker: { state: 'open', consecutive_failures: 5, opened_at: '2025-01-01T00:00:00.000Z' },
      last_error: { kind: 'unavailable' },
    });
    const health = await app.inject('/health');
    expect(health.statusCode).toBe(503);
    expect(health.json().dependencies.lnd).toMatchObject({ status: 'down', critical: true });
    expect(health.json().dependencies.lnd.error).toMatch(/real lnd at 127\.0\.0\.1:10009: .*breaker open/);
    // The simulator's Lightning controls do not exist when lnd is real.
    expect(
      (await app.inject({ method: 'POST', url: '/sim/lightning/pay', payload: { invoice: 'x' } })).statusCode,
    ).toBe(404);
  });
});

describe('POST|GET /grpc/reconnect/{service}', () => {
  it('needs the admin key and accepts POST and GET', async () => {
    const { app } = await setup({ ADMIN_API_KEY: ADMIN });
    expect((await app.inject({ method: 'POST', url: '/grpc/reconnect/lnd' })).statusCode).toBe(401);
    const headers = { 'x-admin-key': ADMIN };
    const post = await app.inject({ method: 'POST', url: '/grpc/reconnect/lnd', headers });
    expect(post.statusCode).toBe(200);
    expect(post.json()).toMatchObject({ service: 'lnd', status: 'up' });
    expect((await app.inject({ method: 'GET', url: '/grpc/reconnect/arkd', headers })).statusCode).toBe(200);
  });

  it('is refused when no admin key is configured', async () => {
    const { app } = await setup();
    expect((await app.inject({ method: 'GET', url: '/grpc/reconnect/tapd' })).statusCode).toBe(403);
  });
});

describe('simulator controls over HTTP', () => {
  it('pays a lift invoice, makes external invoices and sets payment outcomes', async () => {
    const { app, backends } = await setup({ ADMIN_API_KEY: ADMIN });
    const headers = { 'x-admin-key': ADMIN };
    const invoice = await backends.lightning.createInvoice({ amountMsat: 12_000n });
    expect(
      (
        await app.inject({
          method: 'POST',
          url: '/sim/lightning/pay',
          payload: { invoice: invoice.paymentRequest },
        })
      ).statusCode,
    ).toBe(401);
    const paid = await app.inject({
      method: 'POST',
      url: '/sim/lightning/pay',
      headers,
      payload: { invoice: invoice.paymentRequest },
    });
    expect(paid.statusCode).toBe(200);
    expect(paid.json()).toMatchObject({
      payment_hash: invoice.paymentHash,
      state: 'settled',
      amount_paid_msat: '12000',
    });
    const twice = await app.inject({
      method: 'POST',
      url: '/sim/lightning/pay',
      headers,
      payload: { invoice: invoice.paymentHash },
    });
    expect(twice.statusCode).toBe(400);

    const external = await app.inject({
      method: 'POST',
      url: '/sim/lightning/external-invoice',
      headers,
      payload: { amount_msat: '3000' },
    });
    const request = external.json().payment_request as string;
    expect(bolt11.decode(request).millisatoshis).toBe('3000');
    const behaviour = await app.inject({
      method: 'POST',
      url: '/sim/lightning/behaviour',
      headers,
      payload: { outcome: 'fail', failure_reason: 'no_route' },
    });
    expect(behaviour.json()).toMatchObject({ outcome: 'fail', failure_reason: 'no_route' });
    expect(
      await backends.lightning.payInvoice({ paymentRequest: request, maxFeeSats: 10n, timeoutSeconds: 5 }),
    ).toMatchObject({
      state: 'failed',
      failureReason: 'no_route',
    });
    const mined = await app.inject({
      method: 'POST',
      url: '/sim/chain/mine',
      headers,
      payload: { blocks: 2 },
    });
    expect(mined.json().height).toBe((await backends.ark.getChainTip()).height);
  });

  it('without an admin key answers loopback callers only', async () => {
    const { app, backends } = await setup();
    const invoice = await backends.lightning.createInvoice({ amountMsat: 1_000n });
    const remote = await app.inject({
      method: 'POST',
      url: '/sim/lightning/pay',
      remoteAddress: '10.0.0.7',
      payload: { invoice: invoice.paymentHash },
    });
    expect(remote.statusCode).toBe(403);
    const local = await app.inject({
      method: 'POST',
      url: '/sim/lightning/pay',
      remoteAddress: '127.0.0.1',
      payload: { invoice: invoice.paymentHash },
    });
    expect(local.statusCode).toBe(200);
  });
});

describe('composed gateway', () => {
  it('wires the simulated daemons: mode in GET /, checks in /health', async () => {
    const dir = tempDir();
    let gateway: Gateway | undefined = await startGateway(
      loadConfig({
        DATA_DIR: dir,
        PORT: '0',
        HOST: '127.0.0.1',
        EMBEDDED_RELAY_PORT: '0',
        METRICS_PORT: '0',
      }),
      { roles: ['api'], logger },
    );
    cleanup.push(async () => {
      await gateway?.stop('test over');
      gateway = undefined;
      rmSync(dir, { recursive: true, force: true });
    });
    const root = (await (await fetch(`${gateway.httpUrl}/`)).json()) as { mode: Record<string, string> };
    expect(root.mode).toMatchObject({ daemons: 'sim', arkd: 'sim', tapd: 'sim', lnd: 'sim' });
    const health = (await (await fetch(`${gateway.httpUrl}/health`)).json()) as {
      dependencies: Record<string, { status: string; details?: { mode?: string } }>;
    };
    for (const name of ['arkd', 'tapd', 'lnd']) {
      expect(health.dependencies[name]).toMatchObject({ status: 'simulated', details: { mode: 'sim' } });
    }
    expect(gateway.backends.modes).toEqual({ arkd: 'sim', tapd: 'sim', lnd: 'sim' });
  });
});
