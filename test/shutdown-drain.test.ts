// A load balancer probing /ready must see 503 before the listener closes: on SIGTERM an API
// process answers /ready 503 at once, keeps serving for SHUTDOWN_DRAIN_MS, then closes and exits.
import { describe, expect, it } from 'vitest';
import { logLines, runCli } from './support/cli.ts';
import { waitFor } from './support/wait.ts';

const DRAIN_MS = 2_500;

describe('graceful stop behind a load balancer', () => {
  it('answers /ready 503 for SHUTDOWN_DRAIN_MS with the listener open, then exits cleanly', async () => {
    const run = runCli(['dev'], { PORT: '0', LOG_LEVEL: 'info', SHUTDOWN_DRAIN_MS: String(DRAIN_MS) });
    const started = await waitFor(
      () => logLines(run.stdout()).find((l) => l.msg === 'arkrelay started'),
      30_000,
      'the start line',
    );
    const url = started.http as string;
    await waitFor(
      async () => (await fetch(`${url}/ready`)).status === 200 || undefined,
      30_000,
      '/ready 200',
    );

    const signalledAt = Date.now();
    run.child.kill('SIGTERM');
    const seen: { at: number; status: number | 'refused' }[] = [];
    let exited = false;
    void run.exited.then(() => (exited = true));
    while (!exited && Date.now() - signalledAt < 15_000) {
      const status = await fetch(`${url}/ready`).then(
        (r) => r.status,
        () => 'refused' as const,
      );
      seen.push({ at: Date.now() - signalledAt, status });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect((await run.exited).code).toBe(0);
    // 503 from the first probe after the signal until the listener closes; never 200 again.
    const answered = seen.filter((s) => s.status !== 'refused');
    expect(answered.length).toBeGreaterThan(0);
    expect(answered.every((s) => s.status === 503)).toBe(true);
    // The listener stayed open for the drain: refusals only after it (the listener closes when
    // the drain's timer fires, so load can only make them later), and answers until late in it
    // (a probe every 100 ms, each slower on a loaded machine: a second of slack before the end).
    const firstRefusal = seen.find((s) => s.status === 'refused');
    const lastAnswer = answered.at(-1)!;
    expect(lastAnswer.at).toBeGreaterThanOrEqual(DRAIN_MS - 1_000);
    if (firstRefusal) expect(firstRefusal.at).toBeGreaterThanOrEqual(DRAIN_MS - 300);
  }, 60_000);
});
