// Opens the one database the gateway uses: MariaDB when DATABASE_URL is set, otherwise the
// embedded SQLite file under DATA_DIR. Both are verified before the process goes on, and a
// failure stops the start with one line naming the variable to fix.
import { performance } from 'node:perf_hooks';
import { CompiledQuery, Kysely, MysqlDialect, sql } from 'kysely';
import type { DatabaseConfig, MariaDbConfig, SqliteConfig } from '../config.ts';
import { deadline } from '../deadline.ts';
import { StartupError } from '../errors.ts';
import type { Logger } from '../logging.ts';
import { prepareOwnerOnlySqlite } from './file-modes.ts';
import { createMariaDbPool } from './mysql-pool.ts';
import type { Schema } from './schema.ts';
import { NodeSqliteDatabase, NodeSqliteDialect } from './sqlite-dialect.ts';

export type DatabaseKind = DatabaseConfig['kind'];

export interface Database {
  readonly db: Kysely<Schema>;
  readonly kind: DatabaseKind;
  /** Round trip of `SELECT 1` in ms; rejects on failure or after timeoutMs (default 5 s). */
  ping(timeoutMs?: number): Promise<number>;
  /** Closes the pool or file; idempotent. */
  close(): Promise<void>;
  /** SQLite only: an online, consistent copy of the database into `path`. */
  backupTo?(path: string): Promise<void>;
  /**
   * Runs a write whose loss in a power cut is harmless — it is redone, or it only informs (a
   * job log line, a duplicate-event claim, an outbox row marked sent). On SQLite it commits
   * without waiting for the disk (`synchronous = NORMAL` for that write alone): the WAL is
   * append-only, so the next ordinary commit's sync makes it durable with everything before
   * it, and a crash of the process alone never loses it. Everything else keeps `FULL`. On
   * MariaDB it is an ordinary write.
   */
  lossTolerant<T>(work: (db: Kysely<Schema>) => Promise<T>): Promise<T>;
}

/** Session settings of every MariaDB connection: strict writes, UTC. */
const MARIADB_SESSION =
  "SET SESSION sql_mode = 'STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ZERO_DATE,NO_ZERO_IN_DATE,NO_ENGINE_SUBSTITUTION', time_zone = '+00:00'";

/** A short reason for a connection failure: the error code, plus the server's text for SQL errors. */
function reasonOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const { code, sqlMessage } = error as { code?: unknown; sqlMessage?: unknown };
  // node:sqlite puts one generic code on every error; its message is the useful part.
  if (typeof code === 'string' && code && code !== 'ERR_SQLITE_ERROR') {
    return typeof sqlMessage === 'string' && sqlMessage ? `${code}: ${sqlMessage}` : code;
  }
  return error.message.split('\n')[0] ?? 'unknown error';
}

function wrap(db: Kysely<Schema>, kind: DatabaseKind, sqlite?: NodeSqliteDatabase): Database {
  let closing: Promise<void> | undefined;
  return {
    db,
    kind,
    ...(sqlite ? { backupTo: (path: string) => sqlite.backupTo(path) } : {}),
    lossTolerant:
      kind === 'sqlite'
        ? // One connection: holding it keeps every other write out of the relaxed window.
          (work) =>
            db.connection().execute(async (connection) => {
              await sql`pragma synchronous = normal`.execute(connection);
              try {
                return await work(connection);
              } finally {
                await sql`pragma synchronous = full`.execute(connection);
              }
            })
        : (work) => work(db),
    async ping(timeoutMs = 5000) {
      const started = performance.now();
      await deadline(
        sql`select 1`.execute(db),
        timeoutMs,
        () => new Error(`database ping timed out after ${timeoutMs} ms`),
      );
      return performance.now() - started;
    },
    close() {
      closing ??= db.destroy();
      return closing;
    },
  };
}

async function openSqlite(config: SqliteConfig, logger: Logger): Promise<Database> {
  let database: NodeSqliteDatabase;
  try {
    // Created owner-only before SQLite opens it (its -wal and -shm copy the mode); an existing
    // file left looser is tightened.
    prepareOwnerOnlySqlite(config.file);
    database = new NodeSqliteDatabase(config.file);
  } catch (error) {
    throw new StartupError('DATA_DIR', `cannot open database file ${config.file} (${reasonOf(error)})`);
  }
  const journal = database.journalMode();
  if (journal !== 'wal') logger.warn({ file: config.file, journal }, 'SQLite could not switch to WAL');
  const db = new Kysely<Schema>({ dialect: new NodeSqliteDialect(database) });
  try {
    await sql`select 1`.execute(db);
  } catch (error) {
    await db.destroy().catch(() => undefined);
    throw new StartupError('DATA_DIR', `cannot open database file ${config.file} (${reasonOf(error)})`);
  }
  logger.info({ storage: 'sqlite', file: config.file, journal }, 'database opened');
  return wrap(db, 'sqlite', database);
}

async function openMariaDb(config: MariaDbConfig, logger: Logger): Promise<Database> {
  const pool = createMariaDbPool(config);
  const db = new Kysely<Schema>({
    dialect: new MysqlDialect({
      pool,
      onCreateConnection: async (connection) => {
        await connection.executeQuery(CompiledQuery.raw(MARIADB_SESSION));
      },
    }),
  });
  let version: string;
  try {
    const result = await sql<{ version: string }>`select version() as version`.execute(db);
    version = result.rows[0]?.version ?? 'unknown';
  } catch (error) {
    await db.destroy().catch(() => undefined);
    throw new StartupError('DATABASE_URL', `cannot connect to ${config.display} (${reasonOf(error)})`);
  }
  logger.info(
    {
      storage: 'mariadb',
      url: config.display,
      version,
      poolSize: config.poolSize,
      maxOverflow: config.maxOverflow,
    },
    'database opened',
  );
  return wrap(db, 'mariadb');
}

/**
 * Opens and verifies the configured database. Throws StartupError (one line, naming
 * DATABASE_URL or DATA_DIR, never a password) when it cannot be reached or opened.
 */
export async function openDatabase(config: DatabaseConfig, logger: Logger): Promise<Database> {
  return config.kind === 'sqlite' ? openSqlite(config, logger) : openMariaDb(config, logger);
}
