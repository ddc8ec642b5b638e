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
  ])('refuses to start with one line naming the variable (%o)', async (env, expected) => {
    const run = runCli(['dev'], { PORT: '0', ...env });
    const { code } = await run.exited;
    expect(code).not.toBe(0);
    const lines = run.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(expected);
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
