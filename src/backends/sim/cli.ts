// `arkrelay sim …`: the simulator's controls from a shell. They open the simulated world file
// directly (the running gateway sees the change on its next poll), and are refused when the
// daemon they act on is real.
import type { Config } from '../../config.ts';
import { LightningControls } from '../lnd/simulator.ts';
import { SimWorld } from './world.ts';

export class SimRefused extends Error {}

function openWorld(config: Config): SimWorld {
  return new SimWorld({
    dataDir: config.dataDir,
    ...(config.daemons.simSeed ? { seed: config.daemons.simSeed.reveal() } : {}),
  });
}

function lightningWorld(config: Config, command: string): SimWorld {
  if (config.daemons.lnd.mode !== 'sim') {
    throw new SimRefused(`LND_MODE is real: \`${command}\` only works with the simulated Lightning node`);
  }
  return openWorld(config);
}

/** Pays one of the gateway's invoices as an external payer would; returns what to print. */
export async function simPay(config: Config, invoice: string): Promise<Record<string, string>> {
  const world = lightningWorld(config, 'arkrelay sim pay');
  try {
    const settled = await new LightningControls(world).payInvoice(invoice);
    return {
      payment_hash: settled.paymentHash,
      state: settled.state,
      amount_msat: settled.amountMsat.toString(),
      settle_index: settled.settleIndex.toString(),
      preimage: settled.preimage ?? '',
    };
  } finally {
    world.close();
  }
}

/** An invoice of the simulated external node, for a land to pay. */
export async function simInvoice(
  config: Config,
  amountSats: bigint,
  memo: string,
): Promise<Record<string, string>> {
  const world = lightningWorld(config, 'arkrelay sim invoice');
  try {
    const invoice = await new LightningControls(world).createExternalInvoice({
      amountMsat: amountSats * 1000n,
      memo,
    });
    return { payment_request: invoice.paymentRequest, payment_hash: invoice.paymentHash };
  } finally {
    world.close();
  }
}
