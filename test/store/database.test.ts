import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { Secret, type MariaDbConfig } from '../../src/config.ts';
import { StartupError } from '../../src/errors.ts';
import { isTransientConflict } from '../../src/store/db-errors.ts';
import { openDatabase } from '../../src/store/database.ts';
import { PoolTimeoutError } from '../../src/store/mysql-pool.ts';
import { NodeSqliteDatabase } from '../../src/store/sqlite-dialect.ts';
import {
  createTestDatabase,
  mariadbAvailable,
  mariadbConfigFor,
  silentLogger,
  type TestDatabase,
} from '../support/test-database.ts';

const PASSWORD = 'hunter2-do-not-print';

function unreachable(): MariaDbConfig {
  return {
    kind: 'mariadb',
    host: '127.0.0.1',
    port: 3399,
    user: 'root',
    password: new Secret(PASSWORD),
    database: 'x',
    poolSize: 2,
    maxOverflow: 0,
    poolTimeoutMs: 2_000,
    connectTimeoutMs: 2_000,
    display: 'mysql://root:***@127.0.0.1:3399/x',
  };
}

async function startupError(open: Promise<unknown>): Promise<StartupError> {
  try {
    await open;
  } catch (error) {
    if (error instanceof StartupError) return error;
    throw error;
  }
  throw new Error('the database opened');
}

const temp: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'arkrelay-db-'));
  temp.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of temp.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('openDatabase on MariaDB', () => {
  it('stops the start with one line naming DATABASE_URL when the server is unreachable', async () => {
    const error = await startupError(openDatabase(unreachable(), silentLogger));
    expect(error.variable).toBe('DATABASE_URL');
    expect(error.message).toBe(
      'DATABASE_URL: cannot connect to mysql://root:***@127.0.0.1:3399/x (ECONNREFUSED)',
    );
    expect(error.message).not.toContain(PASSWORD);
  });

  describe.skipIf(!mariadbAvailable)('with a server', () => {
    it('names the refusal without the password when the credentials are wrong', async () => {
      const config = {
        ...mariadbConfigFor('mysql'),
        password: new Secret(PASSWORD),
        user: 'arkrelay_nobody',
      };
      const error = await startupError(openDatabase(config, silentLogger));
      expect(error.message).toMatch(
        /^DATABASE_URL: cannot connect to mysql:\/\/.* \(ER_ACCESS_DENIED_ERROR: .*\)$/,
      );
      expect(error.message).not.toContain(PASSWORD);
      expect(error.message.split('\n')).toHaveLength(1);
    });

    it('names a database that does not exist', async () => {
      const error = await startupError(openDatabase(mariadbConfigFor('arkrelay_missing_db'), silentLogger));
      expect(error.message).toContain('ER_BAD_DB_ERROR');
    });
  });
});

describe.skipIf(!mariadbAvailable)('the MariaDB pool', () => {
  let test: TestDatabase | undefined;
  afterEach(async () => {
    await test?.drop();
    test = undefined;
  });

  it('fails a query with a clear error when every connection stays busy past DB_POOL_TIMEOUT_MS, then recovers', async () => {
    test = await createTestDatabase('mariadb', silentLogger, {
      poolSize: 1,
      maxOverflow: 1,
      poolTimeoutMs: 300,
    });
    const { db } = test.database;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let busy = 0;
    const holders = [1, 2].map(() =>
      db.connection().execute(async (connection) => {
        await sql`select 1`.execute(connection);
        busy += 1;
        await released;
      }),
    );
    while (busy < 2) await new Promise((resolve) => setTimeout(resolve, 10));

    const started = Date.now();
    const error = await sql`select 1`.execute(db).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PoolTimeoutError);
    expect(String(error)).toContain('no free connection within 300 ms (all 2 in use');
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    await expect(test.database.ping(5_000)).rejects.toThrow(PoolTimeoutError);

    release();
    await Promise.all(holders);
    // Nothing leaked: both connections serve again.
    await Promise.all([sql`select 1`.execute(db), sql`select 2`.execute(db)]);
    expect(await test.database.ping()).toBeGreaterThanOrEqual(0);
  });

  it('runs every connection in strict mode and UTC', async () => {
    test = await createTestDatabase('mariadb');
    const row = await sql<{
      mode: string;
      zone: string;
    }>`select @@session.sql_mode as mode, @@session.time_zone as zone`.execute(test.database.db);
    expect(row.rows[0]?.mode).toContain('STRICT_ALL_TABLES');
    expect(row.rows[0]?.zone).toBe('+00:00');
  });
});

