// The composed gateway in-process: health follows its real dependencies.
import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { defineTask } from '../src/jobs/index.ts';
import { createLogger } from '../src/logging.ts';
import { openDatabase } from '../src/store/database.ts';
import { tempDir } from './support/cli.ts';
import { PrivateRedis, freePort } from './support/redis-server.ts';
import { waitFor } from './support/wait.ts';

const hasRedisServer = (() => {
  try {
    execFileSync('redis-server', ['--version']);
    return true;
  } catch {
    return false;
  }
})();

const logger = createLogger({ level: 'silent' });
let gateway: Gateway | undefined;
let redis: PrivateRedis | undefined;

afterEach(async () => {
  await gateway?.stop('test over');
  await redis?.stop();
  gateway = undefined;
  redis = undefined;
});

async function healthOf(url: string) {
  const response = await fetch(`${url}/health`);
  return {
    status: response.status,
    body: (await response.json()) as { dependencies: Record<string, { status: string }> },
  };
}

describe('gateway', () => {
  it('embedded default: healthy, ready, and the heartbeat job reaches the database', async () => {
    const dir = tempDir();
    const config = loadConfig({
      DATA_DIR: dir,
      PORT: '0',
      HOST: '127.0.0.1',
      EMBEDDED_RELAY_PORT: '0',
      METRICS_PORT: '0',
      HEARTBEAT_INTERVAL_MS: '200',
    });
    gateway = await startGateway(config, { roles: ['api'], logger });
    expect(gateway.roles).toEqual(['api', 'worker', 'scheduler']);
    const url = gateway.httpUrl!;
    expect((await fetch(`${url}/ready`)).status).toBe(200);
    const health = await healthOf(url);
    expect(health.status).toBe(200);
    expect(health.body.dependencies).toMatchObject({ database: { status: 'up' }, queue: { status: 'up' } });
    const db = gateway.database.db;
    const beat = await waitFor(
      () =>
        db
          .selectFrom('heartbeats')
          .selectAll()
          .where('instance_id', '=', config.instanceId)
          .executeTakeFirst(),
      10_000,
      'a heartbeat row',
    );
    expect(beat.pid).toBe(process.pid);
    const log = await waitFor(
      () =>
        db
          .selectFrom('job_logs')
          .selectAll()
          .where('job_name', '=', 'heartbeat')
          .where('status', '=', 'completed')
          .executeTakeFirst(),
      10_000,
      'a completed heartbeat job log',
    );
    expect(log.instance_id).toBe(config.instanceId);
  });

  it('graceful stop: /ready turns 503, the running job finishes, then everything closes', async () => {
    const finished: string[] = [];
    const slow = defineTask<{ label: string }>({
      name: 'slow',
      queue: 'default',
      handler: async ({ label }) => {
        await new Promise((r) => setTimeout(r, 1_000));
        finished.push(label);
        return { label };
      },
    });
    const config = loadConfig({
      DATA_DIR: tempDir(),
      PORT: '0',
      HOST: '127.0.0.1',
      EMBEDDED_RELAY_PORT: '0',
      METRICS_PORT: '0',
    });
    const running = await startGateway(config, { roles: ['api'], logger, extraTasks: [slow] });
    gateway = running;
    const url = running.httpUrl!;
    await running.queue.enqueue('slow', { label: 'in-flight' });
    const db = running.database.db;
    await waitFor(
      () =>
        db
          .selectFrom('job_logs')
          .select('id')
          .where('job_name', '=', 'slow')
          .where('status', '=', 'running')
          .executeTakeFirst(),
      5_000,
      'the slow job to start',
    );
    const stopping = running.stop('SIGTERM');
    expect(running.readiness.state().ready).toBe(false);
    expect(await stopping).toBe(true);
    gateway = undefined;
    expect(finished).toEqual(['in-flight']);
    // The job log was written before the database closed: reopen the file to read it.
    const reopened = await openDatabase(config.database, logger);
    const log = await reopened.db
      .selectFrom('job_logs')
      .selectAll()
      .where('job_name', '=', 'slow')
      .executeTakeFirstOrThrow();
    await reopened.close();
    expect(log.status).toBe('completed');
    await expect(fetch(`${url}/health`)).rejects.toThrow();
  });

  it.skipIf(!hasRedisServer)(
    '/health answers 503 naming Redis and service_down fires while Redis is away; both recover',
    async () => {
      redis = new PrivateRedis(await freePort());
      await redis.start();
      const config = loadConfig({
        DATA_DIR: tempDir(),
        PORT: '0',
        HOST: '127.0.0.1',
        EMBEDDED_RELAY_PORT: '0',
        METRICS_PORT: '0',
        REDIS_URL: redis.url,
        QUEUE_PREFIX: `t${Date.now()}`,
        ADMIN_API_KEY: 'gateway-test-admin-key-0123456789abcdef',
        ALERT_EVALUATION_INTERVAL_MS: '200',
      });
      gateway = await startGateway(config, { roles: ['api', 'worker', 'scheduler'], logger });
      const url = gateway.httpUrl!;
      expect((await healthOf(url)).status).toBe(200);
      const serviceDown = async () => {
        const response = await fetch(`${url}/admin/alerts/rules`, {
          headers: { 'x-admin-key': 'gateway-test-admin-key-0123456789abcdef' },
        });
        const { rules } = (await response.json()) as { rules: { rule: string; state: string }[] };
        return rules.find((r) => r.rule === 'service_down')?.state;
      };

      await redis.stop();
      const down = await waitFor(
        async () => {
          const h = await healthOf(url);
          return h.status === 503 ? h : undefined;
        },
        10_000,
        '/health = 503',
      );
      expect(down.body.dependencies.redis).toMatchObject({ status: 'down' });
      expect(down.body.dependencies.database).toMatchObject({ status: 'up' });
      expect((await fetch(`${url}/ready`)).status).toBe(503);
      await waitFor(
        async () => ((await serviceDown()) === 'firing' ? true : undefined),
        10_000,
        'service_down to fire',
      );

      await redis.start();
      const up = await waitFor(
        async () => {
          const h = await healthOf(url);
          return h.status === 200 ? h : undefined;
        },
        20_000,
        '/health = 200 again',
      );
      expect(up.body.dependencies.redis).toMatchObject({ status: 'up' });
      expect((await fetch(`${url}/ready`)).status).toBe(200);
      await waitFor(
        async () => ((await serviceDown()) === 'ok' ? true : undefined),
        10_000,
        'service_down to resolve',
      );
    },
  );
});
