// Kysely's built-in SqliteDialect expects a better-sqlite3-shaped database; this adapts
// node:sqlite (no native addon to build) to it, with a bounded statement cache and integers
// read exactly (number when safe, bigint beyond 2^53, as mysql2 does with strings).
import {
  DatabaseSync,
  backup,
  type SQLInputValue,
  type SQLOutputValue,
  type StatementSync,
} from 'node:sqlite';
import {
  CompiledQuery,
  SqliteAdapter,
  SqliteDialect,
  SqliteDriver,
  sql,
  type DatabaseConnection,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type SqliteDatabase,
  type SqliteStatement,
} from 'kysely';

export interface NodeSqliteOptions {
  /** How long a writer waits for another process's write lock before SQLITE_BUSY. */
  readonly busyTimeoutMs?: number;
  /** Prepared statements kept per connection, least recently used evicted first. */
  readonly statementCacheSize?: number;
}

type Row = Record<string, SQLOutputValue>;

/** A bigint read from SQLite becomes a number when that loses nothing. */
function exactInteger(value: SQLOutputValue): unknown {
  if (typeof value !== 'bigint') return value;
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(value)
    : value;
}

function normalizeRow(row: Row): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(row)) out[key] = exactInteger(row[key] as SQLOutputValue);
  return out;
}

function bind(parameters: ReadonlyArray<unknown>): SQLInputValue[] {
  return parameters as SQLInputValue[];
}

/** node:sqlite refuses (rather than rounds) an integer beyond 2^53 when reading numbers. */
function isOutOfRange(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'ERR_OUT_OF_RANGE';
}

/** A plain SELECT: reading it twice changes nothing (unlike INSERT … RETURNING). */
const PURE_READ = /^\s*select\b/i;

class NodeSqliteStatement implements SqliteStatement {
  readonly reader: boolean;
  readonly #statement: StatementSync;
  readonly #fresh: () => StatementSync;
  readonly #pureRead: boolean;
  #exact: StatementSync | undefined;

