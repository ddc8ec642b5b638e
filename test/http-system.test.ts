import { describe, expect, it } from 'vitest';
import { systemRoutes } from '../src/http/routes/system.ts';
import { createHttpServer } from '../src/http/server.ts';
import { createLogger } from '../src/logging.ts';
import { HealthRegistry } from '../src/monitoring/health.ts';
import { Readiness } from '../src/monitoring/readiness.ts';

/** A dependency whose availability the test switches, checked through the real registry. */
function switchable(name: string, critical: boolean) {
  const state = { up: true };
  return {
    state,
    check: {
      name,
      critical,
      check: async () => {
        if (!state.up) throw new Error(`${name} refused the connection`);
        return { details: { kind: name } };
      },
    },
  };
}

async function setup() {
  const health = new HealthRegistry();
  const readiness = new Readiness();
  const database = switchable('database', true);
  const redis = switchable('redis', true);
  const relay = switchable('relay', false);
  for (const dep of [database, redis, relay]) health.register(dep.check);
  readiness.require('database');
  readiness.require('queue');
  const app = await createHttpServer(createLogger({ level: 'silent' }), [
    systemRoutes({
      instanceId: 'test-1',
      roles: ['api'],
      mode: { mode: 'production' },
      startedAt: new Date(),
      readiness,
      health,
      readinessChecks: ['database', 'redis'],
    }),
  ]);
  return { app, readiness, database, redis, relay };
}

describe('health and readiness', () => {
  it('answers /ready 503 until every gate is open, and 503 again while shutting down', async () => {
    const { app, readiness } = await setup();
    let response = await app.inject('/ready');
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({ ready: false, gates: { database: { open: false } } });
    readiness.open('database');
    expect((await app.inject('/ready')).statusCode).toBe(503);
    readiness.open('queue');
    response = await app.inject('/ready');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ ready: true, dependencies: { database: { status: 'up' } } });
    readiness.beginShutdown();
    expect((await app.inject('/ready')).statusCode).toBe(503);
  });

  it('answers /ready 503 when a live critical check fails after start', async () => {
    const { app, readiness, redis } = await setup();
    readiness.open('database');
    readiness.open('queue');
    redis.state.up = false;
    const response = await app.inject('/ready');
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({ ready: false, dependencies: { redis: { status: 'down' } } });
  });

  it('answers /health 503 naming a critical dependency that is down, and recovers', async () => {
    const { app, redis } = await setup();
    expect((await app.inject('/health')).json()).toMatchObject({ status: 'healthy' });
    redis.state.up = false;
    const down = await app.inject('/health');
    expect(down.statusCode).toBe(503);
    expect(down.json()).toMatchObject({
      status: 'unhealthy',
      dependencies: {
        redis: { status: 'down', critical: true, error: 'redis refused the connection' },
        database: { status: 'up' },
      },
    });
    redis.state.up = true;
    expect((await app.inject('/health')).statusCode).toBe(200);
  });

  it('stays 200 but degraded when only a non-critical dependency is down', async () => {
    const { app, relay } = await setup();
    relay.state.up = false;
    const response = await app.inject('/health');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      status: 'degraded',
      dependencies: { relay: { status: 'down', critical: false } },
    });
  });

  it('times out a hanging check instead of hanging the probe', async () => {
    const health = new HealthRegistry();
    health.register({ name: 'stuck', critical: true, check: () => new Promise(() => {}) });
    const started = Date.now();
    const report = await health.report();
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(report.dependencies.stuck).toMatchObject({ status: 'down', error: 'no answer within 2000 ms' });
  });

  it('serves GET /, an OpenAPI document of the routes, and stable error codes', async () => {
    const { app } = await setup();
    expect((await app.inject('/')).json()).toMatchObject({
      name: 'arkrelay',
      instance: 'test-1',
      roles: ['api'],
    });
    const spec = (await app.inject('/openapi.json')).json() as { paths: Record<string, unknown> };
    expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(['/', '/ready', '/health']));
    const missing = await app.inject('/nope');
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ error: { code: 'not_found', message: 'no route GET /nope' } });
  });
});
