// Every daemon call is reported to the call observer (daemon, operation, outcome, seconds), so the
// daemon_call_seconds histogram shows real calls: through a simulator, through a real client
// against its wire fake, and through the guard with retries counted once, outcome last.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RealArk } from '../../src/backends/ark/client.ts';
import { createBackends } from '../../src/backends/index.ts';
import { ManualClock } from '../../src/backends/resilience/clock.ts';
import { classifyTransportError } from '../../src/backends/resilience/errors.ts';
import { DaemonGuard } from '../../src/backends/resilience/guard.ts';
import type { DaemonCallObserver, DaemonCallOutcome } from '../../src/backends/types.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logging.ts';
import { Metrics } from '../../src/monitoring/metrics.ts';
import { tempDir } from '../support/cli.ts';
import { ArkdFake } from './fakes/arkd-fake.ts';

type Seen = { daemon: string; operation: string; outcome: DaemonCallOutcome; seconds: number };

function recorder(): { seen: Seen[]; observe: DaemonCallObserver } {
  const seen: Seen[] = [];
  return {
    seen,
    observe: (daemon, operation, outcome, seconds) => seen.push({ daemon, operation, outcome, seconds }),
  };
}

/** The histogram's sample count for one label set, read from the registry as a scrape would. */
async function callCount(metrics: Metrics, labels: Record<string, string>): Promise<number> {
  const { values } = await metrics.daemonCallSeconds.get();
  const match = values.find(
    (v) =>
      v.metricName === 'arkrelay_daemon_call_seconds_count' &&
      Object.entries(labels).every(([k, val]) => (v.labels as Record<string, unknown>)[k] === val),
  );
  return match?.value ?? 0;
}

const logger = createLogger({ level: 'silent', logDir: undefined });

describe('daemon call observer', () => {
  it('the guard reports one call with its total time and final outcome, retries included', async () => {
    const clock = new ManualClock(0);
    const { seen, observe } = recorder();
    const guard = new DaemonGuard({
      daemon: 'tapd',
      timeoutMs: 1_000,
      clock,
      observe,
      classify: (e) => classifyTransportError(e) ?? { kind: 'rejected', message: 'no' },
      retry: { attempts: 2, baseDelayMs: 1_000, maxDelayMs: 1_000 },
    });
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    let attempts = 0;
    const call = guard.call('ListAssets', async () => {
      attempts++;
      if (attempts === 1) throw refused;
      return 'ok';
    });
    await clock.advance(1_000);
    expect(await call).toBe('ok');
    expect(seen).toEqual([{ daemon: 'tapd', operation: 'ListAssets', outcome: 'ok', seconds: 1 }]);

    await guard.call('GetInfo', () => Promise.reject(new Error('bad'))).catch(() => undefined);
    expect(seen.at(-1)).toMatchObject({ operation: 'GetInfo', outcome: 'rejected' });
  });

  it('an observer that throws never fails the call', async () => {
    const guard = new DaemonGuard({
      daemon: 'lnd',
      timeoutMs: 1_000,
      observe: () => {
        throw new Error('metrics broke');
      },
      classify: () => ({ kind: 'internal', message: 'x' }),
    });
    expect(await guard.call('GetInfo', async () => 42)).toBe(42);
  });

  it('a call through the simulated backends moves daemon_call_seconds', async () => {
    const dir = tempDir();
    const metrics = new Metrics();
    const backends = await createBackends(loadConfig({ DATA_DIR: dir }), {
      logger,
      observeCall: metrics.observeDaemonCall,
    });
    try {
      expect(await callCount(metrics, { daemon: 'arkd', method: 'getInfo', outcome: 'ok' })).toBe(0);
      await backends.ark.getInfo();
      await backends.lightning.getBalances();
      expect(await callCount(metrics, { daemon: 'arkd', method: 'getInfo', outcome: 'ok' })).toBe(1);
      expect(await callCount(metrics, { daemon: 'lnd', outcome: 'ok' })).toBe(1);
      // A refusal is counted under its kind.
      await backends.lightning.decodePaymentRequest('lnbcrt-not-an-invoice').catch(() => undefined);
      expect(
        await callCount(metrics, { daemon: 'lnd', method: 'decodePaymentRequest', outcome: 'rejected' }),
      ).toBe(1);

      // observeCalls replaces the observer (the composition root builds metrics later).
      const later = new Metrics();
      backends.observeCalls(later.observeDaemonCall);
      await backends.assets.listAssets();
      expect(await callCount(later, { daemon: 'tapd', method: 'listAssets', outcome: 'ok' })).toBe(1);
      expect(await callCount(metrics, { daemon: 'tapd', method: 'listAssets' })).toBe(0);
    } finally {
      await backends.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('real arkd client', () => {
    const fake = new ArkdFake();
    beforeAll(() => fake.start());
    afterAll(() => fake.stop());

    it('reports its calls to arkd, successes and failures', async () => {
      const metrics = new Metrics();
      const dir = tempDir();
      const backends = await createBackends(loadConfig({ DATA_DIR: dir, ARKD_URL: fake.url }), {
        logger,
        observeCall: metrics.observeDaemonCall,
      });
      try {
        expect(backends.ark).toBeInstanceOf(RealArk);
        await backends.ark.getInfo();
        expect(await callCount(metrics, { daemon: 'arkd', method: 'GetInfo', outcome: 'ok' })).toBe(1);
        fake.faults.failNext({ status: 400, message: 'bad', grpcCode: 3 });
        await backends.ark.listVtxos({ scripts: ['51'] }).catch(() => undefined);
        expect(await callCount(metrics, { daemon: 'arkd', method: 'GetVtxos', outcome: 'rejected' })).toBe(1);
      } finally {
        fake.faults.heal();
        await backends.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