  constructor(text: string, statement: StatementSync, fresh: () => StatementSync) {
    this.#statement = statement;
    this.#fresh = fresh;
    this.reader = statement.columns().length > 0;
    this.#pureRead = this.reader && PURE_READ.test(text);
    // Reading every integer as a bigint and converting it back costs about as much as the
    // query itself on a page of rows. A plain SELECT reads numbers, and only when a value is
    // too large for one (node:sqlite then throws, never rounds) is it read again exactly.
    // A statement with side effects (… RETURNING) always reads exactly, since it must run once.
    if (this.#pureRead) statement.setReadBigInts(false);
  }

  all(parameters: ReadonlyArray<unknown>): unknown[] {
    if (this.#pureRead) {
      try {
        return this.#statement.all(...bind(parameters));
      } catch (error) {
        if (!isOutOfRange(error)) throw error;
        this.#exact ??= this.#fresh();
        return (this.#exact.all(...bind(parameters)) as Row[]).map(normalizeRow);
      }
    }
    return (this.#statement.all(...bind(parameters)) as Row[]).map(normalizeRow);
  }

  run(parameters: ReadonlyArray<unknown>): { changes: number | bigint; lastInsertRowid: number | bigint } {
    return this.#statement.run(...bind(parameters));
  }

  *iterate(parameters: ReadonlyArray<unknown>): IterableIterator<unknown> {
    // A cached statement must not be shared with a half-consumed iterator: stream on a
    // statement of its own, reading exactly (a half-consumed stream cannot be read again).
    for (const row of this.#fresh().iterate(...bind(parameters))) yield normalizeRow(row as Row);
  }
}

/** One node:sqlite connection in the shape Kysely's SqliteDriver drives. */
export class NodeSqliteDatabase implements SqliteDatabase {
  readonly file: string;
  readonly #db: DatabaseSync;
  readonly #cache = new Map<string, NodeSqliteStatement>();
  readonly #cacheSize: number;

  constructor(file: string, options: NodeSqliteOptions = {}) {
    this.file = file;
    this.#cacheSize = options.statementCacheSize ?? 500;
    this.#db = new DatabaseSync(file, {
      timeout: options.busyTimeoutMs ?? 5000,
      enableForeignKeyConstraints: true,
    });
    try {
      this.#db.exec('PRAGMA journal_mode = WAL');
      // FULL: a commit is on disk before the next step's message can leave the process, even
      // across a power loss. (NORMAL in WAL mode may lose the last commits on an OS crash.)
      // Only writes whose loss is harmless relax it, one at a time (Database.lossTolerant).
      this.#db.exec('PRAGMA synchronous = FULL');
      this.#db.exec('PRAGMA foreign_keys = ON');
    } catch (error) {
      this.#db.close();
      throw error;
    }
  }

  /** The journal mode in force ("wal" unless the file system refused it). */
  journalMode(): string {
    const row = this.#db.prepare('PRAGMA journal_mode').get() as { journal_mode?: string } | undefined;
    return String(row?.journal_mode ?? '');
  }

  get cachedStatements(): number {
    return this.#cache.size;
  }

  prepare(text: string): SqliteStatement {
    const hit = this.#cache.get(text);
    if (hit) {
      // Re-insert so the Map's order is least recently used first.
      this.#cache.delete(text);
      this.#cache.set(text, hit);
      return hit;
    }
    const statement = new NodeSqliteStatement(text, this.#prepareRaw(text), () => this.#prepareRaw(text));
    this.#cache.set(text, statement);
    if (this.#cache.size > this.#cacheSize) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
    return statement;
  }

  /** An online, consistent copy into `path` (SQLite's backup API) while the gateway runs. */
  async backupTo(path: string): Promise<void> {
    await backup(this.#db, path);
  }

  close(): void {
    this.#cache.clear();
    if (!this.#db.isOpen) return;
    try {
      // Cheap, and keeps the planner's statistics current for the next start.
      this.#db.exec('PRAGMA optimize');
    } finally {
      this.#db.close();
    }
  }

  #prepareRaw(text: string): StatementSync {
    const statement = this.#db.prepare(text);
    statement.setReadBigInts(true);
    return statement;
  }
}

/**
 * Transactions start with BEGIN IMMEDIATE: the write lock is taken up front, so a second
 * process on the same file waits (busy timeout) instead of failing halfway with SQLITE_BUSY
 * when its read snapshot turns out stale. Inside one process Kysely already serialises all
 * work on the single connection, so this costs nothing there.
 */
class NodeSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

/**
 * Kysely's SQLite migration lock is a no-op (one connection per process). Holding the write
 * lock for the whole migration makes a second process (say `arkrelay migrate` next to a
 * running gateway) wait, then find nothing left to do. DDL is transactional in SQLite, so
 * the migration also commits as a whole on success. On failure Kysely still calls release,
 * which commits what ran; the migrations are written to be re-runnable (IF NOT EXISTS) for
 * exactly that case, as on MariaDB where DDL is never transactional.
 */
class NodeSqliteAdapter extends SqliteAdapter {
  override async acquireMigrationLock(db: Kysely<unknown>): Promise<void> {
    await sql`begin immediate`.execute(db);
  }

  override async releaseMigrationLock(db: Kysely<unknown>): Promise<void> {
    await sql`commit`.execute(db);
  }
}

export class NodeSqliteDialect extends SqliteDialect {
  readonly #database: NodeSqliteDatabase;

  constructor(database: NodeSqliteDatabase) {
    super({ database });
    this.#database = database;
  }

  override createDriver(): Driver {
    return new NodeSqliteDriver({ database: this.#database });
  }

  override createAdapter(): DialectAdapter {
    return new NodeSqliteAdapter();
  }
}
