// The gateway the benches run against: the embedded default (SQLite file in a temp DATA_DIR,
// in-process queue, embedded relay, simulated daemons) in this process, unless the caller gives
// DATABASE_URL. Funding is the ceremony tests' own (test/ceremony/support.ts): inventory VTXOs
// made by a real Ark batch, and users funded by real Ark transactions.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway, type Gateway, type Role } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logging.ts';
import { gbtcReady } from '../../test/ceremony/support.ts';
import { simulatedProduction } from '../../test/support/production-env.ts';
import { waitFor } from '../../test/support/wait.ts';

export { addInventory, fund } from '../../test/ceremony/support.ts';

export interface BenchGateway {
  readonly gateway: Gateway;
  readonly dataDir: string;
  close(): Promise<void>;
}

/** Settings every bench uses; `env` adds or overrides. */
export function benchEnv(dataDir: string, env: Record<string, string> = {}): Record<string, string> {
  // On MariaDB the bench gateway is a production process running the simulators on purpose.
  return simulatedProduction({
    DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    EMBEDDED_RELAY_PORT: '0',
    METRICS_PORT: '0',
    LOG_LEVEL: 'silent',
    // The inventory monitor would mint 10 000 VTXOs in the background: benches make their own.
    VTXO_AUTO_START: 'false',
    ...env,
  });
}

export async function startBenchGateway(
  env: Record<string, string> = {},
  roles: readonly Role[] = ['api', 'worker', 'scheduler'],
): Promise<BenchGateway> {
  const dataDir = mkdtempSync(join(tmpdir(), 'arkrelay-bench-'));
  const config = loadConfig(benchEnv(dataDir, env));
  const gateway = await startGateway(config, { roles, logger: createLogger({ level: 'silent' }) });
  return {
    gateway,
    dataDir,
    async close() {
      await gateway.stop('bench done');
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Ready, and gBTC registered (the ledger mints it on first start). */
export async function waitReady(gateway: Gateway): Promise<void> {
  await waitFor(() => gateway.readiness.state().ready, 20_000, 'the gateway to be ready');
  await gbtcReady(gateway);
}