describe('openDatabase on SQLite', () => {
  it('creates an owner-only folder and file, in WAL mode with foreign keys and a busy timeout', async () => {
    const file = join(tempDir(), 'nested', 'data', 'arkrelay.sqlite');
    const database = await openDatabase({ kind: 'sqlite', file }, silentLogger);
    try {
      expect(statSync(join(file, '..')).mode & 0o777).toBe(0o700);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const pragma = async (name: string) =>
        Object.values(
          (await sql.raw<Record<string, unknown>>(`pragma ${name}`).execute(database.db)).rows[0] ?? {},
        )[0];
      expect(await pragma('journal_mode')).toBe('wal');
      expect(await pragma('foreign_keys')).toBe(1);
      expect(await pragma('busy_timeout')).toBe(5000);
      expect(await pragma('synchronous')).toBe(2); // FULL
      expect(await database.ping()).toBeGreaterThanOrEqual(0);
    } finally {
      await database.close();
    }
    await expect(database.ping()).rejects.toThrow();
    await database.close(); // a second close is harmless
  });

  it('writes loss-tolerant work without waiting for the disk, and nothing else', async () => {
    const database = await openDatabase({ kind: 'sqlite', file: join(tempDir(), 'l.sqlite') }, silentLogger);
    try {
      // PRAGMA synchronous: 1 = NORMAL (no sync at commit), 2 = FULL.
      const level = async (db = database.db) =>
        Number((await sql<{ synchronous: number }>`pragma synchronous`.execute(db)).rows[0]!.synchronous);
      expect(await level()).toBe(2);
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      const inside = database.lossTolerant(async (db) => {
        const seen = await level(db);
        await held;
        return seen;
      });
      // A query issued meanwhile waits for the connection: it never runs in the relaxed window.
      const meanwhile = level();
      await new Promise((resolve) => setTimeout(resolve, 20));
      release();
      expect(await inside).toBe(1);
      expect(await meanwhile).toBe(2);
      await expect(
        database.lossTolerant(async () => {
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await level()).toBe(2);
    } finally {
      await database.close();
    }
  });

  it('stops the start with one line naming DATA_DIR when the file cannot be opened', async () => {
    const blocker = join(tempDir(), 'not-a-dir');
    writeFileSync(blocker, 'x');
    const inside = await startupError(
      openDatabase({ kind: 'sqlite', file: join(blocker, 'arkrelay.sqlite') }, silentLogger),
    );
    expect(inside.variable).toBe('DATA_DIR');
    expect(inside.message).toMatch(
      /^DATA_DIR: cannot open database file .*not-a-dir\/arkrelay\.sqlite \(.+\)$/,
    );

    const folder = tempDir();
    const isDir = await startupError(openDatabase({ kind: 'sqlite', file: folder }, silentLogger));
    expect(isDir.message).toMatch(/^DATA_DIR: cannot open database file .* \(EISDIR\)$/);
  });

  it('refuses a file that is not a database', async () => {
    const file = join(tempDir(), 'garbage.sqlite');
    writeFileSync(file, 'this is not an SQLite database, just some text long enough to look like a header');
    const error = await startupError(openDatabase({ kind: 'sqlite', file }, silentLogger));
    expect(error.message).toMatch(
      /^DATA_DIR: cannot open database file .*garbage\.sqlite \(file is not a database\)$/,
    );
  });
});

describe('the node:sqlite adapter', () => {
  it('reads integers exactly: numbers while safe, bigints beyond', () => {
    const database = new NodeSqliteDatabase(join(tempDir(), 'a.sqlite'));
    try {
      const rows = database
        .prepare('select ? as big, ? as safe, ? as negative, 1.5 as real, null as empty')
        .all([2n ** 60n + 1n, 2 ** 53 - 1, -(2n ** 62n)]);
      expect(rows).toEqual([
        { big: 2n ** 60n + 1n, safe: 2 ** 53 - 1, negative: -(2n ** 62n), real: 1.5, empty: null },
      ]);
    } finally {
      database.close();
    }
  });

  it('reads a plain select exactly from one cached statement: numbers while safe, a bigint beyond 2^53 (read again exactly), streamed too', () => {
    const database = new NodeSqliteDatabase(join(tempDir(), 'n.sqlite'));
    try {
      database.prepare('create table t (id integer primary key, amount integer not null)').run([]);
      const insert = database.prepare('insert into t (amount) values (?)');
      insert.run([7]);
      const read = database.prepare('select amount from t order by id');
      expect(read.all([])).toEqual([{ amount: 7 }]);
      insert.run([2n ** 62n + 1n]);
      // Same cached statement: the large value is read exactly, the small one stays a number.
      expect(read.all([])).toEqual([{ amount: 7 }, { amount: 2n ** 62n + 1n }]);
      expect([...read.iterate([])]).toEqual([{ amount: 7 }, { amount: 2n ** 62n + 1n }]);
    } finally {
      database.close();
    }
  });

  it('runs a statement with RETURNING once, even when it returns a value beyond 2^53', () => {
    const database = new NodeSqliteDatabase(join(tempDir(), 'r.sqlite'));
    try {
      database.prepare('create table t (id integer primary key, amount integer not null)').run([]);
      const rows = database
        .prepare('insert into t (amount) values (?), (?) returning amount')
        .all([2n ** 62n, 3]);
      expect(rows).toEqual([{ amount: 2n ** 62n }, { amount: 3 }]);
      expect(database.prepare('select count(*) as n from t').all([])).toEqual([{ n: 2 }]);
    } finally {
      database.close();
    }
  });

  it('reuses prepared statements and keeps only the most recently used', () => {
    const database = new NodeSqliteDatabase(join(tempDir(), 'b.sqlite'), { statementCacheSize: 3 });
    try {
      const first = database.prepare('select 1');
      expect(database.prepare('select 1')).toBe(first);
      for (let i = 2; i <= 10; i++) database.prepare(`select ${i}`);
      expect(database.cachedStatements).toBe(3);
      expect(database.prepare('select 1')).not.toBe(first);
      expect(database.prepare('select 1').reader).toBe(true);
      expect(database.prepare('create table t (a integer)').reader).toBe(false);
    } finally {
      database.close();
    }
  });

  it('makes a second writer wait for the busy timeout, then report a retryable conflict', () => {
    const file = join(tempDir(), 'd.sqlite');
    const holder = new NodeSqliteDatabase(file);
    const other = new NodeSqliteDatabase(file, { busyTimeoutMs: 100 });
    try {
      holder.prepare('begin immediate').run([]);
      const started = Date.now();
      let error: unknown;
      try {
        other.prepare('begin immediate').run([]);
      } catch (e) {
        error = e;
      }
      expect(Date.now() - started).toBeGreaterThanOrEqual(90);
      expect(isTransientConflict(error), String(error)).toBe(true);
      holder.prepare('commit').run([]);
      other.prepare('begin immediate').run([]);
      other.prepare('commit').run([]);
    } finally {
      other.close();
      holder.close();
    }
  });

  it('streams rows without disturbing the cached statement', () => {
    const database = new NodeSqliteDatabase(join(tempDir(), 'c.sqlite'));
    try {
      database.prepare('create table t (a integer)').run([]);
      for (const a of [1, 2, 3]) database.prepare('insert into t values (?)').run([a]);
      const statement = database.prepare('select a from t order by a');
      const streamed: unknown[] = [];
      for (const row of statement.iterate([])) {
        streamed.push(row);
        expect(statement.all([])).toHaveLength(3);
      }
      expect(streamed).toEqual([{ a: 1 }, { a: 2 }, { a: 3 }]);
    } finally {
      database.close();
    }
  });
});
