// Brings the schema to the latest migration. Kysely's Migrator holds a lock while it runs
// (GET_LOCK on MariaDB, the write lock on SQLite, see sqlite-dialect.ts), so several
// instances starting at once apply each migration exactly once.
import { Migrator } from 'kysely/migration';
import type { Config } from '../config.ts';
import { StartupError } from '../errors.ts';
import type { Logger } from '../logging.ts';
import { openDatabase, type Database } from './database.ts';
import { migrationProvider } from './migrations/index.ts';

export class MigrationError extends Error {
  readonly migration: string | undefined;
  constructor(migration: string | undefined, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(migration ? `migration ${migration} failed: ${reason}` : `migrations failed: ${reason}`, { cause });
    this.name = 'MigrationError';
    this.migration = migration;
  }
}

function migratorFor(database: Database): Migrator {
  return new Migrator({ db: database.db, provider: migrationProvider(database.kind) });
}

/** Applies every pending migration; `applied` is empty when the schema was already current. */
export async function migrateToLatest(database: Database, logger: Logger): Promise<{ applied: string[] }> {
  const { error, results = [] } = await migratorFor(database).migrateToLatest();
  const applied = results.filter((r) => r.status === 'Success').map((r) => r.migrationName);
  for (const name of applied) logger.info({ migration: name, storage: database.kind }, 'migration applied');
  if (error !== undefined) {
    const failed = results.find((r) => r.status === 'Error')?.migrationName;
    logger.error({ migration: failed, err: error }, 'migration failed');
    throw new MigrationError(failed, error);
  }
  if (applied.length === 0) logger.debug({ storage: database.kind }, 'schema already up to date');
  return { applied };
}

/** Names of the migrations not yet applied to this database, in the order they would run. */
export async function pendingMigrations(database: Database): Promise<string[]> {
  const all = await migratorFor(database).getMigrations();
  return all.filter((m) => m.executedAt === undefined).map((m) => m.name);
}

/** The application's tables (Kysely's own migration tables left out), sorted by name. */
export async function listTables(database: Database): Promise<string[]> {
  const tables = await database.db.introspection.getTables();
  return tables.map((t) => t.name).sort();
}

/**
 * Before a process uses the database: the embedded default migrates itself (there is no separate
 * deploy step on a laptop); MariaDB must already be migrated (`arkrelay migrate`, a release step).
 */
export async function prepareSchema(config: Config, database: Database, logger: Logger): Promise<void> {
  if (database.kind === 'sqlite') {
    await migrateToLatest(database, logger);
    return;
  }
  const pending = await pendingMigrations(database);
  if (pending.length > 0) {
    throw new StartupError(
      'DATABASE_URL',
      `database schema of ${config.database.kind === 'mariadb' ? config.database.display : ''} is ${pending.length} migration(s) behind; run \`arkrelay migrate\``,
    );
  }
}

export async function runMigrations(config: Config, logger: Logger): Promise<string[]> {
  const database = await openDatabase(config.database, logger);
  try {
    const { applied } = await migrateToLatest(database, logger);
    return applied;
  } finally {
    await database.close();
  }
}
