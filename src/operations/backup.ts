// Database backups and restores. MariaDB through mariadb-dump, SQLite through its online
// backup API. Credentials travel in a 0600 defaults file next to the backups, never on a
// command line (where `ps` shows them); every file is owner-only, in BACKUP_DIR, never /tmp.
// A backup is written under a hidden temporary name and renamed when complete, so a listing,
// a download or a prune never sees half of one. Retention (age and count) runs after each
// backup and on demand; a restore refuses while a gateway is live on the target database.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { constants, createReadStream, createWriteStream, type ReadStream } from 'node:fs';
import { chmod, copyFile, lstat, mkdir, open, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { finished } from 'node:stream/promises';
import { DatabaseSync } from 'node:sqlite';
import { sql } from 'kysely';
import type { DatabaseConfig, MariaDbConfig } from '../config.ts';
import { createLogger, type Logger } from '../logging.ts';
import { openDatabase, type Database } from '../store/database.ts';
import { describeInstances, liveInstances, type LiveInstance } from './instance-lease.ts';

export type BackupType = 'full' | 'schema';

export interface BackupResult {
  readonly id: string;
  /** The file name in BACKUP_DIR: what list, download (GET /admin/backup/{name}) and restore take. */
  readonly name: string;
  readonly type: BackupType;
  readonly database: 'sqlite' | 'mariadb';
  readonly path: string;
  readonly size_bytes: number;
  readonly sha256: string;
  readonly created_at: string;
  /** Backups deleted by the retention that ran after this one. */
  readonly pruned: readonly string[];
}

/** BACKUP_RETENTION_DAYS and BACKUP_RETENTION_COUNT; 0 turns a limit off. */
export interface BackupRetention {
  readonly days: number;
  readonly count: number;
}

export class BackupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackupError';
  }
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function backupId(kind: string, type: BackupType, now: Date): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `arkrelay-${kind}-${type}-${stamp}-${randomBytes(3).toString('hex')}`;
}

/** Runs `work` with a [client] defaults file holding the credentials, removed afterwards. */
async function withDefaultsFile<T>(
  config: MariaDbConfig,
  dir: string,
  work: (file: string) => Promise<T>,
): Promise<T> {
  const file = join(dir, `.client-${randomBytes(8).toString('hex')}.cnf`);
  const quote = (v: string) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  const lines = [
    '[client]',
    `user=${quote(config.user)}`,
    `password=${quote(config.password.reveal())}`,
    `host=${quote(config.host)}`,
    `port=${config.port}`,
  ];
  await writeFile(file, `${lines.join('\n')}\n`, { mode: 0o600, flag: 'wx' });
  try {
    return await work(file);
  } finally {
    await rm(file, { force: true });
  }
}

/** The first of the MariaDB client programs that exists (Debian ships both names). */
async function program(names: readonly string[]): Promise<string> {
  for (const name of names) {
    const found = await new Promise<boolean>((done) => {
      const child = spawn(name, ['--version'], { stdio: 'ignore' });
      child.on('error', () => done(false));
      child.on('exit', (code) => done(code === 0));
    });
    if (found) return name;
  }
  throw new BackupError(`none of ${names.join(', ')} is installed`);
}

