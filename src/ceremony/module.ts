// The signing ceremony as the composition root builds it: the engine (state machine), the
// admission of intents and batches, the intake of responses and the Issuer; and what it registers
// with the Nostr responder: the kinds it answers (31510, 31512) and its service actions (`cancel`,
// `submit_batch`). Every process that runs jobs has one (intake events are jobs).
import type { ArkBackend } from '../backends/ark/ark-backend.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../logging.ts';
import type { VtxoStore } from '../ledger/vtxo-store.ts';
import type { NostrCore } from '../nostr/core.ts';
import type { Database } from '../store/database.ts';
import type { FeeSchedule, Intent } from '../domain/intents.ts';
import { KIND } from '../domain/nostr-protocol.ts';
import { cancelAction, submitBatchAction } from '../nostr/handlers/ceremony.ts';
import type { AnyAction } from '../nostr/handlers/index.ts';
import type { KindHandler } from '../nostr/responder.ts';
import { IntentAdmission } from './admission.ts';
import { CeremonyEngine, type CrashPoint, type EngineDeps, type InventorySigner } from './engine.ts';
import { Issuer } from './issue.ts';
import { Reconciler } from './reconcile.ts';
import { CeremonyRecords } from './records.ts';
import { ResponseIntake } from './responses.ts';

export interface CeremonyDeps {
  readonly config: Pick<Config, 'ceremony' | 'intents'>;
  readonly database: Database;
  readonly ark: ArkBackend;
  readonly nostr: NostrCore;
  readonly vtxos: VtxoStore;
  readonly inventoryKey: InventorySigner;
  readonly logger: Logger;
  readonly now?: () => number;
  /** The records and the Issuer, built first (createCeremonyBase): Lightning needs them too. */
  readonly base: CeremonyBase;
  /** What another module (Lightning lands) adds to the ceremony. */
  readonly hooks?: CeremonyHooks;
}

/** The ceremony's records and the Issuer: what the ceremony and Lightning both build on. */
export interface CeremonyBase {
  readonly records: CeremonyRecords;
  /** Gateway-only Ark transactions that put units in a user's hands (lifts, mints). */
  readonly issuer: Issuer;
}

export interface CeremonyHooks {
  /** Throws a ProtocolError to refuse an intent before anything is locked. */
  checkIntent?(intent: Intent): Promise<void>;
  onSettled?: EngineDeps['onSettled'];
}

export interface Ceremony {
  readonly engine: CeremonyEngine;
  readonly admission: IntentAdmission;
  readonly responses: ResponseIntake;
  /** Gateway-only Ark transactions that put units in a user's hands (lifts, mints). */
  readonly issuer: Issuer;
  /** The ledger's reconciliation with the Ark server. */
  readonly reconciler: Reconciler;
  /** Registered with the Nostr responder: intents (31510) and signing responses (31512). */
  readonly kinds: ReadonlyMap<number, KindHandler>;
  /** Registered with the service-action registry: `cancel`, `submit_batch`. */
  readonly actions: readonly AnyAction[];
}

/** TEST_CRASH_AFTER: the process dies at once (no cleanup, like a power cut) at that point. */
function crashAt(target: string, logger: Logger): (point: CrashPoint) => void {
  logger.warn(
    { point: target },
    'TEST_CRASH_AFTER is set: this process will kill itself there (crash tests only)',
  );
  return (point) => {
    if (point === target) process.kill(process.pid, 'SIGKILL');
  };
}

/** The fee schedule in money's type (the config keeps JSON-safe numbers). */
export function feeSchedule(config: Pick<Config, 'intents'>): FeeSchedule {
  const fees = config.intents.fees;
  return {
    intentAsset: fees.intentAsset,
    intentAmount: BigInt(fees.intentAmount),
    landPpm: BigInt(fees.landPpm),
  };
}

export function createCeremonyBase(
  deps: Pick<CeremonyDeps, 'config' | 'database' | 'ark' | 'vtxos' | 'inventoryKey' | 'now'>,
): CeremonyBase {
  const records = new CeremonyRecords(deps.database, deps.now);
  const issuer = new Issuer({
    database: deps.database,
    records,
    vtxos: deps.vtxos,
    ark: deps.ark,
    inventoryKey: async () => deps.inventoryKey,
    inventoryAssetId: deps.config.intents.fees.intentAsset,
    // Held until the issue is recorded: a crash in between resumes the same transaction.
    lockTtlMs: 24 * 3_600_000,
  });
  return { records, issuer };
}

export function createCeremony(deps: CeremonyDeps): Ceremony {
  const logger = deps.logger.child({ component: 'ceremony' });
  const hooks = deps.hooks ?? {};
  const engine: CeremonyEngine = new CeremonyEngine({
    database: deps.database,
    vtxos: deps.vtxos,
    ark: deps.ark,
    records: deps.base.records,
    publisher: deps.nostr.publisher,
    inventoryKey: async () => deps.inventoryKey,
    stepTimeoutMs: deps.config.ceremony.stepTimeoutMs,
    onSettled: async (trx, settled) => hooks.onSettled?.(trx, settled),
    replan: (group): Promise<void> => admission.replan(group),
    ...(deps.config.ceremony.crashAfter
      ? { crashPoint: crashAt(deps.config.ceremony.crashAfter, logger) }
      : {}),
    logger,
    ...(deps.now ? { now: deps.now } : {}),
  });
  const admission: IntentAdmission = new IntentAdmission({
    engine,
    vtxos: deps.vtxos,
    publisher: deps.nostr.publisher,
    gatewayPubkeys: () => deps.nostr.keys.keys.map((k) => k.pubkey),
    inventoryPubkey: async () => deps.inventoryKey.pubkey,
    settings: {
      fees: feeSchedule(deps.config),
      maxIntentLifetimeS: deps.config.intents.maxLifetimeS,
      sessionTimeoutMs: deps.config.ceremony.sessionTimeoutMs,
      stepTimeoutMs: deps.config.ceremony.stepTimeoutMs,
      inventoryAssetId: deps.config.intents.fees.intentAsset,
      limits: deps.config.ceremony.limits,
    },
    checkIntent: async (intent) => hooks.checkIntent?.(intent),
    logger,
  });
  const responses = new ResponseIntake({ engine, publisher: deps.nostr.publisher, logger });
  const reconciler = new Reconciler({
    engine,
    vtxos: deps.vtxos,
    ark: deps.ark,
    logger,
    ...(deps.now ? { now: deps.now } : {}),
  });
  const kinds = new Map<number, KindHandler>([
    [KIND.ACTION_INTENT, (event, key) => admission.onIntent(event, key)],
    [KIND.SIGNING_RESPONSE, (event, key) => responses.onResponse(event, key)],
  ]);
  const requests = {
    cancel: (author: string, actionId: string) => engine.cancel(author, actionId),
    submitBatch: (request: Parameters<IntentAdmission['submitBatch']>[0]) => admission.submitBatch(request),
  };
  const actions = [cancelAction(requests), submitBatchAction(requests)];
  return { engine, admission, responses, issuer: deps.base.issuer, reconciler, kinds, actions };
}
