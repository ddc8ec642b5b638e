// The parts of the Nostr transport every process shares (API and workers): the key ring, the
// claim store, the outbox and the publisher, built first; and, once the modules that answer
// events exist, the responder from what they registered (their kinds and service actions).
import type { Config } from '../config.ts';
import type { NostrEvent } from '../domain/nostr-protocol.ts';
import type { Database } from '../store/database.ts';
import { ClaimStore } from './claims.ts';
import { serviceActions, type AnyAction } from './handlers/index.ts';
import type { KeyRing } from './keys.ts';
import { Outbox } from './outbox.ts';
import { Publisher } from './publisher.ts';
import { Responder, type KindHandler } from './responder.ts';

export interface NostrCore {
  readonly config: Config;
  readonly database: Database;
  readonly keys: KeyRing;
  readonly claims: ClaimStore;
  readonly outbox: Outbox;
  readonly publisher: Publisher;
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

/** What the modules of a process registered to answer events. */
export interface Answering {
  /** Service actions besides `info` and `sync_state`. */
  readonly actions: readonly AnyAction[];
  /** Kinds besides 31500, each with its handler. */
  readonly kinds: ReadonlyMap<number, KindHandler>;
  /** The gateway VTXO key, for `info`. */
  readonly vtxoPubkey?: () => Promise<string | undefined>;
}

export function createResponder(core: NostrCore, answering: Answering): Responder {
  const { config, database, keys, publisher } = core;
  const actions = serviceActions(
    {
      database,
      keys,
      allowNip04: config.nostr.allowNip04,
      limits: nostrLimits(config),
      fees: config.intents.fees,
      ...(answering.vtxoPubkey ? { vtxoPubkey: answering.vtxoPubkey } : {}),
    },
    answering.actions,
  );
  return new Responder({ publisher, actions, kinds: answering.kinds, allowNip04: config.nostr.allowNip04 });
}

export function createNostrCore(config: Config, database: Database, keys: KeyRing): NostrCore {
  const claims = new ClaimStore(database);
  const outbox = new Outbox(database);
  const publisher = new Publisher({
    keys,
    outbox,
    replyTtlS: config.nostr.replyTtlS,
    allowNip04: config.nostr.allowNip04,
  });
  return {
    config,
    database,
    keys,
    claims,
    outbox,
    publisher,
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
