// Two API processes on one Redis that the test kills: both report the outage the same way and
// within a second on every probe, /queue-status answers 503 naming redis within a second, /stats
// still answers (queues unknown, named), service_down names redis at the webhook; and both
// recover together when Redis is back.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { QUEUE_READ_DEADLINE_MS } from '../../src/http/operations.ts';
import { createLogger } from '../../src/logging.ts';
import { tempDir } from '../support/cli.ts';
import { freePort, PrivateRedis } from '../support/redis-server.ts';
import { waitFor } from '../support/wait.ts';
import { WebhookReceiver } from './webhook-receiver.ts';

const hasRedisServer = (() => {
  try {
    execFileSync('redis-server', ['--version']);
    return true;
  } catch {
    return false;
  }
})();

/**
 * /health gives each check 750 ms and cuts it off at 900 ms, so that it answers within a second.
 * The wall-clock bounds below keep 3× those deadlines: two suites share two cores in CI.
 */
const HEALTH_BOUND_MS = 3 * 900;

describe.skipIf(!hasRedisServer)('a Redis outage, seen by two API processes', () => {
  let redis: PrivateRedis;
  let receiver: WebhookReceiver;
  const gateways: Gateway[] = [];

  const probe = async (gateway: Gateway, path: string) => {
    const started = Date.now();
    const response = await fetch(`${gateway.httpUrl}${path}`);
    return { status: response.status, body: (await response.json()) as never, ms: Date.now() - started };
  };

  beforeAll(async () => {
    redis = new PrivateRedis(await freePort());
    await redis.start();
    receiver = new WebhookReceiver();
    const webhook = await receiver.start();
    const prefix = `outage${Date.now()}`;
    for (const name of ['api-1', 'api-2']) {
      gateways.push(
        await startGateway(
          loadConfig({
            DATA_DIR: tempDir(),
            PORT: '0',
            HOST: '127.0.0.1',
            METRICS_PORT: '0',
            EMBEDDED_RELAY_PORT: '0',
            VTXO_AUTO_START: 'false',
            REDIS_URL: redis.url,
            QUEUE_PREFIX: prefix,
            INSTANCE_ID: name,
            ALERT_EVALUATION_INTERVAL_MS: '200',
            ALERT_WEBHOOK_URL: webhook,
          }),
          { roles: ['api'], logger: createLogger({ level: 'silent' }) },
        ),
      );
    }
  }, 60_000);

  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.stop('test over')));
    await receiver?.close();
    await redis?.stop();
  }, 60_000);

  it('both answer 503 naming redis within a second on every probe, and recover together', async () => {
    for (const gateway of gateways) expect((await probe(gateway, '/health')).status).toBe(200);
    await redis.stop();

    // Once the first probe sees it, every probe of every instance agrees, each within a second.
    await waitFor(
      async () => (await probe(gateways[0]!, '/health')).status === 503,
      5_000,
      'the outage seen',
    );
    for (let i = 0; i < 5; i++) {
      for (const gateway of gateways) {
        const health = await probe(gateway, '/health');
        expect(health.status).toBe(503);
        expect(health.ms).toBeLessThan(HEALTH_BOUND_MS);
        expect(health.body).toMatchObject({
          dependencies: {
            redis: { status: 'down', critical: true, error: expect.stringMatching(/unreachable/) },
          },
        });
      }
    }

    const queue = await probe(gateways[1]!, '/queue-status');
    expect(queue.status).toBe(503);
    expect(queue.ms).toBeLessThan(3 * QUEUE_READ_DEADLINE_MS);
    expect(queue.body).toMatchObject({ error: { code: 'dependency_unavailable', dependency: 'redis' } });
    const stats = await probe(gateways[0]!, '/stats');
    expect(stats.status).toBe(200);
    expect(stats.body).toMatchObject({ queues: null, unavailable: ['redis'] });

    await waitFor(
      () => receiver.of('service_down', { dependency: 'redis' })[0],
      10_000,
      'service_down naming redis',
    );

    await redis.start();
    await waitFor(
      async () => {
        const answers = await Promise.all(gateways.map((g) => probe(g, '/health')));
        return answers.every((a) => a.status === 200);
      },
      15_000,
      'both healthy again',
    );
    expect((await probe(gateways[1]!, '/queue-status')).status).toBe(200);
    await waitFor(
      () => receiver.of('service_down', { dependency: 'redis' }).find((a) => WebhookReceiver.resolved(a)),
      10_000,
      'the resolution of service_down',
    );
  }, 60_000);
});
