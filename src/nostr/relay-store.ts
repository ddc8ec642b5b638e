// The embedded relay's event storage: a small NIP-01 event repository on node:sqlite (no
// native addon) in its own file under DATA_DIR. Replaceable and addressable events keep only
// the newest per (kind, author[, d]); NIP-40 expired events are not served.
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import {
  EventRepository,
  EventUtils,
  type Event,
  type EventRepositoryUpsertResult,
  type Filter,
} from '@nostr-relay/common';
import { prepareOwnerOnlySqlite } from '../store/file-modes.ts';

const SCHEMA = `
create table if not exists events (
  id text primary key, pubkey text not null, kind integer not null, created_at integer not null,
  d_tag text, expires_at integer, json text not null);
create index if not exists events_kind_created on events(kind, created_at);
create index if not exists events_author_created on events(pubkey, created_at);
create index if not exists events_replace on events(kind, pubkey, d_tag);
create table if not exists tags (event_id text not null, name text not null, value text not null);
create index if not exists tags_lookup on tags(name, value);
create index if not exists tags_event on tags(event_id);
`;

const MAX_LIMIT = 1000;

export class SqliteEventRepository extends EventRepository {
  readonly #db: DatabaseSync;
  /** The fixed statements of upsert, prepared once (preparing cost as much as running them). */
  readonly #statements = new Map<string, StatementSync>();

  constructor(file: string) {
    super();
    // Owner-only like everything under DATA_DIR (the -wal and -shm copy the file's mode).
    prepareOwnerOnlySqlite(file);
    this.#db = new DatabaseSync(file);
    // NORMAL: a commit survives a crash of the process, not a power cut. The relay's copy is not
    // the record (the gateway's outbox is, synced FULL), and on restart the supervisor re-sends
    // what was published within the catch-up window, so a lost tail is put back.
    this.#db.exec('pragma journal_mode = wal; pragma busy_timeout = 5000; pragma synchronous = normal;');
    this.#db.exec(SCHEMA);
  }

  isSearchSupported(): boolean {
    return false;
  }

  #prepared(text: string): StatementSync {
    let statement = this.#statements.get(text);
    if (!statement) {
      statement = this.#db.prepare(text);
      this.#statements.set(text, statement);
    }
    return statement;
  }

  upsert(event: Event): EventRepositoryUpsertResult {
    const type = EventUtils.getType(event.kind);
    const d = EventUtils.extractDTagValue(event);
    const db = this.#db;
    db.exec('begin immediate');
    try {
      if (this.#prepared('select 1 from events where id = ?').get(event.id)) {
        db.exec('commit');
        return { isDuplicate: true };
      }
      if (type === 'REPLACEABLE' || type === 'PARAMETERIZED_REPLACEABLE') {
        const older = db
          .prepare('select id, created_at from events where kind = ? and pubkey = ? and d_tag is ?')
          .all(event.kind, event.pubkey, d) as { id: string; created_at: number }[];
        // NIP-01: the newest wins; on a tie, the lowest id.
        if (
          older.some(
            (o) => o.created_at > event.created_at || (o.created_at === event.created_at && o.id < event.id),
          )
        ) {
          db.exec('commit');
          return { isDuplicate: true };
        }
        for (const o of older) {
          this.#prepared('delete from tags where event_id = ?').run(o.id);
          this.#prepared('delete from events where id = ?').run(o.id);
        }
      }
      this.#prepared(
        'insert into events (id, pubkey, kind, created_at, d_tag, expires_at, json) values (?, ?, ?, ?, ?, ?, ?)',
      ).run(
        event.id,
        event.pubkey,
        event.kind,
        event.created_at,
        d,
        EventUtils.extractExpirationTimestamp(event),
        JSON.stringify(event),
      );
      const insertTag = this.#prepared('insert into tags (event_id, name, value) values (?, ?, ?)');
      for (const tag of event.tags) {
        if (tag[0]?.length === 1 && typeof tag[1] === 'string') insertTag.run(event.id, tag[0], tag[1]);
      }
      db.exec('commit');
      return { isDuplicate: false };
    } catch (error) {
      db.exec('rollback');
      throw error;
    }
  }

  find(filter: Filter): Event[] {
    const where: string[] = ['(expires_at is null or expires_at >= ?)'];
    const args: (string | number)[] = [Math.floor(Date.now() / 1000)];
    const list = (column: string, values: readonly (string | number)[]) => {
      where.push(`${column} in (${values.map(() => '?').join(',')})`);
      args.push(...values);
    };
    if (filter.ids) list('id', filter.ids);
    if (filter.authors) list('pubkey', filter.authors);
    if (filter.kinds) list('kind', filter.kinds);
    if (filter.since !== undefined) {
      where.push('created_at >= ?');
      args.push(filter.since);
    }
    if (filter.until !== undefined) {
      where.push('created_at <= ?');
      args.push(filter.until);
    }
    for (const [key, values] of Object.entries(filter)) {
      if (!/^[#&][A-Za-z]$/.test(key) || !Array.isArray(values)) continue;
      const name = key.slice(1);
      for (const group of key[0] === '&' ? values.map((v) => [v]) : [values]) {
        where.push(
          `id in (select event_id from tags where name = ? and value in (${group.map(() => '?').join(',')}))`,
        );
        args.push(name, ...(group as string[]));
      }
    }
    if ([filter.ids, filter.authors, filter.kinds].some((v) => Array.isArray(v) && v.length === 0)) return [];
    const limit = Math.min(filter.limit ?? MAX_LIMIT, MAX_LIMIT);
    const rows = this.#db
      .prepare(
        `select json from events where ${where.join(' and ')} order by created_at desc, id asc limit ?`,
      )
      .all(...args, limit) as { json: string }[];
    return rows.map((r) => JSON.parse(r.json) as Event);
  }

  async destroy(): Promise<void> {
    this.#statements.clear();
    if (this.#db.isOpen) this.#db.close();
  }
}
