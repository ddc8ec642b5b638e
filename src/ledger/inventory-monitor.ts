// The inventory monitor: a job every VTXO_MONITOR_INTERVAL_MS checks the available VTXOs of
// each asset pool and replenishes
//   - below critical (VTXO_INVENTORY_CRITICAL): always;
//   - below warning (VTXO_INVENTORY_WARNING): only while the on-chain fee rate is low
//     (below VTXO_LOW_FEE_RATE sat/vB; an unknown fee rate is not low);
// up to the target (VTXO_INVENTORY_TARGET), in batches of VTXO_BATCH_SIZE.
// Whether it runs is one `settings` row every instance reads (POST /vtxos/monitor/start|stop;
// VTXO_AUTO_START is the state until an operator first toggles it). A run holds a lease in
// `settings`, so two schedulers or workers never replenish at once.
import type { Logger } from '../logging.ts';
import type { Database } from '../store/database.ts';
import { DEFAULT_INVENTORY_ASSET, type InventoryService } from './inventory.ts';
import { SettingsLease, readSetting, writeSetting } from './settings.ts';

export const MONITOR_STATE_SETTING = 'ledger.inventory_monitor';
export const MONITOR_LEASE_SETTING = 'ledger.inventory_monitor.lease';
/** Longer than a batch can take; a monitor that died frees the lease after it. */
export const MONITOR_LEASE_MS = 15 * 60_000;

export interface InventoryThresholds {
  readonly critical: number;
  readonly warning: number;
  readonly target: number;
  readonly batchSize: number;
  readonly amountSats: bigint;
  /** sat/vB: a fee rate below it is low. */
  readonly lowFeeRate: bigint;
}

export type ReplenishReason = 'critical' | 'warning_low_fee';

export interface ReplenishPlan {
  /** undefined: nothing to do. */
  readonly reason: ReplenishReason | undefined;
  /** VTXOs per batch, summing to target - available. */
  readonly batches: readonly number[];
}

/**
 * What to create for an asset with `available` VTXOs. Pure. `feeRate` is read only when it
 * matters (between critical and warning): pass a function.
 */
export async function planReplenishment(
  available: number,
  t: InventoryThresholds,
  feeRate: () => Promise<bigint | undefined>,
): Promise<ReplenishPlan & { readonly feeRate?: bigint }> {
  let reason: ReplenishReason | undefined;
  let fee: bigint | undefined;
  if (available < t.critical) reason = 'critical';
  else if (available < t.warning) {
    fee = await feeRate();
    if (fee !== undefined && fee < t.lowFeeRate) reason = 'warning_low_fee';
  }
  if (!reason) return { reason, batches: [], ...(fee !== undefined ? { feeRate: fee } : {}) };
  const batches: number[] = [];
  for (let left = t.target - available; left > 0; left -= t.batchSize)
    batches.push(Math.min(left, t.batchSize));
  return { reason, batches, ...(fee !== undefined ? { feeRate: fee } : {}) };
}

export interface AssetRun {
  readonly asset: string;
  readonly available: number;
  readonly reason: ReplenishReason | null;
  readonly created: number;
  readonly commitmentTxids: readonly string[];
  readonly error?: string;
}

export type MonitorRun =
  | { readonly status: 'stopped' }
  | { readonly status: 'busy' }
  | { readonly status: 'done'; readonly assets: readonly AssetRun[]; readonly feeRate: string | null };

export interface MonitorState {
  readonly running: boolean;
  readonly updated_at: number | null;
}

export interface InventoryMonitorOptions {
  readonly database: Database;
  readonly inventory: InventoryService;
  readonly thresholds: InventoryThresholds;
  /** The on-chain fee estimate in sat/vB; undefined (or a rejection) when it cannot be read. */
  readonly feeRate: () => Promise<bigint | undefined>;
  /** VTXO_AUTO_START: the state while no operator has toggled the monitor. */
  readonly autoStart: boolean;
  readonly instanceId: string;
  readonly logger: Logger;
  readonly now?: () => number;
  readonly leaseMs?: number;
}

export class InventoryMonitor {
  readonly #o: InventoryMonitorOptions;
  readonly #now: () => number;
  readonly #lease: SettingsLease;
  #lastKnown: boolean;

