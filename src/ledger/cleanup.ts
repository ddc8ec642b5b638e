// Expiry and cleanup: session locks past their expiry go back to their owners, and VTXOs past
// their expiry become `expired` (the VTXO store books a user's expired amount as a burn). Run
// by a job every VTXO_CLEANUP_INTERVAL_MS and on demand by POST /vtxos/cleanup and
// POST /assets/cleanup-vtxos. Every step is the store's conditional update, so two runs at
// once change each row once.
import type { Logger } from '../logging.ts';
import type { InventoryService } from './inventory.ts';
import type { VtxoStore } from './vtxo-store.ts';

/** VTXOs expired per store call; a run repeats it until the backlog is gone (bounded). */
const PAGE = 1000;
const MAX_PAGES = 100;

export interface CleanupResult {
  /** Locks released (VTXOs back to `assigned`). */
  readonly releasedLocks: number;
  /** VTXOs marked `expired`. */
  readonly expiredVtxos: number;
  /** Expired VTXOs per asset and the status they had. */
  readonly byAsset: Readonly<Record<string, { readonly available: number; readonly assigned: number }>>;
  /** True when the backlog was larger than one run expires; the next run goes on. */
  readonly more: boolean;
}

export interface VtxoCleanupOptions {
  readonly vtxos: VtxoStore;
  /** Told about assets whose inventory shrank, to publish their new counts. */
  readonly inventory?: InventoryService;
  readonly logger: Logger;
  readonly now?: () => number;
}

export class VtxoCleanup {
  readonly #o: VtxoCleanupOptions;
  readonly #now: () => number;

  constructor(options: VtxoCleanupOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  async run(): Promise<CleanupResult> {
    const now = this.#now();
    // Locks first: a VTXO whose lock lapsed becomes `assigned` and can expire in the same run.
    const releasedLocks = await this.#o.vtxos.expireLocks(now);
    const byAsset: Record<string, { available: number; assigned: number }> = {};
    let expiredVtxos = 0;
    let more = false;
    for (let page = 0; ; page++) {
      const expired = await this.#o.vtxos.expireVtxos(now, PAGE);
      for (const v of expired) {
        const entry = (byAsset[v.assetId] ??= { available: 0, assigned: 0 });
        // The record carries the new status; an inventory VTXO is the one without asset units.
        if (v.amount === 0n) entry.available++;
        else entry.assigned++;
      }
      expiredVtxos += expired.length;
      if (expired.length < PAGE) break;
      if (page + 1 >= MAX_PAGES) {
        more = true;
        break;
      }
    }
    if (releasedLocks > 0 || expiredVtxos > 0) {
      this.#o.logger.info({ releasedLocks, expiredVtxos, more }, 'VTXO cleanup');
    }
    for (const [asset, counts] of Object.entries(byAsset)) {
      if (counts.available > 0) await this.#o.inventory?.publishCount(asset, 'cleanup');
    }
    return { releasedLocks, expiredVtxos, byAsset, more };
  }
}
