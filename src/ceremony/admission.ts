// Where intents (31510) and batches (`submit_batch`) enter the ceremony. Checks run in the
// documented order and a refusal changes nothing but the intent's own row (an action id is used
// once, whatever became of it). The per-author abuse limits are checked in the transaction that
// records the sessions. An accepted intent becomes a session whose inputs are locked before
// anything is built; the engine does the rest.
import { randomUUID } from 'node:crypto';
import type { AuthorLimits } from '../config.ts';
import { ERROR_CODES, errorFromCode, ProtocolError } from '../domain/error-codes.ts';
import {
  BATCH_LEG_TYPES,
  INTENT_ALIASES,
  INTENT_TYPES,
  checkBatchLegs,
  checkFee,
  describeIntent,
  parseIntent,
  type FeeSchedule,
  type Intent,
} from '../domain/intents.ts';
import { KIND, isEventShape, type NostrEvent } from '../domain/nostr-protocol.ts';
import type { Logger } from '../logging.ts';
import type { VtxoStore } from '../ledger/vtxo-store.ts';
import { hasValidId, hasValidSignature } from '../nostr/event.ts';
import type { GatewayKey } from '../nostr/keys.ts';
import type { Publisher } from '../nostr/publisher.ts';
import { isTransientConflict, isUniqueViolation } from '../store/db-errors.ts';
import { toBigInt } from '../store/values.ts';
import type { SessionContext } from './context.ts';
import type { CeremonyEngine } from './engine.ts';
import { assetsOf, legFor } from './legs.ts';
import { Planner } from './planner.ts';
import type { Group, Session, Trx } from './records.ts';

export interface AdmissionSettings {
  readonly fees: FeeSchedule;
  readonly maxIntentLifetimeS: number;
  readonly sessionTimeoutMs: number;
  readonly stepTimeoutMs: number;
  /** The inventory pool that tops up sats (gBTC). */
  readonly inventoryAssetId: string;
  readonly limits: AuthorLimits;
}

export interface AdmissionDeps {
  readonly engine: CeremonyEngine;
  readonly vtxos: VtxoStore;
  readonly publisher: Publisher;
  /** The gateway keys intents may be addressed to (active and in grace). */
  readonly gatewayPubkeys: () => readonly string[];
  readonly inventoryPubkey: () => Promise<string>;
  readonly settings: AdmissionSettings;
  readonly logger: Logger;
  /** Checks a type needs beyond the common ones, before anything is locked (a land's invoice). */
  readonly checkIntent?: (intent: Intent) => Promise<void>;
}

export interface BatchRequest {
  readonly batchId: string;
  readonly requestEventId: string;
  readonly submitter: string;
  readonly events: readonly unknown[];
}

const KIND_OF: Record<string, string> = {
  'transfer:p2p': 'transfer',
  'vtxo:split': 'split',
  'lightning:land': 'land',
  'swap:atomic': 'swap',
  'liquidity:add': 'liquidity',
};
const MAX_INT64 = 2n ** 63n - 1n;
const HOUR_MS = 3_600_000;
/** Codes of sessions a wallet abandoned: answered wrongly (3002) or not at all (3003). */
const ABANDON_CODES = [ERROR_CODES.CHALLENGE_RESPONSE_INVALID.code, ERROR_CODES.SESSION_TIMEOUT.code];
const ACCEPT_ATTEMPTS = 8;

export class IntentAdmission {
  readonly #deps: AdmissionDeps;
  readonly #planner: Planner;

  constructor(deps: AdmissionDeps) {
    this.#deps = deps;
    this.#planner = new Planner(deps.vtxos);
  }

