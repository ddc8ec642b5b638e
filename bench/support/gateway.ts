// The gateway the benches run against: the embedded default (SQLite file in a temp DATA_DIR,
// in-process queue, embedded relay, simulated daemons) in this process, unless the caller gives
// DATABASE_URL. Also what the ceremony tests do to fund users (test/ceremony/support.ts):
// inventory VTXOs made by a real Ark batch, and users funded by real Ark transactions.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGateway, type Gateway, type Role } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logging.ts';

export interface BenchGateway {
  readonly gateway: Gateway;
  readonly dataDir: string;
  close(): Promise<void>;
}

/** Settings every bench uses; `env` adds or overrides. */
export function benchEnv(dataDir: string, env: Record<string, string> = {}): Record<string, string> {
  return {
    DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    EMBEDDED_RELAY_PORT: '0',
    LOG_LEVEL: 'silent',
    // The inventory monitor would mint 10 000 VTXOs in the background: benches make their own.
    VTXO_AUTO_START: 'false',
    ...env,
  };
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

export async function waitFor<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

export async function waitReady(gateway: Gateway): Promise<void> {
  await waitFor(() => gateway.readiness.state().ready || undefined, 20_000, 'the gateway to be ready');
  // gBTC is registered by the ledger on first start.
  await waitFor(
    async () =>
      (
        await gateway.database.db
          .selectFrom('assets')
          .select('enabled')
          .where('asset_id', '=', 'gBTC')
          .executeTakeFirst()
      )?.enabled === 1 || undefined,
    20_000,
    'gBTC to be minted',
  );
}

/** `count` inventory VTXOs of `sats` each, created in Ark batches by the inventory service. */
export async function addInventory(gateway: Gateway, count: number, sats = 2_000n): Promise<void> {
  for (let done = 0; done < count; done += 1_000) {
    await gateway.inventory!.inventory.createBatch({
      assetId: 'gBTC',
      count: Math.min(1_000, count - done),
      amountSats: sats,
    });
  }
}

/** Gives `owner` a VTXO of `amount` gBTC through a real Ark transaction (the gateway's Issuer). */
export async function fund(gateway: Gateway, owner: string, amount: bigint): Promise<void> {
  await gateway.ceremony!.issuer.issue({
    owner,
    assetId: 'gBTC',
    amount,
    reference: `bench-${randomUUID()}`,
    kind: 'mint',
  });
}
