// Where intents (31510), signing responses (31512) and batches (`submit_batch`) enter the
// ceremony. Checks run in the documented order and a refusal changes nothing but the intent's
// own row (an action id is used once, whatever became of it). An accepted intent becomes a
// session whose inputs are locked before anything is built; the engine does the rest.
import { randomUUID } from 'node:crypto';
import { errorFromCode, ProtocolError } from '../domain/error-codes.ts';
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
import type { Database } from '../store/database.ts';
import type { SigningSession } from '../store/schema.ts';
import { isUniqueViolation } from '../store/db-errors.ts';
import { toBigInt } from '../store/values.ts';
import { parseResponse, verifyResponse } from './challenge.ts';
import { toStored, type SessionContext } from './context.ts';
import type { CeremonyEngine } from './engine.ts';
import { assetsOf, legFor } from './legs.ts';
import { Planner } from './planner.ts';

export interface IntakeSettings {
  readonly fees: FeeSchedule;
  readonly maxIntentLifetimeS: number;
  readonly sessionTimeoutMs: number;
  /** The inventory pool that tops up sats (gBTC). */
  readonly inventoryAssetId: string;
}

export interface IntakeDeps {
  readonly database: Database;
  readonly engine: CeremonyEngine;
  readonly vtxos: VtxoStore;
  readonly publisher: Publisher;
  /** The gateway keys intents may be addressed to (active and in grace). */
  readonly gatewayPubkeys: () => readonly string[];
  readonly inventoryPubkey: () => Promise<string>;
  readonly settings: IntakeSettings;
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

export class CeremonyIntake {
  readonly #deps: IntakeDeps;
  readonly #planner: Planner;

  constructor(deps: IntakeDeps) {
    this.#deps = deps;
    this.#planner = new Planner(deps.vtxos);
  }

