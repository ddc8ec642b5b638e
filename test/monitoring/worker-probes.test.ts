// A worker and a scheduler have no API port: an orchestrator probes them on METRICS_PORT, where
// /health and /ready answer as on an API process — with metrics on, and with ENABLE_METRICS=false
// too (the probes stay, /metrics is 404).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/app.ts';
import { createStack, redisAvailable, startTestGateway, type SharedStack } from '../nostr/support.ts';

describe.runIf(redisAvailable)('worker and scheduler probes on METRICS_PORT', () => {
  let stack: SharedStack;
  const gateways: Gateway[] = [];

  beforeAll(async () => {
    stack = await createStack();
  });
  afterAll(async () => {
    for (const gateway of gateways) await gateway.stop();
    await stack?.drop();
  });

  it('a worker answers /health and /ready there, naming its dependencies', async () => {
    const worker = await startTestGateway({ stack, roles: ['worker'] });
    gateways.push(worker);
    expect(worker.httpUrl).toBeUndefined();
    expect(worker.metricsUrl).toBe(`${worker.probeUrl}/metrics`);
    const health = await fetch(`${worker.probeUrl}/health`);
    expect(health.status).toBe(200);
    const body = (await health.json()) as { status: string; dependencies: Record<string, unknown> };
    expect(Object.keys(body.dependencies)).toEqual(expect.arrayContaining(['database', 'redis', 'arkd']));
    const ready = await fetch(`${worker.probeUrl}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true, shutting_down: false });
    expect((await fetch(`${worker.probeUrl}/metrics`)).status).toBe(200);
  });

  it('a scheduler with ENABLE_METRICS=false keeps its probes; /metrics is 404; /ready is 503 once it stops', async () => {
    const scheduler = await startTestGateway({
      stack,
      roles: ['scheduler'],
      env: { ENABLE_METRICS: 'false' },
    });
    expect(scheduler.metricsUrl).toBeUndefined();
    const address = scheduler.probeUrl!;
    expect((await fetch(`${address}/health`)).status).toBe(200);
    expect((await fetch(`${address}/ready`)).status).toBe(200);
    const metrics = await fetch(`${address}/metrics`);
    expect(metrics.status).toBe(404);
    expect(await metrics.text()).toContain('ENABLE_METRICS=false');
    scheduler.readiness.beginShutdown();
    const stopping = await fetch(`${address}/ready`);
    expect(stopping.status).toBe(503);
    expect(await stopping.json()).toMatchObject({ ready: false, shutting_down: true });
    await scheduler.stop();
  });
});