  get #records() {
    return this.#deps.engine.records;
  }

  /** The checks of docs/protocol.md in their order, up to the fee: shape, type, expiry,
   * addressing, replay (a read here; the insert decides a race), fee. */
  async #parse(event: NostrEvent): Promise<Intent> {
    const intent = parseIntent(event, {
      gatewayPubkeys: this.#deps.gatewayPubkeys(),
      nowSeconds: Math.floor(this.#deps.engine.now / 1000),
      maxLifetimeS: this.#deps.settings.maxIntentLifetimeS,
    });
    const used = await this.#records.intentOf(intent.author, intent.actionId);
    if (used && used.intentEventId !== intent.eventId) {
      throw new ProtocolError('REPLAYED_ACTION', `action_id ${intent.actionId} was already used`);
    }
    checkFee(intent, this.#deps.settings.fees);
    return intent;
  }

  /** Known, enabled assets; amounts (with the fee in the same asset) within their limits (2004). */
  async #checkAssets(intent: Intent): Promise<void> {
    for (const { assetId, amount } of assetsOf(intent)) {
      const asset = await this.#deps.engine.records.database.db
        .selectFrom('assets')
        .select(['enabled', 'min_amount', 'max_amount'])
        .where('asset_id', '=', assetId)
        .executeTakeFirst();
      if (!asset || Number(asset.enabled) !== 1) {
        throw new ProtocolError('BELOW_LIMITS', `asset ${assetId} is not available on this gateway`, {
          asset_id: assetId,
        });
      }
      const max = asset.max_amount === null ? MAX_INT64 : toBigInt(asset.max_amount);
      if (amount < toBigInt(asset.min_amount) || amount > max) {
        throw new ProtocolError(
          'BELOW_LIMITS',
          `${amount} ${assetId}${amount > MAX_INT64 ? ' (with the fee) exceeds 2^63 - 1 and' : ''} is outside the asset's limits`,
          { asset_id: assetId },
        );
      }
    }
  }

  /**
   * A 31510 from intake. Returns the replies for the intake to publish (a 31341 when refused
   * before a session exists); an accepted intent's news goes out with its session's changes.
   */
  async onIntent(event: NostrEvent, key: GatewayKey): Promise<NostrEvent[]> {
    let intent: Intent;
    try {
      intent = await this.#parse(event);
      if (BATCH_LEG_TYPES.includes(intent.type)) {
        // Not recorded: the same signed leg may still arrive inside its batch.
        throw new ProtocolError(
          'BATCH_INVALID',
          `${intent.typeAsWritten} is valid only inside a submit_batch`,
        );
      }
      await this.#checkAssets(intent);
      await this.#deps.checkIntent?.(intent);
    } catch (error) {
      if (error instanceof ProtocolError) {
        this.#deps.engine.observer?.intent(typeLabel(event), 'rejected');
        return [this.#notice(event, key, error)];
      }
      throw error;
    }
    try {
      const [sessionId] = await this.#accept([intent]);
      this.#deps.engine.observer?.intent(intent.type, 'accepted');
      await this.#start([sessionId!]);
      return [];
    } catch (error) {
      if (error instanceof ProtocolError) {
        this.#deps.engine.observer?.intent(intent.type, 'rejected');
        return [this.#notice(event, key, error)];
      }
      throw error;
    }
  }

  /** `submit_batch`: every leg checked, then one session per party, one Ark transaction. */
  async submitBatch(
    request: BatchRequest,
  ): Promise<{ batch_id: string; sessions: { action_id: string; session_id: string; author: string }[] }> {
    if (request.events.length < 2 || request.events.length > 16) {
      throw new ProtocolError('BATCH_INVALID', 'a batch holds 2 to 16 intents');
    }
    const intents: Intent[] = [];
    for (const [i, raw] of request.events.entries()) {
      if (!isEventShape(raw) || raw.kind !== KIND.ACTION_INTENT) {
        throw new ProtocolError('MALFORMED_CONTENT', `intents[${i}] is not a 31510 event`);
      }
      if (!hasValidId(raw) || !hasValidSignature(raw)) {
        throw new ProtocolError('INVALID_SIGNATURE', `intents[${i}] has a wrong id or signature`);
      }
      intents.push(await this.#parse(raw));
    }
    checkBatchLegs(intents);
    for (const intent of intents) await this.#checkAssets(intent);
    const existing = await this.#records.batchRequest(request.batchId);
    if (existing !== undefined && existing !== request.requestEventId) {
      throw new ProtocolError('BATCH_INVALID', `batch_id ${request.batchId} is already used`);
    }
    if (existing === undefined) {
      try {
        await this.#records.insertBatch({
          batchId: request.batchId,
          submitter: request.submitter,
          requestEventId: request.requestEventId,
          intentCount: intents.length,
          deadlineAt: this.#deps.engine.now + this.#deps.settings.sessionTimeoutMs,
        });
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        throw new ProtocolError('BATCH_INVALID', `batch_id ${request.batchId} is already used`);
      }
    }
    const sessionIds = await this.#accept(intents, request.batchId);
    await this.#start(sessionIds);
    const failed = await this.#records.batchError(request.batchId);
    if (failed) throw errorFromCode(failed.code, failed.message);
    return {
      batch_id: request.batchId,
      sessions: intents.map((intent, i) => ({
        action_id: intent.actionId,
        session_id: sessionIds[i]!,
        author: intent.author,
      })),
    };
  }

  /**
   * Records the intents and their sessions in one transaction: all or none. The same intent
   * event again (a rerun) returns its existing session; its action id under another event is
   * 1004; an author past an abuse limit is 1008. A lock conflict with a concurrent admission of
   * the same author is retried, so the limits hold under concurrency.
   */
  async #accept(intents: readonly Intent[], batchId?: string): Promise<string[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#records.transaction((trx) => this.#acceptWithin(trx, intents, batchId));
      } catch (error) {
        if (!isTransientConflict(error) || attempt >= ACCEPT_ATTEMPTS) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
      }
    }
  }

  async #acceptWithin(trx: Trx, intents: readonly Intent[], batchId?: string): Promise<string[]> {
    const { engine, settings } = this.#deps;
    const now = engine.now;
    const ids: string[] = [];
    const reruns: string[] = [];
    for (const intent of intents) {
      const previous = await this.#records.intentOf(intent.author, intent.actionId, trx);
      if (previous) {
        if (previous.intentEventId === intent.eventId && previous.sessionId) {
          ids.push(previous.sessionId);
          reruns.push(previous.sessionId);
          continue;
        }
        throw new ProtocolError('REPLAYED_ACTION', `action_id ${intent.actionId} was already used`);
      }
      await this.#checkLimits(trx, intent.author, now);
      const sessionId = randomUUID();
      const context: SessionContext = {
        kind: KIND_OF[intent.type] ?? intent.type,
        human: describeIntent(intent),
        intent: {
          event_id: intent.eventId,
          author: intent.author,
          action_id: intent.actionId,
          type: intent.type,
          params: (JSON.parse(intent.event.content) as { params: unknown }).params,
          fee: { asset_id: intent.fee.assetId, amount: intent.fee.amount.toString() },
          event: intent.event,
        },
      };
      const deadlineAt = Math.min(
        now + settings.sessionTimeoutMs,
        intent.expiresAt * 1000 + settings.sessionTimeoutMs,
      );
      try {
        await this.#records.insertSession(trx, {
          sessionId,
          intent: {
            eventId: intent.eventId,
            author: intent.author,
            actionId: intent.actionId,
            type: intent.type,
            feeAssetId: intent.fee.assetId,
            feeAmount: intent.fee.amount,
            expiresAt: intent.expiresAt * 1000,
            eventJson: JSON.stringify(intent.event),
          },
          context,
          batchId: batchId ?? null,
          deadlineAt,
          // The gateway's own step: preparing the challenge has a deadline too.
          stepDeadlineAt: Math.min(now + settings.stepTimeoutMs, deadlineAt),
        });
      } catch (error) {
        if (isUniqueViolation(error))
          throw new ProtocolError('REPLAYED_ACTION', `action_id ${intent.actionId} was already used`);
        throw error;
      }
      ids.push(sessionId);
    }
    if (reruns.length > 0 && reruns.length !== intents.length) {
      throw new ProtocolError('REPLAYED_ACTION', 'some intents of this batch were already used');
    }
    return ids;
  }

  /** 1008 when the author is past an abuse limit; runs inside the transaction that records. */
  async #checkLimits(trx: Trx, author: string, now: number): Promise<void> {
    const { limits, stepTimeoutMs } = this.#deps.settings;
    const load = await this.#records.authorLoad(trx, author, now - HOUR_MS, ABANDON_CODES);
    if (load.openSessions >= limits.maxOpen) {
      throw new ProtocolError(
        'RATE_LIMITED',
        `this author already has ${load.openSessions} open signing sessions (at most ${limits.maxOpen})`,
        { retry_after: Math.ceil(stepTimeoutMs / 1000) },
      );
    }
    if (load.abandoned >= limits.maxAbandonedPerHour) {
      const freeAt = (load.oldestAbandonedAt ?? now) + HOUR_MS;
      throw new ProtocolError(
        'RATE_LIMITED',
        `${load.abandoned} signing sessions of this author ended unanswered or wrongly answered in the last hour (at most ${limits.maxAbandonedPerHour})`,
        { retry_after: Math.max(1, Math.ceil((freeAt - now) / 1000)) },
      );
    }
  }

  /** Plans and locks (a refusal fails the sessions with its code), then hands over to the engine. */
  async #start(sessionIds: readonly string[]): Promise<void> {
    const { engine } = this.#deps;
    const head = await this.#records.session(sessionIds[0]!);
    if (!head) return;
    engine.crash('accepted');
    if (head.state === 'accepted' && !head.plan) await this.#planGroup(await this.#records.group(head));
    try {
      await engine.advance(head.sessionId);
    } catch (error) {
      // A daemon that is down: the session waits in its state (within its step deadline); the sweep retries.
      this.#deps.logger.warn(
        { err: error, session: head.sessionId },
        'advancing a new session failed; the sweep retries',
      );
    }
  }

  /**
   * The engine's `replan`: a group whose plan a crash lost. Its intents are read back from the
   * sessions (as signed) and checked again — one that expired meanwhile fails with 1003.
   */
  async replan(group: Group): Promise<void> {
    await this.#planGroup(group);
  }

  /** Selects and locks the inputs, then stores the plan in every session — only if none has one yet. */
  async #planGroup(group: Group): Promise<void> {
    const { engine, vtxos, settings } = this.#deps;
    try {
      const gatewayVtxoPubkey = await this.#deps.inventoryPubkey();
      const legs = await Promise.all(
        group.map((session) =>
          legFor(this.#signedIntent(session), session.sessionId, vtxos, gatewayVtxoPubkey),
        ),
      );
      const info = await engine.serverInfo();
      const [head] = group;
      const inventoryLocked = await this.#records.inventoryLockedBy(head.owner);
      const plan = await this.#planner.plan(legs, {
        gatewayPubkey: gatewayVtxoPubkey,
        dust: info.dust,
        lockTtlMs: settings.sessionTimeoutMs + 60_000,
        inventoryAssetId: settings.inventoryAssetId,
        inventoryBudget: Math.max(0, settings.limits.maxInventory - inventoryLocked),
        retryAfterS: Math.ceil(settings.stepTimeoutMs / 1000),
      });
      // Conditional on the version read: a second planner (after a crash) loses here, and what
      // it locked beyond the winner's plan is released at settlement or failure.
      await this.#records.transaction(async (trx) => {
        for (const session of group) await this.#records.storePlan(trx, session, plan);
      });
    } catch (error) {
      if (!(error instanceof ProtocolError)) {
        // Not the user's fault: the intent fails with 5004 and its locks are released.
        this.#deps.logger.error(
          { err: error, sessions: group.map((s) => s.sessionId) },
          'planning a session failed',
        );
        await engine.fail(
          group,
          new ProtocolError('SERVICE_UNAVAILABLE', 'the gateway could not plan this transaction'),
          'failed',
        );
        return;
      }
      await engine.fail(group, error, 'failed');
    }
  }

  /** The intent as the wallet signed it, checked again (it may have expired since). */
  #signedIntent(session: Session): Intent {
    const event = session.context.intent.event;
    return parseIntent(event, {
      gatewayPubkeys: [
        ...this.#deps.gatewayPubkeys(),
        ...event.tags.filter((t) => t[0] === 'p').map((t) => t[1]!),
      ],
      nowSeconds: Math.floor(this.#deps.engine.now / 1000),
      maxLifetimeS: this.#deps.settings.maxIntentLifetimeS,
    });
  }

  #notice(event: NostrEvent, key: GatewayKey, error: ProtocolError): NostrEvent {
    const actionId = event.tags.find((t) => t[0] === 'd')?.[1] ?? null;
    return this.#deps.publisher.failureNotice(
      event,
      { action_id: actionId, code: error.code, message: error.message, details: error.details ?? {} },
      { key },
    );
  }
}

/** The type an intent names, for metrics: a known one, else `unknown` (labels stay bounded). */
function typeLabel(event: NostrEvent): string {
  try {
    const type = (JSON.parse(event.content) as { type?: unknown }).type;
    return typeof type === 'string' && type in INTENT_ALIASES
      ? INTENT_ALIASES[type]!
      : (INTENT_TYPES as readonly unknown[]).includes(type)
        ? (type as string)
        : 'unknown';
  } catch {
    return 'unknown';
  }
}
