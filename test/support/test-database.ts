// A fresh, migrated database for one test suite: a SQLite file in a new temp folder, or a
// new database `arkrelay_t_<random>` on the MariaDB server named by DATABASE_URL (whose own
// database is left alone). drop() closes it and deletes everything it made.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import pino from 'pino';
import { redactUrl, Secret, type DatabaseConfig, type MariaDbConfig } from '../../src/config.ts';
import type { Logger } from '../../src/logging.ts';
import { openDatabase, type Database } from '../../src/store/database.ts';
import { migrateToLatest } from '../../src/store/migrator.ts';

export const mariadbAvailable = Boolean(process.env.DATABASE_URL);

export type TestDatabaseKind = 'sqlite' | 'mariadb';

export interface TestDatabaseOptions {
  /** Default true. False leaves the database empty, for migration tests. */
  readonly migrate?: boolean;
  /** MariaDB pool settings (defaults: 5 + 5 connections, 10 s wait). */
  readonly poolSize?: number;
  readonly maxOverflow?: number;
  readonly poolTimeoutMs?: number;
}

export interface TestDatabase {
  readonly database: Database;
  readonly config: DatabaseConfig;
  /** Another connection (pool or SQLite handle) to the same database; drop() closes it too. */
  reopen(): Promise<Database>;
  drop(): Promise<void>;
}

export const silentLogger: Logger = pino({ level: 'silent' });

/** The MariaDB server of DATABASE_URL, pointed at another database. */
export function mariadbConfigFor(database: string, options: TestDatabaseOptions = {}): MariaDbConfig {
  const raw = process.env.DATABASE_URL;
  if (!raw) throw new Error('DATABASE_URL is not set');
  const url = new URL(raw);
  url.pathname = `/${database}`;
  return {
    kind: 'mariadb',
    host: url.hostname,
    port: url.port ? Number(url.port) : 3306,
    user: decodeURIComponent(url.username) || 'root',
    password: new Secret(decodeURIComponent(url.password)),
    database,
    poolSize: options.poolSize ?? 5,
    maxOverflow: options.maxOverflow ?? 5,
    poolTimeoutMs: options.poolTimeoutMs ?? 10_000,
    connectTimeoutMs: 5_000,
    display: redactUrl(url.toString()),
  };
}

async function onServer(config: MariaDbConfig, statement: string): Promise<void> {
  // No database selected: the URL's own database need not exist for this.
  const connection = await createConnection({
    host: config.host,
    port: config.port,
    user: config.user,
    password: config.password.reveal(),
    connectTimeout: config.connectTimeoutMs,
  });
  try {
    await connection.query(statement);
  } finally {
    await connection.end();
  }
}

export async function createTestDatabase(
  kind: TestDatabaseKind,
  logger: Logger = silentLogger,
  options: TestDatabaseOptions = {},
): Promise<TestDatabase> {
  let config: DatabaseConfig;
  let cleanup: () => Promise<void>;
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'arkrelay-test-'));
    config = { kind: 'sqlite', file: join(dir, 'data', 'arkrelay.sqlite') };
    cleanup = async () => rmSync(dir, { recursive: true, force: true });
  } else {
    const name = `arkrelay_t_${randomBytes(6).toString('hex')}`;
    const mariadb = mariadbConfigFor(name, options);
    await onServer(mariadb, `CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
    config = mariadb;
    cleanup = () => onServer(mariadb, `DROP DATABASE IF EXISTS \`${name}\``);
  }

  const opened: Database[] = [];
  const open = async () => {
    const database = await openDatabase(config, logger);
    opened.push(database);
    return database;
  };
  let database: Database;
  try {
    database = await open();
    if (options.migrate ?? true) await migrateToLatest(database, logger);
  } catch (error) {
    await Promise.all(opened.map((d) => d.close()));
    await cleanup();
    throw error;
  }

  let dropped = false;
  return {
    database,
    config,
    reopen: open,
    async drop() {
      if (dropped) return;
      dropped = true;
      await Promise.all(opened.map((d) => d.close()));
      await cleanup();
    },
  };
}
