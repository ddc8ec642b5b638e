// Database backups and restores. MariaDB through mariadb-dump, SQLite through its online
// backup API. Credentials travel in a 0600 defaults file next to the backups, never on a
// command line (where `ps` shows them); every file is owner-only, in BACKUP_DIR, never /tmp.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, copyFile, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { finished } from 'node:stream/promises';
import { DatabaseSync } from 'node:sqlite';
import { sql } from 'kysely';
import type { DatabaseConfig, MariaDbConfig } from '../config.ts';
import type { Database } from '../store/database.ts';

export type BackupType = 'full' | 'schema';

export interface BackupResult {
  readonly id: string;
  readonly type: BackupType;
  readonly database: 'sqlite' | 'mariadb';
  readonly path: string;
  readonly size_bytes: number;
  readonly sha256: string;
  readonly created_at: string;
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

export async function createBackup(
  database: Database,
  config: DatabaseConfig,
  backupDir: string,
  type: BackupType,
  now = new Date(),
): Promise<BackupResult> {
  const dir = resolve(backupDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const id = backupId(config.kind, type, now);
  let path: string;
  if (config.kind === 'sqlite') {
    path = join(dir, `${id}.${type === 'full' ? 'sqlite' : 'sql'}`);
    if (type === 'schema') await sqliteSchemaDump(database, path);
    else {
      if (!database.backupTo) throw new BackupError('this database cannot make an online backup');
      await database.backupTo(path);
    }
  } else {
    path = join(dir, `${id}.sql`);
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
        { stdout: path },
      ),
    );
  }
  await chmod(path, 0o600);
  const info = await stat(path);
  return {
    id,
    type,
    database: config.kind,
    path,
    size_bytes: info.size,
    sha256: await sha256Of(path),
    created_at: now.toISOString(),
  };
}

/**
 * Restores a full backup into the configured database. SQLite: the gateway must be stopped;
 * the file replaces DATA_DIR's database after an integrity check. MariaDB: the dump is loaded
 * into the (fresh or existing) database named by DATABASE_URL.
 */
export async function restoreBackup(config: DatabaseConfig, file: string): Promise<void> {
  const source = resolve(file);
  await stat(source).catch(() => {
    throw new BackupError(`no backup file at ${source}`);
  });
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
    await mkdir(resolve(config.file, '..'), { recursive: true, mode: 0o700 });
    // A stale WAL from the replaced database must not be replayed over the restored one.
    await rm(`${config.file}-wal`, { force: true });
    await rm(`${config.file}-shm`, { force: true });
    await copyFile(source, config.file);
    await chmod(config.file, 0o600);
    return;
  }
  const client = await program(['mariadb', 'mysql']);
  const dir = resolve(source, '..');
  await withDefaultsFile(config, dir, (defaults) =>
    run(client, [`--defaults-extra-file=${defaults}`, '--default-character-set=utf8mb4', config.database], {
      stdin: source,
    }),
  );
}
