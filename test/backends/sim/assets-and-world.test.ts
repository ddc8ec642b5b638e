import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { createBackends } from '../../../src/backends/index.ts';
import { ArkSimulator } from '../../../src/backends/ark/simulator.ts';
import { LightningControls, LightningSimulator } from '../../../src/backends/lnd/simulator.ts';
import { SimWorld } from '../../../src/backends/sim/world.ts';
import { AssetsSimulator } from '../../../src/backends/tapd/simulator.ts';
import { BackendError } from '../../../src/backends/types.ts';
import { StartupError } from '../../../src/errors.ts';
import { createLogger } from '../../../src/logging.ts';
import { tempDir } from '../../support/cli.ts';
import { FakeClock, key, testWorld, type TestWorld } from './support.ts';

const worlds: TestWorld[] = [];
afterEach(() => {
  for (const w of worlds.splice(0)) w.dispose();
});
function world(seed = 'test-seed', now?: () => number): TestWorld {
  const w = testWorld({ seed, ...(now ? { now } : {}) });
  worlds.push(w);
  return w;
}

describe('Taproot Assets simulator', () => {
  it('mints, tracks balances, sends to an address and lists the transfer', async () => {
    const w = world();
    const tapd = new AssetsSimulator(w.world, new LightningSimulator(w.world));
    const minted = await tapd.mintAsset({
      name: 'gBTC',
      amount: 21_000_000n,
      decimalDisplay: 8,
      grouped: true,
    });
    expect(minted.assetId).toMatch(/^[0-9a-f]{64}$/);
    expect(minted.groupKey).toMatch(/^02[0-9a-f]{64}$/);
    expect(await tapd.listAssets()).toMatchObject([
      { assetId: minted.assetId, name: 'gBTC', mintedSupply: 21_000_000n },
    ]);
    const address = await tapd.newAddress(minted.assetId, 1_000n);
    expect(address.encoded).toMatch(/^taprt1/);
    const transfer = await tapd.send([address.encoded]);
    expect(transfer.outputs).toMatchObject([
      { assetId: minted.assetId, amount: 1_000n, proofDelivery: 'complete' },
    ]);
    expect(await tapd.listBalances()).toEqual([
      { assetId: minted.assetId, name: 'gBTC', balance: 20_999_000n },
    ]);
    expect(await tapd.listTransfers()).toHaveLength(1);
    const big = await tapd.newAddress(minted.assetId, 30_000_000n);
    await expect(tapd.send([big.encoded])).rejects.toBeInstanceOf(BackendError);
    await expect(
      tapd.mintAsset({ name: 'x', amount: 0n, decimalDisplay: 0, grouped: false }),
    ).rejects.toBeInstanceOf(BackendError);
  });

  it('issues asset invoices the Lightning subscription sees settled', async () => {
    const w = world();
    const ln = new LightningSimulator(w.world);
    const tapd = new AssetsSimulator(w.world, ln);
    const { assetId } = await tapd.mintAsset({
      name: 'USDT',
      amount: 1_000_000n,
      decimalDisplay: 2,
      grouped: false,
    });
    const invoice = await tapd.addAssetInvoice({ assetId, assetAmount: 250n, memo: 'lift USDT' });
    expect(invoice).toMatchObject({ assetId, assetAmount: 250n, amountMsat: 250_000n });
    await new LightningControls(w.world).payInvoice(invoice.paymentRequest);
    expect((await ln.lookupInvoice(invoice.paymentHash))?.state).toBe('settled');
    const external = await new LightningControls(w.world).createExternalInvoice({ amountMsat: 9_000n });
    const paid = await tapd.payAssetInvoice({
      paymentRequest: external.paymentRequest,
      assetId,
      maxFeeSats: 5n,
      timeoutSeconds: 10,
    });
    expect(paid.state).toBe('succeeded');
  });
});

