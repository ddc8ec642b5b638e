// The JobQueue contract on BullMQ (when REDIS_URL is set), plus what only Redis can show: a
// health ping that fails fast while Redis is away and recovers, and the start-up probe.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Secret, redactUrl, type RedisConfig } from '../../src/config.ts';
import { DependencyUnavailableError, StartupError } from '../../src/errors.ts';
import { BullmqQueue } from '../../src/jobs/bullmq-queue.ts';
import { JobLog } from '../../src/jobs/job-log.ts';
import { defineTask, taskRegistry, type JobQueue } from '../../src/jobs/queue.ts';
import { PING_TIMEOUT_MS, connectRedis } from '../../src/jobs/redis.ts';
import { PrivateRedis, freePort } from '../support/redis-server.ts';
import { createTestDatabase, silentLogger, type TestDatabase } from '../support/test-database.ts';
import { waitFor } from '../support/wait.ts';
import { DATABASE_KINDS, jobQueueContract, type Implementation } from './contract.ts';

const REDIS_URL = process.env.REDIS_URL;

export function redisConfig(url: string): RedisConfig {
  return { url: new Secret(url), display: redactUrl(url) };
}

/** Every key under a prefix, removed so test runs leave Redis as they found it. */
async function deletePrefix(url: string, prefix: string): Promise<void> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      if (keys.length > 0) await client.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}

const bullmq: Implementation = {
  name: 'bullmq',
  shared: true,
  async space() {
    const url = REDIS_URL!;
    const prefix = `arkrelay-test-${randomBytes(5).toString('hex')}`;
    const opened: JobQueue[] = [];
    return {
      open({ tasks, jobLog, instanceId = 'test-instance', defaults }) {
        const queue = new BullmqQueue({
          tasks: taskRegistry(tasks),
          jobLog,
          logger: silentLogger,
          instanceId,
          defaults: defaults ?? { attempts: 3, backoffMs: 50 },
          redis: redisConfig(url),
          prefix,
        });
        opened.push(queue);
        return queue;
      },
      async close() {
        await Promise.all(opened.map((q) => q.close({ drain: false })));
        await deletePrefix(url, prefix);
      },
    };
  },
};

describe.skipIf(!REDIS_URL)('BullMQ queue', () => {
  for (const kind of DATABASE_KINDS) jobQueueContract(bullmq, kind);
});

describe('Redis reachability', () => {
  let testDb: TestDatabase;
  const queues: JobQueue[] = [];
  beforeAll(async () => {
    testDb = await createTestDatabase('sqlite');
  });
  afterEach(async () => {
    await Promise.all(queues.splice(0).map((q) => q.close({ drain: false })));
  });
  afterAll(async () => {
    await testDb?.drop();
  });

  function queueAt(url: string): JobQueue {
    const task = defineTask({ name: 'noop', queue: 'default', handler: async () => undefined });
    const queue = new BullmqQueue({
      tasks: taskRegistry([task]),
      jobLog: new JobLog(testDb.database),
      logger: silentLogger,
      instanceId: 'ping-test',
      defaults: { attempts: 1, backoffMs: 10 },
      redis: redisConfig(url),
      prefix: `arkrelay-test-${randomBytes(5).toString('hex')}`,
    });
    queues.push(queue);
    return queue;
  }

  async function timed<T>(work: Promise<T>): Promise<{ ms: number; error: unknown }> {
    const started = Date.now();
    try {
      await work;
      return { ms: Date.now() - started, error: undefined };
    } catch (error) {
      return { ms: Date.now() - started, error };
    }
  }

  /**
   * Wall-clock bounds on a deadline keep a wide margin (3×): two suites share two cores, and a
   * timer can fire late. What tells a deadline from a hang is the error, checked alongside.
   */
  const within = (deadlineMs: number) => 3 * deadlineMs;

  /** The error a Redis call fails with while Redis is away: names redis and the URL, never the password. */
  function expectRedisUnavailable(error: unknown, port: number): void {
    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect((error as DependencyUnavailableError).dependency).toBe('redis');
    const message = (error as Error).message;
    expect(message).toContain(`redis at redis://:***@127.0.0.1:${port} is unreachable (`);
    expect(message).not.toContain('hunter2');
  }

  it('ping rejects within its deadline when nothing listens, without the password', async () => {
    const port = await freePort();
    const queue = queueAt(`redis://:hunter2-secret@127.0.0.1:${port}`);
    for (let i = 0; i < 3; i++) {
      const { ms, error } = await timed(queue.ping());
      expectRedisUnavailable(error, port);
      // Nothing listens: the reason is the refusal, not "not connected yet".
      expect((error as Error).message).toContain('(ECONNREFUSED)');
      expect(ms).toBeLessThan(within(PING_TIMEOUT_MS));
    }
    // Enqueueing does not hang either: it fails within its wait for a connection (2 s) and says why.
    const { ms, error } = await timed(queue.enqueue('noop', {}));
    expectRedisUnavailable(error, port);
    expect(ms).toBeLessThan(within(2000));
  });

  it('ping fails fast while Redis is away and recovers when it returns', async () => {
    const port = await freePort();
    const redis = new PrivateRedis(port);
    await redis.start();
    try {
      const queue = queueAt(redis.url);
      await waitFor(() => queue.ping().then(() => true), 5000, 'first ping');
      // Up: the round trip in ms.
      const roundTrip = await queue.ping();
      expect(Number.isFinite(roundTrip) && roundTrip >= 0).toBe(true);
      await redis.stop();
      const down = await timed(queue.ping());
      expect(down.error).toBeInstanceOf(DependencyUnavailableError);
      expect((down.error as Error).message).toContain(`127.0.0.1:${port} is unreachable`);
      expect(down.ms).toBeLessThan(within(PING_TIMEOUT_MS));
      await redis.start();
      await waitFor(() => queue.ping().then(() => true), 5000, 'ping after Redis returned');
      // and the queue works again, not only the probe
      await waitFor(() => queue.stats().then(() => true), 10_000, 'stats after Redis returned');
    } finally {
      await redis.stop();
    }
  });

  it('close() does not hang when Redis went away under running workers', async () => {
    const redis = new PrivateRedis(await freePort());
    await redis.start();
    const queue = queueAt(redis.url);
    try {
      await queue.startWorkers({ concurrency: 2 });
    } finally {
      await redis.stop();
    }
    const { ms, error } = await timed(queue.close({ drain: true, timeoutMs: 1000 }));
    expect(error).toBeUndefined();
    // Bounded by design at about 5 s (the drain's 1 s, the abort grace, closing the queues);
    // waiting on Redis would never end.
    expect(ms).toBeLessThan(within(5000));
  });

  it('connectRedis to a closed port throws one StartupError line naming REDIS_URL', async () => {
    const port = await freePort();
    const config = redisConfig(`redis://:hunter2-secret@127.0.0.1:${port}`);
    const { ms, error } = await timed(connectRedis(config, 2000));
    expect(ms).toBeLessThan(within(2000));
    expect(error).toBeInstanceOf(StartupError);
    expect((error as StartupError).variable).toBe('REDIS_URL');
    expect((error as StartupError).message).toBe(
      `REDIS_URL: cannot connect to redis://:***@127.0.0.1:${port} (ECONNREFUSED)`,
    );
  });

  it.skipIf(!REDIS_URL)('connectRedis resolves when Redis answers', async () => {
    await expect(connectRedis(redisConfig(REDIS_URL!))).resolves.toBeUndefined();
  });
});
