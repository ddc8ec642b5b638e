// `arkrelay migrate` against a real, empty MariaDB database (when DATABASE_URL is set).
import { createConnection } from 'mysql2/promise';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { TABLE_NAMES } from '../src/store/schema.ts';
import { runCli } from './support/cli.ts';
import { simulatedProduction } from './support/production-env.ts';

const serverUrl = process.env.DATABASE_URL;

describe.skipIf(!serverUrl)('arkrelay migrate on MariaDB', () => {
  const name = `arkrelay_cli_${randomBytes(4).toString('hex')}`;
  const url = new URL(serverUrl ?? 'mysql://root@127.0.0.1/test');
  const connect = () =>
    createConnection({
      host: url.hostname,
      port: Number(url.port || 3306),
      user: decodeURIComponent(url.username || 'root'),
      password: decodeURIComponent(url.password),
    });
  const env = () => {
    const target = new URL(url.toString());
    target.pathname = `/${name}`;
    return { DATABASE_URL: target.toString(), SECRET_KEY: 'k'.repeat(40) };
  };

  afterAll(async () => {
    const conn = await connect();
    await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
    await conn.end();
  });

  it('creates every table on an empty database, and a second run is a no-op', async () => {
    const conn = await connect();
    await conn.query(`CREATE DATABASE \`${name}\``);

    const first = runCli(['migrate'], env());
    expect((await first.exited).code).toBe(0);
    expect(first.stdout()).toMatch(/applied \d+ migration\(s\)/);

    const [rows] = await conn.query(
      `SELECT table_name AS t FROM information_schema.tables WHERE table_schema = ?`,
      [name],
    );
    const tables = (rows as { t: string }[]).map((r) => r.t);
    expect([...tables].sort()).toEqual([...TABLE_NAMES, 'kysely_migration', 'kysely_migration_lock'].sort());

    const second = runCli(['migrate'], env());
    expect((await second.exited).code).toBe(0);
    expect(second.stdout()).toContain('database is up to date');
    const [after] = await conn.query(
      `SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = ?`,
      [name],
    );
    expect((after as { n: number }[])[0]!.n).toBe(tables.length);
    await conn.end();
  });

  it('refuses to serve on a schema that is behind, naming DATABASE_URL', async () => {
    const conn = await connect();
    const behind = `${name}_empty`;
    await conn.query(`CREATE DATABASE \`${behind}\``);
    try {
      const target = new URL(url.toString());
      target.pathname = `/${behind}`;
      const run = runCli(
        ['serve'],
        simulatedProduction({ DATABASE_URL: target.toString(), SECRET_KEY: 'k'.repeat(40), PORT: '0' }),
      );
      expect((await run.exited).code).not.toBe(0);
      expect(run.stderr().trim()).toMatch(
        /^arkrelay: DATABASE_URL: database schema of .* migration\(s\) behind; run `arkrelay migrate`$/,
      );
    } finally {
      await conn.query(`DROP DATABASE IF EXISTS \`${behind}\``);
      await conn.end();
    }
  });
});
