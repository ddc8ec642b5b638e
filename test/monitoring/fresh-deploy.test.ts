// A fresh deploy starts with no VTXO inventory while the monitor makes it: that is not the
// critical low_vtxo_inventory alert. A real first fill takes minutes (one Ark batch per round);
// the simulator's takes milliseconds, so here the first fill is kept from finishing (inventory
// VTXOs below the Ark server's dust are refused) and the gateway judges its rules meanwhile.
import { afterEach, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logging.ts';
import { tempDir } from '../support/cli.ts';
import { waitFor } from '../support/wait.ts';

let gateway: Gateway | undefined;
afterEach(async () => {
  await gateway?.stop('test over');
  gateway = undefined;
});

async function freshDeploy(env: Record<string, string> = {}): Promise<Gateway> {
  return startGateway(
    loadConfig({
      DATA_DIR: tempDir(),
      PORT: '0',
      HOST: '127.0.0.1',
      METRICS_PORT: '0',
      EMBEDDED_RELAY_PORT: '0',
      ALERT_EVALUATION_INTERVAL_MS: '100',
      // VTXO_AUTO_START keeps its default (on): the monitor tries to fill, and cannot yet.
      VTXO_INVENTORY_AMOUNT_SATS: '1',
      VTXO_MONITOR_INTERVAL_MS: '1000',
      ...env,
    }),
    { roles: ['api'], logger: createLogger({ level: 'silent' }) },
  );
}

async function lowInventory(g: Gateway) {
  const response = await fetch(`${g.httpUrl}/monitoring/alerts`);
  const { firing, history } = (await response.json()) as {
    firing: { rule: string }[];
    history: { rule: string }[];
  };
  return {
    firing: firing.some((a) => a.rule === 'low_vtxo_inventory'),
    recorded: history.filter((h) => h.rule === 'low_vtxo_inventory').length,
  };
}

async function attempts(g: Gateway): Promise<number> {
  const row = await g.database.db
    .selectFrom('job_logs')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('job_name', '=', 'ledger.inventory-monitor')
    .where('status', '!=', 'running')
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('a fresh deploy', () => {
  it('raises no critical low_vtxo_inventory while the monitor makes the first inventory', async () => {
    gateway = await freshDeploy();
    const g = gateway;
    // Several monitor runs and a few dozen alert rounds with an empty inventory.
    await waitFor(async () => (await attempts(g)) >= 2, 20_000, 'two runs of the inventory monitor');
    expect(await lowInventory(g)).toEqual({ firing: false, recorded: 0 });
  });

  it('raises it at once without the grace, or once the monitor is stopped', async () => {
    gateway = await freshDeploy({ ALERT_INVENTORY_GRACE_MS: '0' });
    const g = gateway;
    await waitFor(async () => (await lowInventory(g)).firing, 10_000, 'low_vtxo_inventory without a grace');
    await g.stop('next');

    gateway = await freshDeploy({ VTXO_AUTO_START: 'false' });
    const stopped = gateway;
    await waitFor(
      async () => (await lowInventory(stopped)).firing,
      10_000,
      'low_vtxo_inventory, monitor off',
    );
  });
});