  constructor(options: InventoryMonitorOptions) {
    const t = options.thresholds;
    if (!(t.critical <= t.warning && t.warning <= t.target)) {
      throw new RangeError('inventory thresholds must satisfy critical <= warning <= target');
    }
    if (!Number.isSafeInteger(t.batchSize) || t.batchSize < 1) throw new RangeError('batchSize must be >= 1');
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#lastKnown = options.autoStart;
    this.#lease = new SettingsLease(options.database, MONITOR_LEASE_SETTING, {
      ttlMs: options.leaseMs ?? MONITOR_LEASE_MS,
      holder: options.instanceId,
      now: this.#now,
    });
  }

  get thresholds(): InventoryThresholds {
    return this.#o.thresholds;
  }

  /** The shared state (every instance reads the same row). */
  async state(): Promise<MonitorState> {
    const stored = await readSetting<MonitorState>(this.#o.database, MONITOR_STATE_SETTING);
    const state = stored ?? { running: this.#o.autoStart, updated_at: null };
    this.#lastKnown = state.running;
    return state;
  }

  async isRunning(): Promise<boolean> {
    return (await this.state()).running;
  }

  /** The state as last read by this process (for synchronous status pages). */
  get lastKnownRunning(): boolean {
    return this.#lastKnown;
  }

  async start(): Promise<MonitorState> {
    return this.#set(true);
  }

  async stop(): Promise<MonitorState> {
    return this.#set(false);
  }

  async #set(running: boolean): Promise<MonitorState> {
    const state: MonitorState = { running, updated_at: this.#now() };
    await writeSetting(this.#o.database, MONITOR_STATE_SETTING, state, state.updated_at!);
    this.#lastKnown = running;
    this.#o.logger.info({ running }, running ? 'inventory monitor started' : 'inventory monitor stopped');
    return state;
  }

  /** The asset pools watched: every enabled asset of the registry, or gBTC while it is empty. */
  async #assets(): Promise<string[]> {
    const rows = await this.#o.database.db
      .selectFrom('assets')
      .select(['asset_id', 'enabled'])
      .orderBy('asset_id')
      .execute();
    if (rows.length === 0) return [DEFAULT_INVENTORY_ASSET];
    return rows.filter((r) => Number(r.enabled) === 1).map((r) => r.asset_id);
  }

  /** One check of every asset pool; replenishes as the thresholds say. */
  async tick(signal?: AbortSignal): Promise<MonitorRun> {
    if (!(await this.isRunning())) return { status: 'stopped' };
    const token = await this.#lease.acquire();
    if (!token) return { status: 'busy' };
    try {
      // One fee reading per run, and only if an asset needs it.
      let fee: Promise<bigint | undefined> | undefined;
      const feeRate = () =>
        (fee ??= this.#o.feeRate().catch((error: unknown) => {
          this.#o.logger.warn(
            { err: String(error) },
            'fee rate unavailable: not replenishing above critical',
          );
          return undefined;
        }));
      const runs: AssetRun[] = [];
      for (const asset of await this.#assets()) {
        runs.push(await this.#replenish(asset, feeRate, token, signal));
      }
      const read = fee ? await fee : undefined;
      return { status: 'done', assets: runs, feeRate: read === undefined ? null : read.toString() };
    } finally {
      await this.#lease.release(token);
    }
  }

  async #replenish(
    asset: string,
    feeRate: () => Promise<bigint | undefined>,
    token: string,
    signal: AbortSignal | undefined,
  ): Promise<AssetRun> {
    const { inventory, thresholds, logger } = this.#o;
    const available = await inventory.available(asset);
    const plan = await planReplenishment(available, thresholds, feeRate);
    const txids: string[] = [];
    let created = 0;
    if (!plan.reason) return { asset, available, reason: null, created, commitmentTxids: txids };
    logger.info(
      { asset, available, reason: plan.reason, batches: plan.batches.length, target: thresholds.target },
      'replenishing the VTXO inventory',
    );
    try {
      for (const size of plan.batches) {
        if (signal?.aborted) break;
        // Still ours? A run that outlived its lease stops rather than race the next holder.
        if (!(await this.#lease.renew(token))) throw new Error('the inventory monitor lease was lost');
        const batch = await inventory.createBatch({
          assetId: asset,
          count: size,
          amountSats: thresholds.amountSats,
        });
        created += batch.count;
        txids.push(batch.commitmentTxid);
      }
    } catch (error) {
      logger.error({ asset, created, err: String(error) }, 'inventory replenishment failed');
      return { asset, available, reason: plan.reason, created, commitmentTxids: txids, error: String(error) };
    }
    return { asset, available, reason: plan.reason, created, commitmentTxids: txids };
  }
}