  /** The checks of docs/protocol.md in their order, up to the fee: shape, type, expiry,
   * addressing, replay (a read here; the insert decides a race), fee. */
  async #parse(event: NostrEvent): Promise<Intent> {
    const intent = parseIntent(event, {
      gatewayPubkeys: this.#deps.gatewayPubkeys(),
      nowSeconds: Math.floor(this.#deps.engine.now / 1000),
      maxLifetimeS: this.#deps.settings.maxIntentLifetimeS,
    });
    const used = await this.#deps.database.db
      .selectFrom('intents')
      .select('intent_event_id')
      .where('author_pubkey', '=', intent.author)
      .where('action_id', '=', intent.actionId)
      .executeTakeFirst();
    if (used && used.intent_event_id !== intent.eventId) {
      throw new ProtocolError('REPLAYED_ACTION', `action_id ${intent.actionId} was already used`);
    }
    checkFee(intent, this.#deps.settings.fees);
    return intent;
  }

  /** Known, enabled assets, amounts within their limits (2004). */
  async #checkAssets(intent: Intent): Promise<void> {
    for (const { assetId, amount } of assetsOf(intent)) {
      const asset = await this.#deps.database.db
        .selectFrom('assets')
        .select(['enabled', 'min_amount', 'max_amount'])
        .where('asset_id', '=', assetId)
        .executeTakeFirst();
      if (!asset || Number(asset.enabled) !== 1) {
        throw new ProtocolError('BELOW_LIMITS', `asset ${assetId} is not available on this gateway`, {
          asset_id: assetId,
        });
      }
      const max = asset.max_amount === null ? undefined : toBigInt(asset.max_amount);
      if (amount < toBigInt(asset.min_amount) || (max !== undefined && amount > max)) {
        throw new ProtocolError('BELOW_LIMITS', `${amount} ${assetId} is outside the asset's limits`, {
          asset_id: assetId,
        });
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
      await this.#start([intent], [sessionId!]);
      return [];
    } catch (error) {
      if (error instanceof ProtocolError) return [this.#notice(event, key, error)];
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
    const now = this.#deps.engine.now;
    const existing = await this.#deps.database.db
      .selectFrom('batches')
      .select(['request_event_id'])
      .where('batch_id', '=', request.batchId)
      .executeTakeFirst();
    if (existing && existing.request_event_id !== request.requestEventId) {
      throw new ProtocolError('BATCH_INVALID', `batch_id ${request.batchId} is already used`);
    }
    if (!existing) {
      try {
        await this.#deps.database.db
          .insertInto('batches')
          .values({
            batch_id: request.batchId,
            submitter_pubkey: request.submitter,
            request_event_id: request.requestEventId,
            status: 'signing',
            intent_count: intents.length,
            deadline_at: now + this.#deps.settings.sessionTimeoutMs,
            created_at: now,
            updated_at: now,
          })
          .execute();
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        throw new ProtocolError('BATCH_INVALID', `batch_id ${request.batchId} is already used`);
      }
    }
    const sessionIds = await this.#accept(intents, request.batchId);
    await this.#start(intents, sessionIds);
    const sessions = await this.#deps.database.db
      .selectFrom('signing_sessions')
      .select(['session_id', 'state', 'error_code', 'error_message'])
      .where('batch_id', '=', request.batchId)
      .execute();
    const failed = sessions.find((s) => s.error_code !== null);
    if (failed) throw errorFromCode(failed.error_code, failed.error_message);
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
   * event again (a rerun) returns its existing session; its action id under another event is 1004.
   */
  async #accept(intents: readonly Intent[], batchId?: string): Promise<string[]> {
    const { database, engine, settings } = this.#deps;
    const now = engine.now;
    const ids: string[] = [];
    const reruns: string[] = [];
    await database.db.transaction().execute(async (trx) => {
      for (const intent of intents) {
        const previous = await trx
          .selectFrom('intents')
          .select(['intent_event_id', 'session_id'])
          .where('author_pubkey', '=', intent.author)
          .where('action_id', '=', intent.actionId)
          .executeTakeFirst();
        if (previous) {
          if (previous.intent_event_id === intent.eventId && previous.session_id) {
            ids.push(previous.session_id);
            reruns.push(previous.session_id);
            continue;
          }
          throw new ProtocolError('REPLAYED_ACTION', `action_id ${intent.actionId} was already used`);
        }
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
        try {
          await trx
            .insertInto('intents')
            .values({
              intent_event_id: intent.eventId,
              author_pubkey: intent.author,
              action_id: intent.actionId,
              intent_type: intent.type,
              params_json: JSON.stringify(context.intent.params),
              event_json: JSON.stringify(intent.event),
              fee_asset_id: intent.fee.assetId,
              fee_amount: intent.fee.amount,
              status: 'in_session',
              session_id: sessionId,
              batch_id: batchId ?? null,
              expires_at: intent.expiresAt * 1000,
              created_at: now,
              updated_at: now,
            })
            .execute();
        } catch (error) {
          if (isUniqueViolation(error))
            throw new ProtocolError('REPLAYED_ACTION', `action_id ${intent.actionId} was already used`);
          throw error;
        }
        await trx
          .insertInto('signing_sessions')
          .values({
            session_id: sessionId,
            intent_event_id: intent.eventId,
            owner_pubkey: intent.author,
            action_id: intent.actionId,
            session_type: intent.type,
            state: 'accepted',
            current_step: 0,
            step_total: 2,
            steps_completed_json: '[]',
            context_json: toStored(context),
            batch_id: batchId ?? null,
            deadline_at: Math.min(
              now + settings.sessionTimeoutMs,
              intent.expiresAt * 1000 + settings.sessionTimeoutMs,
            ),
            created_at: now,
            updated_at: now,
          })
          .execute();
        ids.push(sessionId);
      }
      if (reruns.length > 0 && reruns.length !== intents.length) {
        throw new ProtocolError('REPLAYED_ACTION', 'some intents of this batch were already used');
      }
    });
    return ids;
  }

  /** Plans and locks (a refusal fails the sessions with its code), then hands over to the engine. */
  async #start(intents: readonly Intent[], sessionIds: readonly string[]): Promise<void> {
    const { engine } = this.#deps;
    const head = await engine.store.get(sessionIds[0]!);
    if (!head) return;
    engine.crash('accepted');
    if (head.state === 'accepted' && !JSON.parse(head.context_json).plan) {
      await this.#planGroup(await engine.store.group(head), intents);
    }
    try {
      await engine.advance(sessionIds[0]!);
    } catch (error) {
      // A daemon that is down: the session waits in its state; the sweep job retries.
      this.#deps.logger.warn(
        { err: error, session: sessionIds[0] },
        'advancing a new session failed; the sweep retries',
      );
    }
  }

  /**
   * The engine's `replan`: a group whose plan a crash lost. Its intents are read back from the
   * sessions (as signed) and checked again — one that expired meanwhile fails with 1003.
   */
  async replan(group: readonly SigningSession[]): Promise<void> {
    let intents: Intent[];
    try {
      intents = group.map((session) => {
        const event = (JSON.parse(session.context_json) as SessionContext).intent.event;
        return parseIntent(event, {
          gatewayPubkeys: [
            ...this.#deps.gatewayPubkeys(),
            ...event.tags.filter((t) => t[0] === 'p').map((t) => t[1]!),
          ],
          nowSeconds: Math.floor(this.#deps.engine.now / 1000),
          maxLifetimeS: this.#deps.settings.maxIntentLifetimeS,
        });
      });
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      await this.#deps.engine.fail(group, error, 'failed');
      return;
    }
    await this.#planGroup(group, intents);
  }

  /** Selects and locks the inputs, then stores the plan in every session — only if none has one yet. */
  async #planGroup(group: readonly SigningSession[], intents: readonly Intent[]): Promise<void> {
    const { engine, vtxos, settings } = this.#deps;
    try {
      const gatewayVtxoPubkey = await this.#deps.inventoryPubkey();
      const legs = await Promise.all(
        intents.map((intent, i) => legFor(intent, group[i]!.session_id, vtxos, gatewayVtxoPubkey)),
      );
      const info = await engine.serverInfo();
      const plan = await this.#planner.plan(legs, {
        gatewayPubkey: gatewayVtxoPubkey,
        dust: info.dust,
        lockTtlMs: settings.sessionTimeoutMs + 60_000,
        inventoryAssetId: settings.inventoryAssetId,
      });
      await this.#deps.database.db.transaction().execute(async (trx) => {
        for (const session of group) {
          const context = JSON.parse(session.context_json) as SessionContext;
          // Conditional on the version read: a second planner (after a crash) loses here, and
          // what it locked beyond the winner's plan is released at settlement or failure.
          await trx
            .updateTable('signing_sessions')
            .set({
              context_json: toStored({ ...context, plan }),
              updated_at: engine.now,
              version: Number(session.version) + 1,
            })
            .where('session_id', '=', session.session_id)
            .where('state', '=', 'accepted')
            .where('version', '=', Number(session.version))
            .execute();
        }
      });
    } catch (error) {
      if (!(error instanceof ProtocolError)) {
        // Not the user's fault: the intent fails with 5004 and its locks are released.
        this.#deps.logger.error(
          { err: error, sessions: group.map((s) => s.session_id) },
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

  /** A 31512 from intake: verified against the gateway's own PSBTs, recorded, then the group advances. */
  async onResponse(event: NostrEvent, key: GatewayKey): Promise<NostrEvent[]> {
    const { engine } = this.#deps;
    let actionId: string | null = null;
    try {
      const { plaintext } = key.cipher.decrypt(event.pubkey, event.content);
      const response = parseResponse(plaintext);
      const session = await engine.store.get(response.session_id);
      if (!session || session.owner_pubkey !== event.pubkey) {
        throw new ProtocolError('CHALLENGE_RESPONSE_INVALID', 'no such session for this key');
      }
      actionId = session.action_id;
      const challenge = await engine.store.challenge(session.session_id, response.step);
      if (!challenge || challenge.status !== 'open' || session.current_step !== response.step) {
        // A closed step: an answer already recorded (a duplicate) or a session that moved on.
        if (challenge?.response_event_id === event.id || challenge?.status === 'answered') return [];
        throw new ProtocolError('CHALLENGE_RESPONSE_INVALID', `step ${response.step} is not open`);
      }
      const challengeTag = event.tags.find((t) => t[0] === 'e')?.[1];
      if (challengeTag !== undefined && challengeTag !== challenge.event_id) {
        throw new ProtocolError('CHALLENGE_RESPONSE_INVALID', 'the response names another challenge');
      }
      if (engine.now > challenge.expires_at) {
        throw new ProtocolError('SESSION_TIMEOUT', 'the step expired before the response arrived');
      }
      const payload = JSON.parse(challenge.payload_json) as { psbt?: string; psbts?: string[] };
      const psbts = payload.psbts ?? [payload.psbt!];
      const signatures = verifyResponse(response, psbts, session.owner_pubkey);
      const recorded = await this.#deps.database.db
        .transaction()
        .execute((trx) =>
          engine.store.answer(trx, challenge.challenge_id, event.id, JSON.stringify(signatures), engine.now),
        );
      if (recorded) {
        engine.observer?.stepAnswered(response.step, (engine.now - Number(challenge.created_at)) / 1000);
        engine.crash('answered');
        await engine.advance(session.session_id).catch((error: unknown) => {
          this.#deps.logger.warn(
            { err: error, session: session.session_id },
            'advancing after a response failed; the sweep retries',
          );
        });
      }
      return [];
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      return [
        this.#deps.publisher.failureNotice(
          event,
          { action_id: actionId, code: error.code, message: error.message, details: error.details ?? {} },
          { key },
        ),
      ];
    }
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
