// The JobQueue contract on BullMQ (when REDIS_URL is set), plus what only Redis can show: a
// health ping that fails fast while Redis is away and recovers, and the start-up probe.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Secret, redactUrl, type RedisConfig } from '../../src/config.ts';
import { StartupError } from '../../src/errors.ts';
import { BullmqQueue } from '../../src/jobs/bullmq-queue.ts';
import { JobLog } from '../../src/jobs/job-log.ts';
import { defineTask, taskRegistry, type JobQueue } from '../../src/jobs/queue.ts';
import { connectRedis } from '../../src/jobs/redis.ts';
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

  it('ping rejects within about a second when nothing listens, without the password', async () => {
    const port = await freePort();
    const queue = queueAt(`redis://:hunter2-secret@127.0.0.1:${port}`);
    for (let i = 0; i < 3; i++) {
      const { ms, error } = await timed(queue.ping());
      expect(error).toBeInstanceOf(Error);
      expect(ms).toBeLessThan(1500);
      expect(String((error as Error).message)).toContain(`127.0.0.1:${port}`);
      expect(String((error as Error).message)).not.toContain('hunter2');
    }
    // Enqueueing does not hang either: it fails and says why.
    const { ms, error } = await timed(queue.enqueue('noop', {}));
    expect(error).toBeInstanceOf(Error);
    expect(ms).toBeLessThan(3000);
  });

  it('ping fails fast while Redis is away and recovers when it returns', async () => {
    const redis = new PrivateRedis(await freePort());
    await redis.start();
    try {
      const queue = queueAt(redis.url);
      await waitFor(() => queue.ping().then(() => true), 5000, 'first ping');
      expect(await queue.ping()).toBeLessThan(1000);
      await redis.stop();
      const down = await timed(queue.ping());
      expect(down.error).toBeInstanceOf(Error);
      expect(down.ms).toBeLessThan(1500);
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
    expect(ms).toBeLessThan(6000);
  });

  it('connectRedis to a closed port throws one StartupError line naming REDIS_URL', async () => {
    const port = await freePort();
    const config = redisConfig(`redis://:hunter2-secret@127.0.0.1:${port}`);
    const started = Date.now();
    const error = await connectRedis(config, 2000).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(Date.now() - started).toBeLessThan(3000);
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
