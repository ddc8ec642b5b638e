// Exactly-once intake: an event is handled by whoever inserts its processed_events row first
// (the primary key on event_id decides, across relays, restarts and gateway instances). The
// claim carries a fencing number (`attempts`): completing is a conditional update on it, so
// a job that lost its claim (reclaimed after its process died) cannot answer a second time.
import type { Kysely, Transaction } from 'kysely';
import type { NostrEvent } from '../domain/nostr-protocol.ts';
import type { Database } from '../store/database.ts';
import { isUniqueViolation } from '../store/db-errors.ts';
import type { Schema } from '../store/schema.ts';

export type NostrDb = Kysely<Schema>;
export type NostrTrx = Transaction<Schema>;

export type ClaimOutcome =
  | { readonly outcome: 'claimed'; readonly attempt: number }
  | { readonly outcome: 'done'; readonly replies: readonly NostrEvent[] }
  | { readonly outcome: 'processing' };

export interface StaleClaim {
  readonly event: NostrEvent;
  readonly attempt: number;
}

export class ClaimStore {
  readonly #db: NostrDb;
  readonly #database: Database;
  constructor(database: Database) {
    this.#database = database;
    this.#db = database.db;
  }

  async claim(event: NostrEvent, instanceId: string, now = Date.now()): Promise<ClaimOutcome> {
    try {
      // Loss-tolerant (Database.lossTolerant): a claim lost in a power cut went with everything
      // the event caused (all later commits sync it), so the event is simply handled again.
      await this.#database.lossTolerant((db) =>
        db
          .insertInto('processed_events')
          .values({
            event_id: event.id,
            kind: event.kind,
            author_pubkey: event.pubkey,
            status: 'processing',
            claimed_by: instanceId.slice(0, 128),
            claimed_at: now,
            attempts: 1,
            reply_json: null,
            completed_at: null,
            event_json: JSON.stringify(event),
          })
          .execute(),
      );
      return { outcome: 'claimed', attempt: 1 };
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
    }
    const row = await this.#db
      .selectFrom('processed_events')
      .select(['status', 'reply_json'])
      .where('event_id', '=', event.id)
      .executeTakeFirst();
    if (row?.status === 'done') {
      return { outcome: 'done', replies: row.reply_json ? (JSON.parse(row.reply_json) as NostrEvent[]) : [] };
    }
    return { outcome: 'processing' };
  }

  /**
   * Marks the claim done with its replies, inside the caller's transaction (which also writes
   * the replies to the outbox). False when the claim was lost: nothing must be sent then.
   */
  async complete(
    trx: NostrTrx,
    eventId: string,
    attempt: number,
    replies: readonly NostrEvent[],
    now = Date.now(),
  ): Promise<boolean> {
    const result = await trx
      .updateTable('processed_events')
      .set({ status: 'done', reply_json: JSON.stringify(replies), completed_at: now })
      .where('event_id', '=', eventId)
      .where('status', '=', 'processing')
      .where('attempts', '=', attempt)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Claims older than the lease whose handler never finished: take them over, one winner each. */
  async reclaimStale(
    instanceId: string,
    leaseMs: number,
    limit = 50,
    now = Date.now(),
  ): Promise<StaleClaim[]> {
    const rows = await this.#db
      .selectFrom('processed_events')
      .select(['event_id', 'attempts', 'claimed_at', 'event_json'])
      .where('status', '=', 'processing')
      .where('claimed_at', '<=', now - leaseMs)
      .orderBy('claimed_at')
      .limit(limit)
      .execute();
    const won: StaleClaim[] = [];
    for (const row of rows) {
      if (!row.event_json) continue;
      const result = await this.#db
        .updateTable('processed_events')
        .set({ claimed_by: instanceId.slice(0, 128), claimed_at: now, attempts: row.attempts + 1 })
        .where('event_id', '=', row.event_id)
        .where('status', '=', 'processing')
        .where('attempts', '=', row.attempts)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 1) {
        won.push({ event: JSON.parse(row.event_json) as NostrEvent, attempt: row.attempts + 1 });
      }
    }
    return won;
  }

  async status(eventId: string) {
    return this.#db
      .selectFrom('processed_events')
      .select(['status', 'attempts', 'claimed_by', 'reply_json'])
      .where('event_id', '=', eventId)
      .executeTakeFirst();
  }
}
