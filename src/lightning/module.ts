// Lightning as the composition root builds it, on the ceremony's records and Issuer (the Issuer
// credits lifts; lands are ceremony sessions) and before the ceremony, which it gives its hooks:
// the lift service, the land service with the ceremony hooks (checkIntent before anything is locked, onSettled inside the settlement transaction),
// the invoice subscription (a managed service, LIGHTNING_AUTO_START), the jobs and the reads.
import type { Backends } from '../backends/index.ts';
import type { CeremonyBase, CeremonyHooks } from '../ceremony/module.ts';
import type { InventorySigner } from '../ceremony/engine.ts';
import type { Config } from '../config.ts';
import type { JobQueue } from '../jobs/queue.ts';
import type { VtxoStore } from '../ledger/vtxo-store.ts';
import type { Logger } from '../logging.ts';
import type { NostrCore } from '../nostr/core.ts';
import type { AnyAction } from '../nostr/handlers/index.ts';
import { liftLightningAction } from '../nostr/handlers/lift-lightning.ts';
import type { Database } from '../store/database.ts';
import { InvoiceMonitor } from './invoice-monitor.ts';
import { LandChecker } from './land-check.ts';
import { LandService } from './land.ts';
import { LiftService } from './lift.ts';
import { LIGHTNING_PAY_TASK } from './tasks.ts';

export interface LightningDeps {
  readonly config: Pick<Config, 'lightning' | 'intents' | 'ceremony' | 'instanceId'>;
  readonly database: Database;
  readonly backends: Pick<Backends, 'ark' | 'assets' | 'lightning'>;
  readonly nostr: NostrCore;
  readonly vtxos: VtxoStore;
  /** The ceremony's records and Issuer (lifts are issued; lands are ceremony sessions). */
  readonly ceremony: CeremonyBase;
  readonly inventoryKey: InventorySigner;
  /** Where a land's payment is queued right after its settlement (the sweep is the backstop). */
  readonly queue: Pick<JobQueue, 'enqueue'>;
  readonly logger: Logger;
  readonly now?: () => number;
}

export interface Lightning {
  readonly lift: LiftService;
  readonly land: LandService;
  readonly checker: LandChecker;
  readonly monitor: InvoiceMonitor;
  /** What the ceremony calls (given to createCeremony, which is built after this module). */
  readonly hooks: CeremonyHooks;
  /** Registered with the service-action registry: `lift_lightning`. */
  readonly actions: readonly AnyAction[];
  /** Stops the subscription and any wait on a payment (payments stay in lnd; re-attached later). */
  stop(): Promise<void>;
}

/** gBTC: paid in plain BTC invoices, 1 unit = 1 sat. */
const BTC_ASSET = 'gBTC';

export function createLightning(deps: LightningDeps): Lightning {
  const logger = deps.logger.child({ component: 'lightning' });
  const now = deps.now ?? Date.now;
  const { lightning, assets, ark } = deps.backends;
  const lift = new LiftService({
    database: deps.database,
    lightning,
    assets,
    issuer: deps.ceremony.issuer,
    publisher: deps.nostr.publisher,
    invoiceExpiryS: deps.config.lightning.invoiceExpiryS,
    btcAssetId: BTC_ASSET,
    instanceId: deps.config.instanceId,
    logger,
    now,
  });
  const land = new LandService({
    database: deps.database,
    records: deps.ceremony.records,
    lightning,
    assets,
    ark,
    vtxos: deps.vtxos,
    publisher: deps.nostr.publisher,
    key: deps.inventoryKey,
    btcAssetId: BTC_ASSET,
    inventoryAssetId: deps.config.intents.fees.intentAsset,
    feeLimitSat: BigInt(deps.config.lightning.feeLimitSat),
    paymentTimeoutS: deps.config.lightning.paymentTimeoutS,
    lockTtlMs: deps.config.ceremony.sessionTimeoutMs,
    instanceId: deps.config.instanceId,
    kick: (paymentHash) => {
      deps.queue
        .enqueue(LIGHTNING_PAY_TASK, { payment_hash: paymentHash }, { jobId: `land-pay-${paymentHash}` })
        .catch((error: unknown) =>
          logger.warn(
            { err: error, payment_hash: paymentHash },
            'could not enqueue a land payment; the sweep pays it',
          ),
        );
    },
    logger,
    now,
  });
  const checker = new LandChecker({ database: deps.database, lightning, now });
  const monitor = new InvoiceMonitor({
    database: deps.database,
    lightning,
    onInvoice: (invoice) => lift.onInvoice(invoice),
    logger,
    now,
  });
  return {
    lift,
    land,
    checker,
    monitor,
    hooks: {
      checkIntent: (intent) => checker.check(intent),
      onSettled: (trx, settled) => land.onSettled(trx, settled),
    },
    actions: [liftLightningAction(lift)],
    async stop() {
      land.stop();
      await monitor.stop();
    },
  };
}
