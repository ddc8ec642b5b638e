import { describe, expect, it } from 'vitest';
import { backendHealthChecks } from '../src/backends/health.ts';
import { createBackends } from '../src/backends/index.ts';
import { BackendError } from '../src/backends/types.ts';
import { loadConfig } from '../src/config.ts';
import { DependencyUnavailableError } from '../src/errors.ts';
import { QUEUE_READ_DEADLINE_MS } from '../src/http/operations.ts';
import { queueRoutes } from '../src/http/routes/queue.ts';
import { systemRoutes } from '../src/http/routes/system.ts';
import { createHttpServer } from '../src/http/server.ts';
import type { JobQueue } from '../src/jobs/index.ts';
import { createLogger } from '../src/logging.ts';
import { PoolTimeoutError } from '../src/store/mysql-pool.ts';
import { connectionRefused } from './monitoring/support.ts';
import { LogCapture } from './nostr/support.ts';
import { tempDir } from './support/cli.ts';
import { silentLogger } from './support/test-database.ts';
import { CHECK_TIMEOUT_MS, HealthRegistry } from '../src/monitoring/health.ts';
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

  it('answers within a second when checks hang, and a check that bounds itself gives its own reason', async () => {
    const health = new HealthRegistry();
    health.register({ name: 'stuck', critical: true, check: () => new Promise(() => {}) });
    const given: number[] = [];
    health.register({
      name: 'bounded',
      critical: true,
      check: (timeoutMs) => {
        given.push(timeoutMs);
        return new Promise((_, reject) =>
          setTimeout(() => reject(new Error('refused after waiting')), timeoutMs),
        );
      },
    });
    const started = Date.now();
    const report = await health.report();
    // The deadline is what answers: the hanging check is cut off at 900 ms (its error says so).
    // The wall-clock bound only shows nothing waited on the hang; 3× leaves room for a loaded machine.
    expect(Date.now() - started).toBeLessThan(3 * 900);
    expect(given).toEqual([CHECK_TIMEOUT_MS]);
    expect(report.dependencies.stuck).toMatchObject({ status: 'down', error: 'no answer within 900 ms' });
    expect(report.dependencies.bounded).toMatchObject({ status: 'down', error: 'refused after waiting' });
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

describe('simulated daemons in /health', () => {
  async function withSimulators(production: boolean) {
    const backends = await createBackends(loadConfig({ DATA_DIR: tempDir() }), { logger: silentLogger });
    const health = new HealthRegistry({ simulatedDegrades: production });
    health.register({ name: 'database', critical: true, check: async () => ({}) });
    for (const check of backendHealthChecks(backends)) health.register(check);
    const app = await createHttpServer(silentLogger, [
      systemRoutes({
        instanceId: 'test-1',
        roles: ['api'],
        mode: {},
        startedAt: new Date(),
        readiness: new Readiness(),
        health,
        readinessChecks: [],
      }),
    ]);
    return { app, backends };
  }

  it('a production deployment on a simulated daemon is degraded (200), each daemon reported simulated', async () => {
    const { app, backends } = await withSimulators(true);
    try {
      const response = await app.inject('/health');
      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({
        status: 'degraded',
        dependencies: {
          database: { status: 'up' },
          arkd: { status: 'simulated', critical: true, details: { mode: 'sim' } },
          tapd: { status: 'simulated' },
          lnd: { status: 'simulated' },
        },
      });
      expect(backends.all().map((b) => b.status().mode)).toEqual(['sim', 'sim', 'sim']);
    } finally {
      await backends.close();
    }
  });

  it('the embedded default (simulated by design) reports them simulated and stays healthy', async () => {
    const { app, backends } = await withSimulators(false);
    try {
      expect((await app.inject('/health')).json()).toMatchObject({
        status: 'healthy',
        dependencies: { arkd: { status: 'simulated' } },
      });
    } finally {
      await backends.close();
    }
  });
});

describe('outages answer 503 naming the dependency', () => {
  async function failingWith(error: () => unknown) {
    return createHttpServer(silentLogger, [
      async (app) => {
        app.get('/boom', async () => {
          throw error();
        });
      },
    ]);
  }

  it.each([
    ['a refused MariaDB connection', () => connectionRefused(), 'database'],
    ['an exhausted database pool', () => new PoolTimeoutError(1000, 10), 'database'],
    ['SQLite still busy', () => Object.assign(new Error('database is locked'), { errcode: 5 }), 'database'],
    [
      'Redis unreachable',
      () => new DependencyUnavailableError('redis', 'redis at x is unreachable'),
      'redis',
    ],
    [
      'a wrapped database failure',
      () => new Error('could not read the ledger', { cause: connectionRefused() }),
      'database',
    ],
    ['arkd unreachable', () => new BackendError('arkd', 'unavailable', 'connect ECONNREFUSED'), 'arkd'],
    ['an open breaker', () => new BackendError('lnd', 'circuit_open', 'breaker open'), 'lnd'],
  ])('%s → 503 dependency_unavailable', async (_what, error, dependency) => {
    const app = await failingWith(error);
    const response = await app.inject('/boom');
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBe('5');
    expect(response.json()).toEqual({
      error: {
        code: 'dependency_unavailable',
        message: `${dependency} is unavailable; try again shortly`,
        dependency,
      },
    });
  });

  it.each([
    ['a bug', () => new Error('undefined is not a function')],
    [
      'a network error that is no database error',
      () => Object.assign(new Error('x'), { code: 'ECONNREFUSED' }),
    ],
  ])('%s stays a 500', async (_what, error) => {
    const response = await (await failingWith(error)).inject('/boom');
    expect(response.statusCode).toBe(500);
    expect(response.json()).toEqual({ error: { code: 'internal_error', message: 'internal error' } });
  });

  it('a daemon refusing the request is a 400 with its reason, not an outage', async () => {
    const response = await (
      await failingWith(() => new BackendError('arkd', 'rejected', 'ECONNREFUSED in its text'))
    ).inject('/boom');
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({
      error: { code: 'validation_failed', message: 'arkd: ECONNREFUSED in its text' },
    });
  });

  it('/queue-status answers 503 naming redis within a second while Redis does not answer', async () => {
    const queue = {
      kind: 'bullmq',
      stats: () => new Promise(() => {}),
    } as unknown as JobQueue;
    const app = await createHttpServer(silentLogger, [queueRoutes(queue)]);
    const started = Date.now();
    const response = await app.inject('/queue-status');
    // Answered by its deadline (QUEUE_READ_DEADLINE_MS), not by the read that never ends.
    expect(Date.now() - started).toBeLessThan(3 * QUEUE_READ_DEADLINE_MS);
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({ error: { code: 'dependency_unavailable', dependency: 'redis' } });
  });

  it('logs an outage once per interval with a count, not once per request', async () => {
    const capture = new LogCapture('info');
    const app = await createHttpServer(capture.logger, [
      async (a) => {
        a.get('/boom', async () => {
          throw connectionRefused();
        });
      },
    ]);
    for (let i = 0; i < 20; i++) expect((await app.inject('/boom')).statusCode).toBe(503);
    const lines = capture.text.split('\n').filter((l) => l.includes('requests needing database'));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'warn', dependency: 'database', failures: 1 });
    expect(capture.text).not.toContain('"stack"');
  });
});
