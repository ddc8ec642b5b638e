// `arkrelay sim pay` in its own process settles an invoice of the simulated node, which the
// process that made the invoice sees (the shared world file); refused when lnd is real.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LightningSimulator } from '../../../src/backends/lnd/simulator.ts';
import { SimWorld } from '../../../src/backends/sim/world.ts';
import { runCli, tempDir } from '../../support/cli.ts';

let world: SimWorld | undefined;
afterEach(() => world?.close());

describe('arkrelay sim', () => {
  it('pays a gateway invoice by BOLT11 and refuses a second payment', async () => {
    const cwd = tempDir();
    world = new SimWorld({ dataDir: join(cwd, 'data') });
    const ln = new LightningSimulator(world);
    const invoice = await ln.createInvoice({ amountMsat: 25_000n, memo: 'lift' });
    const run = runCli(['sim', 'pay', invoice.paymentRequest], {}, cwd);
    expect((await run.exited).code).toBe(0);
    expect(JSON.parse(run.stdout())).toMatchObject({
      payment_hash: invoice.paymentHash,
      state: 'settled',
      amount_msat: '25000',
    });
    expect((await ln.lookupInvoice(invoice.paymentHash))?.state).toBe('settled');
    const again = runCli(['sim', 'pay', invoice.paymentHash], {}, cwd);
    expect((await again.exited).code).not.toBe(0);
    expect(again.stderr()).toMatch(/is settled, not open/);
  }, 30_000);

  it('is refused when Lightning is a real lnd', async () => {
    const run = runCli(['sim', 'pay', '00'.repeat(32)], { LND_HOST: '127.0.0.1:10009' });
    expect((await run.exited).code).not.toBe(0);
    expect(run.stderr()).toMatch(
      /LND_MODE is real: `arkrelay sim pay` only works with the simulated Lightning node/,
    );
  }, 30_000);

  it('makes an invoice of the external node for a land', async () => {
    const cwd = tempDir();
    const run = runCli(['sim', 'invoice', '1500', 'coffee'], {}, cwd);
    expect((await run.exited).code).toBe(0);
    expect(JSON.parse(run.stdout()).payment_request).toMatch(/^lnbcrt15u1/);
  }, 30_000);
});
