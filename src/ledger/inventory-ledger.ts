// Builds the inventory half of the ledger for one process: the inventory key, the inventory
// service and its update channel, the monitor, the cleanup and the L1 commitment runner. The
// composition root (src/app.ts) calls createInventoryLedger once and hands the result to the
// job tasks (./tasks.ts) and the HTTP routes (src/http/routes/inventory.ts).
import type { ArkBackend } from '../backends/ark/ark-backend.ts';
import type { LightningBackend } from '../backends/lnd/lightning-backend.ts';
import type { Config, Secret } from '../config.ts';
import type { Logger } from '../logging.ts';
import type { Database } from '../store/database.ts';
import { VtxoCleanup } from './cleanup.ts';
import { InventoryMonitor, type InventoryThresholds } from './inventory-monitor.ts';
import { loadInventoryKey, type InventoryKey } from './inventory-key.ts';
import { createInventoryUpdates, type InventoryUpdates } from './inventory-updates.ts';
import { InventoryService } from './inventory.ts';
import { L1Commitments, type CommitmentAnnouncer } from './l1-commitments.ts';
import { VtxoStore } from './vtxo-store.ts';

/** The confirmation target of the fee estimate the monitor compares with VTXO_LOW_FEE_RATE. */
export const FEE_TARGET_BLOCKS = 6;

export interface InventoryLedgerDeps {
  readonly config: Config;
  readonly database: Database;
  readonly backends: { readonly ark: ArkBackend; readonly lightning: LightningBackend };
  /** The Nostr publisher (nostrCore.publisher); without it no L1 commitment is made here. */
  readonly announcer?: CommitmentAnnouncer;
  readonly logger: Logger;
  /** atRestKey(config, secretKey) of src/nostr/keys.ts. */
  readonly atRestKey: Secret;
  /** The inventory key, when the composition root already loaded it (loadInventoryKey). */
  readonly key?: InventoryKey;
  /** The process's VTXO store, when the composition root already made one. */
  readonly vtxos?: VtxoStore;
  readonly updates?: InventoryUpdates;
  readonly now?: () => number;
}

export interface InventoryLedger {
  readonly key: InventoryKey;
  readonly vtxos: VtxoStore;
  readonly inventory: InventoryService;
  readonly updates: InventoryUpdates;
  readonly monitor: InventoryMonitor;
  readonly cleanup: VtxoCleanup;
  /** Undefined in a process without the Nostr publisher. */
  readonly commitments: L1Commitments | undefined;
  close(): Promise<void>;
}

export function inventoryThresholds(config: Config): InventoryThresholds {
  return {
    critical: config.monitoring.inventoryCritical,
    warning: config.inventory.warning,
    target: config.inventory.target,
    batchSize: config.inventory.batchSize,
    amountSats: BigInt(config.inventory.amountSats),
    lowFeeRate: BigInt(config.inventory.lowFeeRate),
  };
}

/** Throws StartupError when the inventory key cannot be loaded (bad ARK_INVENTORY_SECRET_KEY, wrong at-rest key). */
export async function createInventoryLedger(deps: InventoryLedgerDeps): Promise<InventoryLedger> {
  const { config, database, backends } = deps;
  const logger = deps.logger.child({ component: 'inventory' });
  const now = deps.now ?? Date.now;
  const key =
    deps.key ??
    (await loadInventoryKey({
      database,
      atRestKey: deps.atRestKey,
      configured: config.inventory.secretKey,
      logger,
      now,
    }));
  const vtxos = deps.vtxos ?? new VtxoStore(database, { now });
  const updates = deps.updates ?? createInventoryUpdates(config.redis, config.jobs.prefix, logger);
  const inventory = new InventoryService({ database, vtxos, ark: backends.ark, key, updates, logger, now });
  const monitor = new InventoryMonitor({
    database,
    inventory,
    thresholds: inventoryThresholds(config),
    feeRate: () => backends.lightning.estimateFeeRate(FEE_TARGET_BLOCKS),
    autoStart: config.autoStart.vtxo,
    instanceId: config.instanceId,
    logger,
    now,
  });
  const cleanup = new VtxoCleanup({ vtxos, inventory, logger, now });
  const commitments = deps.announcer
    ? new L1Commitments({
        database,
        ark: backends.ark,
        announcer: deps.announcer,
        logger: deps.logger.child({ component: 'l1-commitments' }),
        now,
      })
    : undefined;
  return {
    key,
    vtxos,
    inventory,
    updates,
    monitor,
    cleanup,
    commitments,
    close: () => updates.close(),
  };
}
