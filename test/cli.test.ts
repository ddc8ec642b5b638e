import { describe, expect, it } from 'vitest';
import { logLines, runCli } from './support/cli.ts';
import { waitFor } from './support/wait.ts';

describe('arkrelay command', () => {
  it.each([
    [{ PORT: '80a' }, /^arkrelay: PORT: must be a whole number from 0 to 65535 \(got "80a"\)$/],
    [
      { DATABASE_URL: 'mysql//root@localhost/db', SECRET_KEY: 'x'.repeat(32) },
      /^arkrelay: DATABASE_URL: must be a URL like mysql:\/\//,
    ],
    [
      { REDIS_URL: 'redis://127.0.0.1:6390' },
      /^arkrelay: REDIS_URL: cannot connect to redis:\/\/127\.0\.0\.1:6390/,
    ],
    // The original guide's daemon variables: a port without its host, a credential the arkd
    // client cannot use, and a name that is no variable at all are never silently ignored.
    [{ ARKD_PORT: '7070' }, /^arkrelay: ARKD_PORT: is set but ARKD_HOST is not; set ARKD_HOST too$/],
    [
      { ARKD_URL: 'https://ark:7070', ARKD_TLS_CERT: '/etc/arkd/tls.cert' },
      /^arkrelay: ARKD_TLS_CERT: cannot be used: /,
    ],
    [{ ARKD_FOO: '1' }, /^arkrelay: ARKD_FOO: is not a variable ArkRelay reads \(it reads ARKD_MODE, /],
  ])('refuses to start with one line naming the variable (%o)', async (env, expected) => {
    const run = runCli(['dev'], { PORT: '0', ...env });
    const { code } = await run.exited;
    expect(code).not.toBe(0);
    const lines = run.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(expected);
  });

  it('refuses to serve production on a daemon simulated by default: exit 2, one line naming the variable', async () => {
    // The refusal comes before the database is opened: nothing listens on that port.
    const run = runCli(['serve'], {
      PORT: '0',
      DATABASE_URL: 'mysql://root@127.0.0.1:1/arkrelay',
      SECRET_KEY: 'x'.repeat(32),
      ARKD_HOST: '127.0.0.1',
      ARKD_PORT: '7070',
      TAPD_MODE: 'sim',
      NOSTR_RELAYS: 'wss://relay.example',
    });
    expect((await run.exited).code).toBe(2);
    expect(run.stderr().trim().split('\n')).toEqual([
      'arkrelay: LND_MODE: lnd would be simulated in production (DATABASE_URL is set); set LND_HOST to the real lnd, or LND_MODE=sim to run the simulator on purpose',
    ]);
    // The log says it too, at error, naming the variable.
    expect(logLines(run.stdout())).toContainEqual(expect.objectContaining({ variable: 'LND_MODE' }));
  });

  it('refuses to serve production without NOSTR_RELAYS, saying what to set', async () => {
    const run = runCli(['serve'], {
      PORT: '0',
      DATABASE_URL: 'mysql://root@127.0.0.1:1/arkrelay',
      SECRET_KEY: 'x'.repeat(32),
      ARKD_MODE: 'sim',
      TAPD_MODE: 'sim',
      LND_MODE: 'sim',
    });
    expect((await run.exited).code).toBe(2);
    expect(run.stderr().trim().split('\n')).toEqual([
      'arkrelay: NOSTR_RELAYS: is required in production (DATABASE_URL is set): set it to the relays wallets use, the same list on every API process (or NOSTR_EMBEDDED_RELAY=true for one API process on one host)',
    ]);
  });

  it('refuses a separate worker without Redis, naming REDIS_URL', async () => {
    const run = runCli(['worker']);
    expect((await run.exited).code).not.toBe(0);
    expect(run.stderr().trim()).toMatch(/^arkrelay: REDIS_URL: is required by `arkrelay worker`/);
  });

  it('starts the embedded default, becomes ready, and stops gracefully on SIGTERM', async () => {
    const run = runCli(['dev'], { PORT: '0', LOG_LEVEL: 'info' });
    const started = await waitFor(
      () => logLines(run.stdout()).find((l) => l.msg === 'arkrelay started'),
      30_000,
      'the start line',
    );
    const url = started.http as string;
    const ready = await waitFor(
      async () => {
        const response = await fetch(`${url}/ready`);
        return response.status === 200 ? response : undefined;
      },
      30_000,
      '/ready = 200',
    );
    expect(await ready.json()).toMatchObject({
      ready: true,
      gates: { database: { open: true }, queue: { open: true } },
    });
    const root = (await (await fetch(`${url}/`)).json()) as Record<string, unknown>;
    expect(root).toMatchObject({
      name: 'arkrelay',
      mode: { mode: 'embedded', storage: 'sqlite', queue: 'in-process' },
    });

    run.child.kill('SIGTERM');
    const { code } = await run.exited;
    expect(code).toBe(0);
    const messages = logLines(run.stdout()).map((l) => l.msg);
    expect(messages).toContain('shutting down');
    expect(messages.at(-1)).toBe('shutdown complete');
    expect(run.stderr()).toBe('');
  });
});
