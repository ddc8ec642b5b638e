// The parts of the Nostr transport every process shares (API and workers): the key ring, the
// claim store, the outbox, the publisher and the responder. Built once per process in app.ts.
import type { Config } from '../config.ts';
import type { NostrEvent } from '../domain/nostr-protocol.ts';
import type { Database } from '../store/database.ts';
import { ClaimStore } from './claims.ts';
import { serviceActions, type AnyAction } from './handlers/index.ts';
import type { KeyRing } from './keys.ts';
import { Outbox } from './outbox.ts';
import { Publisher } from './publisher.ts';
import { Responder } from './responder.ts';

export interface NostrCore {
  readonly config: Config;
  readonly database: Database;
  readonly keys: KeyRing;
  readonly claims: ClaimStore;
  readonly outbox: Outbox;
  readonly publisher: Publisher;
  readonly responder: Responder;
  /** Marks the claim done and queues its replies, in one transaction. False: the claim was lost. */
  complete(event: NostrEvent, attempt: number, replies: readonly NostrEvent[]): Promise<boolean>;
}

/** Public limits, shown by `info` and enforced at intake. */
export function nostrLimits(config: Config): Record<string, number> {
  const n = config.nostr;
  const c = config.ceremony;
  return {
    max_event_bytes: n.maxEventBytes,
    requests_per_minute: n.rateLimitPerMinute,
    catch_up_window_s: n.catchUpWindowS,
    session_timeout_s: c.sessionTimeoutMs / 1000,
    step_timeout_s: c.stepTimeoutMs / 1000,
    max_open_sessions: c.limits.maxOpen,
    max_abandoned_sessions_per_hour: c.limits.maxAbandonedPerHour,
    max_inventory_locked: c.limits.maxInventory,
  };
}

export function createNostrCore(
  config: Config,
  database: Database,
  keys: KeyRing,
  extraActions: readonly AnyAction[] = [],
  /** The gateway VTXO key, for `info`. */
  vtxoPubkey?: () => Promise<string | undefined>,
): NostrCore {
  const claims = new ClaimStore(database);
  const outbox = new Outbox(database);
  const publisher = new Publisher({ keys, outbox, replyTtlS: config.nostr.replyTtlS });
  const actions = serviceActions(
    {
      database,
      keys,
      allowNip04: config.nostr.allowNip04,
      limits: nostrLimits(config),
      fees: config.intents.fees,
      ...(vtxoPubkey ? { vtxoPubkey } : {}),
    },
    extraActions,
  );
  const responder = new Responder({ publisher, actions, allowNip04: config.nostr.allowNip04 });
  return {
    config,
    database,
    keys,
    claims,
    outbox,
    publisher,
    responder,
    async complete(event, attempt, replies) {
      const done = await database.db.transaction().execute(async (trx) => {
        if (!(await claims.complete(trx, event.id, attempt, replies))) return false;
        await outbox.add(replies, trx);
        return true;
      });
      if (done) publisher.flush();
      return done;
    },
  };
}