async function run(
  command: string,
  args: readonly string[],
  io: { stdin?: string; stdout?: string },
): Promise<void> {
  const child = spawn(command, args, {
    stdio: [io.stdin ? 'pipe' : 'ignore', io.stdout ? 'pipe' : 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const output =
    io.stdout && child.stdout ? child.stdout.pipe(createWriteStream(io.stdout, { mode: 0o600 })) : undefined;
  if (io.stdin && child.stdin) createReadStream(io.stdin).pipe(child.stdin);
  const code = await new Promise<number | null>((done, fail) => {
    child.on('error', (error) => fail(new BackupError(`${command}: ${error.message}`)));
    child.on('close', done);
  });
  // The dump is only complete once the file stream has flushed it.
  if (output) await finished(output);
  if (code !== 0) {
    // The server's message is useful and holds no credential (those are in the file).
    throw new BackupError(`${command} exited with ${code}: ${stderr.trim().split('\n').slice(-3).join(' ')}`);
  }
}

async function sqliteSchemaDump(database: Database, path: string): Promise<void> {
  const { rows } = await sql<{ sql: string }>`
    select sql from sqlite_master where sql is not null and name not like 'sqlite_%' order by rowid`.execute(
    database.db,
  );
  await writeFile(path, `${rows.map((r) => `${r.sql};`).join('\n')}\n`, { mode: 0o600 });
}

/** arkrelay-<database>-<type>-<UTC stamp>-<random>.<sqlite|sql>: nothing else is a backup. */
const BACKUP_NAME = /^arkrelay-(sqlite|mariadb)-(full|schema)-(\d{8}T\d{6}Z)-[0-9a-f]{6}\.(sqlite|sql)$/;
export const BACKUP_NAME_PATTERN = BACKUP_NAME.source;

export async function createBackup(
  database: Database,
  config: DatabaseConfig,
  backupDir: string,
  type: BackupType,
  options: { readonly now?: Date; readonly retention?: BackupRetention } = {},
): Promise<BackupResult> {
  const now = options.now ?? new Date();
  const dir = resolve(backupDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const id = backupId(config.kind, type, now);
  const name = `${id}.${config.kind === 'sqlite' && type === 'full' ? 'sqlite' : 'sql'}`;
  const path = join(dir, name);
  // Hidden until complete: list, download and prune never see a partial file.
  const partial = join(dir, `.${name}.partial`);
  try {
    if (config.kind === 'sqlite') {
      if (type === 'schema') await sqliteSchemaDump(database, partial);
      else {
        if (!database.backupTo) throw new BackupError('this database cannot make an online backup');
        await database.backupTo(partial);
      }
    } else {
      const dump = await program(['mariadb-dump', 'mysqldump']);
      await withDefaultsFile(config, dir, (file) =>
        run(
          dump,
          [
            `--defaults-extra-file=${file}`,
            '--single-transaction',
            '--routines',
            '--triggers',
            '--hex-blob',
            '--default-character-set=utf8mb4',
            ...(type === 'schema' ? ['--no-data'] : []),
            config.database,
          ],
          { stdout: partial },
        ),
      );
    }
    await chmod(partial, 0o600);
    await rename(partial, path);
  } finally {
    await rm(partial, { force: true });
  }
  const info = await stat(path);
  const sha256 = await sha256Of(path);
  const pruned = options.retention
    ? (await pruneBackups(dir, options.retention, { now: now.getTime() })).deleted.map((b) => b.name)
    : [];
  return {
    id,
    name,
    type,
    database: config.kind,
    path,
    size_bytes: info.size,
    sha256,
    created_at: now.toISOString(),
    pruned,
  };
}

export interface BackupEntry {
  readonly name: string;
  readonly database: 'sqlite' | 'mariadb';
  readonly type: BackupType;
  readonly size_bytes: number;
  readonly created_at: string;
}

function stampTime(stamp: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(stamp)!;
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
}

/** The backups in `backupDir`, newest first. A directory that does not exist has none. */
export async function listBackups(backupDir: string): Promise<BackupEntry[]> {
  const dir = resolve(backupDir);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const entries: (BackupEntry & { at: number })[] = [];
  for (const name of names) {
    const match = BACKUP_NAME.exec(name);
    if (!match) continue;
    const info = await lstat(join(dir, name)).catch(() => undefined);
    if (!info?.isFile()) continue;
    const at = stampTime(match[3]!);
    entries.push({
      name,
      database: match[1] as 'sqlite' | 'mariadb',
      type: match[2] as BackupType,
      size_bytes: info.size,
      created_at: new Date(at).toISOString(),
      at,
    });
  }
  entries.sort((a, b) => b.at - a.at || b.name.localeCompare(a.name));
  return entries.map(({ at: _at, ...entry }) => entry);
}

/** What a backup interrupted by a crash left behind: hidden, a day old, never completed. */
async function removeAbandonedPartials(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    if (!/^\.arkrelay-.+\.partial$/.test(name)) continue;
    const info = await lstat(join(dir, name)).catch(() => undefined);
    if (info?.isFile() && Date.now() - info.mtimeMs > 86_400_000) await rm(join(dir, name), { force: true });
  }
}

export interface PruneResult {
  readonly dry_run: boolean;
  readonly retention: BackupRetention;
  readonly kept: BackupEntry[];
  readonly deleted: BackupEntry[];
}

/**
 * Applies retention: a backup goes when it is older than `days` or beyond the newest `count`
 * (0 turns either limit off). The newest full backup of each database kind always stays, so a
 * prune can never leave nothing to restore from.
 */
export async function pruneBackups(
  backupDir: string,
  retention: BackupRetention,
  options: { readonly dryRun?: boolean; readonly now?: number } = {},
): Promise<PruneResult> {
  const now = options.now ?? Date.now();
  const backups = await listBackups(backupDir);
  const protectedNames = new Set<string>();
  for (const kind of ['sqlite', 'mariadb'] as const) {
    const newest = backups.find((b) => b.database === kind && b.type === 'full');
    if (newest) protectedNames.add(newest.name);
  }
  const kept: BackupEntry[] = [];
  const deleted: BackupEntry[] = [];
  backups.forEach((backup, index) => {
    const tooOld = retention.days > 0 && now - Date.parse(backup.created_at) > retention.days * 86_400_000;
    const tooMany = retention.count > 0 && index >= retention.count;
    if ((tooOld || tooMany) && !protectedNames.has(backup.name)) deleted.push(backup);
    else kept.push(backup);
  });
  if (!options.dryRun) {
    const dir = resolve(backupDir);
    for (const backup of deleted) await rm(join(dir, backup.name), { force: true });
    await removeAbandonedPartials(dir);
  }
  return { dry_run: options.dryRun ?? false, retention, kept, deleted };
}

export class UnknownBackupError extends BackupError {
  constructor(name: string) {
    super(`no backup named ${name}`);
    this.name = 'UnknownBackupError';
  }
}

export interface OpenedBackup {
  readonly name: string;
  readonly size_bytes: number;
  readonly stream: ReadStream;
}

/**
 * Opens one backup of `backupDir` for download, by name only (no path can be given). The file
 * must be a regular file — a symlink is refused, not followed — and is made owner-only if
 * someone loosened it; the stream reads the open descriptor, so a rename meanwhile cannot swap it.
 */
export async function openBackup(backupDir: string, name: string): Promise<OpenedBackup> {
  if (!BACKUP_NAME.test(name)) throw new UnknownBackupError(name);
  const path = join(resolve(backupDir), name);
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ELOOP') throw new UnknownBackupError(name);
    throw error;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new UnknownBackupError(name);
    if ((info.mode & 0o077) !== 0) await handle.chmod(0o600);
    return { name, size_bytes: info.size, stream: handle.createReadStream() };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

export interface RestoreOptions {
  /** Restore even while gateway processes are live on the database (they must be restarted). */
  readonly force?: boolean;
  /** Where a bare backup name (as `backup list` shows it) is looked up. */
  readonly backupDir?: string;
  readonly logger?: Logger;
}

export interface RestoreResult {
  readonly file: string;
  /** Gateway processes that were live on the database (only ever non-empty with `force`). */
  readonly live: readonly LiveInstance[];
}

async function resolveBackupFile(file: string, backupDir: string | undefined): Promise<string> {
  const given = resolve(file);
  if (await stat(given).catch(() => undefined)) return given;
  if (backupDir && BACKUP_NAME.test(file)) {
    const named = join(resolve(backupDir), file);
    if (await stat(named).catch(() => undefined)) return named;
  }
  throw new BackupError(`no backup file at ${given}`);
}

/**
 * A backup of a running gateway holds that process's heartbeat; restored, the row would claim
 * a process is live on the restored database that never ran on it. Heartbeats are the state of
 * processes, not data: the restored copy starts without them.
 */
function clearLeasesOf(file: string): void {
  const db = new DatabaseSync(file);
  try {
    const table = db
      .prepare("select 1 from sqlite_master where type = 'table' and name = 'heartbeats'")
      .get();
    if (table) db.exec('delete from heartbeats');
  } finally {
    db.close();
  }
}

/** Gateway processes live on the configured database (their heartbeat leases). */
export async function liveOnDatabase(config: DatabaseConfig, logger?: Logger): Promise<LiveInstance[]> {
  if (config.kind === 'sqlite' && !(await stat(config.file).catch(() => undefined))) return [];
  let database: Database;
  try {
    database = await openDatabase(config, logger ?? createLogger({ level: 'silent' }));
  } catch (error) {
    const where = config.kind === 'sqlite' ? config.file : config.display;
    throw new BackupError(
      `cannot check whether a gateway is live on ${where} (${error instanceof Error ? error.message : String(error)}); pass --force to restore without the check`,
    );
  }
  try {
    return await liveInstances(database);
  } finally {
    await database.close();
  }
}

/**
 * Restores a full backup into the configured database, refused while a gateway process is live
 * on it (unless `force`): a running SQLite gateway keeps serving the file it has open, and any
 * gateway would go on writing over what was restored. SQLite: the file replaces DATA_DIR's
 * database after an integrity check, stale -wal/-shm removed first. MariaDB: the dump is loaded
 * into the (fresh or existing) database named by DATABASE_URL.
 */
export async function restoreBackup(
  config: DatabaseConfig,
  file: string,
  options: RestoreOptions = {},
): Promise<RestoreResult> {
  const source = await resolveBackupFile(file, options.backupDir);
  if (config.kind === 'sqlite') {
    if (!source.endsWith('.sqlite'))
      throw new BackupError('an SQLite restore takes a full backup (*.sqlite)');
    const check = new DatabaseSync(source, { readOnly: true });
    try {
      const row = check.prepare('PRAGMA integrity_check').get() as { integrity_check?: string } | undefined;
      if (row?.integrity_check !== 'ok')
        throw new BackupError(`${basename(source)} failed its integrity check`);
    } finally {
      check.close();
    }
  }
  const live = options.force
    ? await liveOnDatabase(config, options.logger).catch(() => [])
    : await liveOnDatabase(config, options.logger);
  if (live.length > 0 && !options.force) {
    const where = config.kind === 'sqlite' ? config.file : config.display;
    throw new BackupError(
      `refusing to restore: ${live.length === 1 ? 'a gateway process is' : `${live.length} gateway processes are`} live on ${where}: ${describeInstances(live)}. Stop ${live.length === 1 ? 'it' : 'them'} first, or pass --force and restart ${live.length === 1 ? 'it' : 'them'} right after`,
    );
  }
  if (config.kind === 'sqlite') {
    const dir = dirname(config.file);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const staged = join(dir, `.${basename(config.file)}.restore-${randomBytes(4).toString('hex')}`);
    try {
      await copyFile(source, staged);
      await chmod(staged, 0o600);
      clearLeasesOf(staged);
      // The old WAL must never be replayed over the restored file: it goes before the swap.
      await rm(`${config.file}-wal`, { force: true });
      await rm(`${config.file}-shm`, { force: true });
      await rename(staged, config.file);
    } finally {
      for (const file of [staged, `${staged}-wal`, `${staged}-shm`]) await rm(file, { force: true });
    }
    return { file: source, live };
  }
  const client = await program(['mariadb', 'mysql']);
  const dir = resolve(source, '..');
  await withDefaultsFile(config, dir, (defaults) =>
    run(client, [`--defaults-extra-file=${defaults}`, '--default-character-set=utf8mb4', config.database], {
      stdin: source,
    }),
  );
  const restored = await openDatabase(config, options.logger ?? createLogger({ level: 'silent' }));
  try {
    // See clearLeasesOf; a process still live (with --force) writes its row again within seconds.
    await restored.db.deleteFrom('heartbeats').execute();
  } finally {
    await restored.close();
  }
  return { file: source, live };
}