describe('simulated world', () => {
  it('is deterministic given a seed', async () => {
    const clock = new FakeClock();
    const a = world('same-seed', clock.now);
    const b = world('same-seed', clock.now);
    const c = world('other-seed', clock.now);
    expect(a.world.keys.arkServer.xOnlyHex).toBe(b.world.keys.arkServer.xOnlyHex);
    expect(a.world.keys.arkServer.xOnlyHex).not.toBe(c.world.keys.arkServer.xOnlyHex);
    const run = async (w: TestWorld) => {
      const invoice = await new LightningSimulator(w.world).createInvoice({ amountMsat: 1000n });
      const batch = await new ArkSimulator(w.world).createInventoryBatch({
        ownerPubkey: key(1).pub,
        ownerSecretKey: key(1).priv,
        amounts: [1000n],
      });
      return [invoice.paymentRequest, batch.commitmentTxid];
    };
    expect(await run(a)).toEqual(await run(b));
    expect(await run(a)).not.toEqual(await run(c));
  });

  it('keeps the world across a restart and refuses a different seed for it', async () => {
    const w = world('kept');
    const batch = await new ArkSimulator(w.world).createInventoryBatch({
      ownerPubkey: key(1).pub,
      ownerSecretKey: key(1).priv,
      amounts: [1000n, 2000n],
    });
    const invoice = await new LightningSimulator(w.world).createInvoice({ amountMsat: 1000n });
    const reopened = w.reopen();
    const ark = new ArkSimulator(reopened);
    expect(await ark.listVtxos({ outpoints: batch.vtxos.map((v) => v.outpoint) })).toHaveLength(2);
    expect((await new LightningSimulator(reopened).lookupInvoice(invoice.paymentHash))?.state).toBe('open');
    expect(() => new SimWorld({ dataDir: w.dir, seed: 'another' })).toThrow(StartupError);
    // Without a seed the stored one is used.
    const again = new SimWorld({ dataDir: w.dir });
    expect(again.keys.arkServer.xOnlyHex).toBe(reopened.keys.arkServer.xOnlyHex);
    again.close();
  });
});

describe('createBackends', () => {
  const logger = createLogger({ level: 'silent', logDir: undefined });

  it('builds the three simulators by default, with sim controls', async () => {
    const dir = tempDir();
    const backends = await createBackends(loadConfig({ DATA_DIR: dir }), { logger });
    expect(backends.modes).toEqual({ arkd: 'sim', tapd: 'sim', lnd: 'sim' });
    expect(backends.all().map((b) => [b.name, b.mode])).toEqual([
      ['arkd', 'sim'],
      ['tapd', 'sim'],
      ['lnd', 'sim'],
    ]);
    expect(backends.sim?.lightning).toBeDefined();
    const height = (await backends.ark.getChainTip()).height;
    expect(await backends.sim!.mineBlocks(3)).toBe(height + 3);
    await backends.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('uses the real client for a daemon with an address and never the simulator for it', async () => {
    const dir = tempDir();
    const config = loadConfig({ DATA_DIR: dir, LND_HOST: '127.0.0.1:10009', LND_MACAROON: 'ab'.repeat(20) });
    const fakeLnd = { name: 'lnd', mode: 'real', close: async () => undefined } as never;
    const backends = await createBackends(config, { logger, real: { lnd: async () => fakeLnd } });
    expect(backends.modes).toEqual({ arkd: 'sim', tapd: 'sim', lnd: 'real' });
    expect(backends.lightning).toBe(fakeLnd);
    // Lightning is real: the simulator's Lightning controls do not exist.
    expect(backends.sim?.lightning).toBeUndefined();
    await backends.close();
    const failing = createBackends(config, {
      logger,
      real: {
        lnd: async () => {
          throw new StartupError('LND_HOST', 'cannot reach lnd');
        },
      },
    });
    await expect(failing).rejects.toThrow('LND_HOST: cannot reach lnd');
    rmSync(dir, { recursive: true, force: true });
  });
});
