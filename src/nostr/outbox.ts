// Durable publishing: outgoing events are written to nostr_outbox (in the transaction of the
// state change they announce), then any API process's supervisor publishes them. Workers in
// other processes therefore never need a relay connection of their own.
import type { NostrEvent } from '../domain/nostr-protocol.ts';
import { expirationOf } from '../domain/nostr-protocol.ts';
import type { Database } from '../store/database.ts';
import { isUniqueViolation } from '../store/db-errors.ts';
import type { NostrDb, NostrTrx } from './claims.ts';

export interface OutboxRow {
  readonly eventId: string;
  readonly event: NostrEvent;
  readonly attempts: number;
  readonly nextAttemptAt: number;
}

/** How long one process holds an outbox row while it publishes it. */
const LEASE_MS = 30_000;

export class Outbox {
  readonly #db: NostrDb;
  readonly #database: Database;
  constructor(database: Database) {
    this.#database = database;
    this.#db = database.db;
  }

  /** Queues events for publishing; an event already queued is left as it is. */
  async add(events: readonly NostrEvent[], trx?: NostrTrx, now = Date.now()): Promise<void> {
    const db = trx ?? this.#db;
    for (const event of events) {
      const expiration = expirationOf(event);
      try {
        await db
          .insertInto('nostr_outbox')
          .values({
            event_id: event.id,
            kind: event.kind,
            event_json: JSON.stringify(event),
            status: 'pending',
            attempts: 0,
            next_attempt_at: now,
            last_error: null,
            expires_at: expiration === undefined ? null : expiration * 1000,
            created_at: now,
            published_at: null,
          })
          .execute();
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
      }
    }
  }

  /**
   * Due rows, each leased to this caller, in one transaction — one commit per drain rather than
   * one per event. MariaDB: the rows are taken with FOR UPDATE SKIP LOCKED, so two API processes
   * draining at once take disjoint rows and never wait on (or deadlock over) each other's; SQLite's
   * write transactions are serial anyway.
   */
  async lease(limit: number, now = Date.now()): Promise<OutboxRow[]> {
    return this.#db.transaction().execute(async (trx) => {
      let query = trx
        .selectFrom('nostr_outbox')
        .select(['event_id', 'event_json', 'attempts', 'expires_at'])
        .where('status', '=', 'pending')
        .where('next_attempt_at', '<=', now)
        .orderBy('next_attempt_at')
        .limit(limit);
      if (this.#database.kind === 'mariadb') query = query.forUpdate().skipLocked();
      const rows = await query.execute();
      const expired = rows.filter((r) => r.expires_at !== null && Number(r.expires_at) <= now);
      const due = rows.filter((r) => !expired.includes(r));
      if (expired.length > 0) {
        await trx
          .updateTable('nostr_outbox')
          .set({ status: 'failed', last_error: 'expired before it could be published' })
          .where(
            'event_id',
            'in',
            expired.map((r) => r.event_id),
          )
          .where('status', '=', 'pending')
          .execute();
      }
      if (due.length === 0) return [];
      await trx
        .updateTable('nostr_outbox')
        .set({ next_attempt_at: now + LEASE_MS })
        .where(
          'event_id',
          'in',
          due.map((r) => r.event_id),
        )
        .where('status', '=', 'pending')
        .execute();
      return due.map((row) => ({
        eventId: row.event_id,
        event: JSON.parse(row.event_json) as NostrEvent,
        attempts: row.attempts,
        nextAttemptAt: now + LEASE_MS,
      }));
    });
  }

  /**
   * Marks events a relay accepted, in one statement. Loss-tolerant (Database.lossTolerant): if
   * a power cut loses the mark, the same signed event is sent again, and relays and wallets
   * keep one event per id.
   */
  async published(eventIds: readonly string[], now = Date.now()): Promise<void> {
    if (eventIds.length === 0) return;
    await this.#database.lossTolerant((db) =>
      db
        .updateTable('nostr_outbox')
        .set({ status: 'published', published_at: now, last_error: null })
        .where('event_id', 'in', eventIds)
        .execute(),
    );
  }

  /** Not accepted by any relay: try again later (backoff 1 s doubling to 60 s). */
  async retry(row: OutboxRow, error: string, countAttempt: boolean, now = Date.now()): Promise<void> {
    const attempts = row.attempts + (countAttempt ? 1 : 0);
    const delay = countAttempt ? Math.min(60_000, 1000 * 2 ** Math.min(attempts - 1, 6)) : 1000;
    await this.#db
      .updateTable('nostr_outbox')
      .set({ attempts, next_attempt_at: now + delay, last_error: error.slice(0, 500) })
      .where('event_id', '=', row.eventId)
      .where('status', '=', 'pending')
      .execute();
  }

  /** Events published recently: sent again to a relay that comes back, so it misses nothing. */
  async recentlyPublished(sinceMs: number, limit = 500): Promise<NostrEvent[]> {
    const rows = await this.#db
      .selectFrom('nostr_outbox')
      .select('event_json')
      .where('status', '=', 'published')
      .where('published_at', '>=', sinceMs)
      .orderBy('published_at', 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => JSON.parse(r.event_json) as NostrEvent).reverse();
  }

  async pendingCount(): Promise<number> {
    const row = await this.#db
      .selectFrom('nostr_outbox')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('status', '=', 'pending')
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }
}
