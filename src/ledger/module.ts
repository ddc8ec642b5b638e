// The ledger's read side and asset services, built once by the composition root: the asset
// registry (with gBTC's first-start mint), the reserve check and its repeating task, the
// invariant check and the read views. The VTXO state service (vtxo-store.ts) is shared.
import type { Backends } from '../backends/index.ts';
import type { Config } from '../config.ts';
import type { AnyTask } from '../jobs/queue.ts';
import type { Logger } from '../logging.ts';
import type { Database } from '../store/database.ts';
import { AssetService } from './assets.ts';
import { checkLedger, type LedgerCheck } from './invariant.ts';
import { LedgerReads } from './ledger-reads.ts';
import { RESERVE_CHECK_TASK, ReserveService, reserveCheckTask } from './reserves.ts';
import { VtxoStore } from './vtxo-store.ts';

export interface LedgerModuleDeps {
  readonly config: Pick<Config, 'assets'>;
  readonly database: Database;
  readonly backends: Pick<Backends, 'assets' | 'lightning'>;
  readonly logger: Logger;
  /** The shared VTXO service; a new one over `database` when absent. */
  readonly store?: VtxoStore;
  readonly now?: () => number;
}

export interface LedgerModule {
  readonly database: Database;
  readonly store: VtxoStore;
  readonly reads: LedgerReads;
  readonly assets: AssetService;
  readonly reserves: ReserveService;
  /** Register in every process's task registry. */
  readonly tasks: readonly AnyTask[];
  /** Add to the scheduler's repeating jobs. */
  readonly repeatingJobs: readonly { readonly task: string; readonly everyMs: number }[];
  /**
   * Ensures gBTC exists and is minted (safe in every process at once). When tapd cannot be
   * reached it logs, resolves, and tries again in the background with backoff (1 s … 5 min)
   * until it succeeds or stop() is called; gBTC stays disabled until then.
   */
  start(): Promise<void>;
  stop(): Promise<void>;
  check(): Promise<LedgerCheck>;
}

const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 300_000;

export function createLedgerModule(deps: LedgerModuleDeps): LedgerModule {
  const logger = deps.logger.child({ component: 'ledger' });
  const store = deps.store ?? new VtxoStore(deps.database, deps.now ? { now: deps.now } : {});
  const assets = new AssetService({
    database: deps.database,
    assets: deps.backends.assets,
    logger,
    gbtcIssuance: BigInt(deps.config.assets.gbtcIssuance),
    ...(deps.now ? { now: deps.now } : {}),
  });
  const reserves = new ReserveService({
    database: deps.database,
    lightning: deps.backends.lightning,
    ...(deps.now ? { now: deps.now } : {}),
  });
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const attempt = async (delayMs: number): Promise<void> => {
    try {
      await assets.ensureGbtc();
    } catch (error) {
      if (stopped) return;
      logger.warn(
        { err: error instanceof Error ? error.message : String(error), retryInMs: delayMs },
        'gBTC is not minted yet (tapd); will try again',
      );
      timer = setTimeout(() => void attempt(Math.min(delayMs * 2, RETRY_MAX_MS)), delayMs);
      timer.unref();
    }
  };

  return {
    database: deps.database,
    store,
    reads: new LedgerReads(deps.database, store),
    assets,
    reserves,
    tasks: [reserveCheckTask({ reserves })],
    repeatingJobs: [{ task: RESERVE_CHECK_TASK, everyMs: deps.config.assets.reserveCheckIntervalMs }],
    start: () => attempt(RETRY_MIN_MS),
    async stop() {
      stopped = true;
      clearTimeout(timer);
    },
    check: () => checkLedger(deps.database),
  };
}
