// The built-in heartbeat end to end — scheduler → queue → worker → heartbeats row — on the
// in-process queue always and on BullMQ with REDIS_URL, where the worker that runs it is a
// different instance from the scheduler that enqueues it.
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, Secret, redactUrl } from '../../src/config.ts';
import { BullmqQueue } from '../../src/jobs/bullmq-queue.ts';
import { InProcessQueue } from '../../src/jobs/in-process-queue.ts';
import { JobLog, recentJobLogs } from '../../src/jobs/job-log.ts';
import { defineTask, taskRegistry, type AnyTask, type JobQueue } from '../../src/jobs/queue.ts';
import { reconcileSchedules, startScheduler, type Scheduler } from '../../src/jobs/scheduler.ts';
import { coreTasks } from '../../src/jobs/tasks/index.ts';
import { HEARTBEAT_TASK, recordHeartbeat } from '../../src/jobs/tasks/heartbeat.ts';
import type { Database } from '../../src/store/database.ts';
import { VERSION } from '../../src/version.ts';
import { createTestDatabase, silentLogger, type TestDatabase } from '../support/test-database.ts';
import { waitFor } from '../support/wait.ts';
import { DATABASE_KINDS } from './contract.ts';

const REDIS_URL = process.env.REDIS_URL;
const config = loadConfig({ HEARTBEAT_INTERVAL_MS: '200', INSTANCE_ID: 'scheduler-1' });

const heartbeatOf = (database: Database, instanceId: string) =>
  database.db.selectFrom('heartbeats').selectAll().where('instance_id', '=', instanceId).executeTakeFirst();

for (const kind of DATABASE_KINDS) {
  describe(`heartbeat on ${kind}`, () => {
    let testDb: TestDatabase;
    let database: Database;
    const cleanup: (() => Promise<void>)[] = [];
    beforeAll(async () => {
      testDb = await createTestDatabase(kind);
      database = testDb.database;
    });
    afterEach(async () => {
      for (const step of cleanup.splice(0).reverse()) await step();
    });
    afterAll(async () => {
      await testDb?.drop();
    });

    it('recordHeartbeat inserts the row once and then refreshes it', async () => {
      const worker = { instanceId: 'upsert-test', role: 'worker' };
      await recordHeartbeat(database, worker, { n: 1 }, 1_000);
      await recordHeartbeat(database, { ...worker, role: 'api+worker' }, { n: 2 }, 2_000);
      const rows = await database.db
        .selectFrom('heartbeats')
        .selectAll()
        .where('instance_id', '=', 'upsert-test')
        .execute();
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        role: 'api+worker',
        pid: process.pid,
        version: VERSION,
        details_json: '{"n":2}',
      });
      expect(Number(rows[0]!.last_seen_at)).toBe(2_000);
      expect(Number(rows[0]!.started_at)).toBe(Math.round(performance.timeOrigin));
    });

    it('embedded: the scheduler repeats the heartbeat and the worker records it', async () => {
      const queue = new InProcessQueue({
        tasks: coreTasks({ database }),
        jobLog: new JobLog(database),
        logger: silentLogger,
        instanceId: 'embedded-1',
        defaults: { attempts: 3, backoffMs: 50 },
      });
      cleanup.push(() => queue.close());
      await queue.startWorkers({ concurrency: 2, role: 'api+worker+scheduler' });
      const scheduler = await startScheduler(queue, config, silentLogger);
      cleanup.push(() => scheduler.stop());
      expect(await queue.schedules()).toMatchObject([{ task: HEARTBEAT_TASK, everyMs: 200 }]);

      const first = await waitFor(() => heartbeatOf(database, 'embedded-1'), 5000, 'heartbeat row');
      expect(first.role).toBe('api+worker+scheduler');
      await waitFor(
        async () =>
          Number((await heartbeatOf(database, 'embedded-1'))!.last_seen_at) > Number(first.last_seen_at),
        5000,
        'a later heartbeat',
      );
      const logs = (await recentJobLogs(database, { limit: 50 })).filter(
        (l) => l.instanceId === 'embedded-1',
      );
      expect(logs.some((l) => l.jobName === HEARTBEAT_TASK && l.status === 'completed')).toBe(true);

      await scheduler.stop();
      expect(await queue.schedules()).toEqual([]);
    });

    describe.skipIf(!REDIS_URL)('with BullMQ', () => {
      function bullmq(instanceId: string, prefix: string, tasks = coreTasks({ database })): JobQueue {
        const queue = new BullmqQueue({
          tasks,
          jobLog: new JobLog(database),
          logger: silentLogger,
          instanceId,
          defaults: { attempts: 3, backoffMs: 50 },
          redis: { url: new Secret(REDIS_URL!), display: redactUrl(REDIS_URL!) },
          prefix,
        });
        cleanup.push(() => queue.close({ drain: false }));
        return queue;
      }

      it('the instance that runs the heartbeat is the one recorded; two schedulers keep one schedule', async () => {
        const prefix = `arkrelay-test-${randomBytes(5).toString('hex')}`;
        const schedulerA = bullmq('scheduler-a', prefix);
        const schedulerB = bullmq('scheduler-b', prefix);
        const worker = bullmq('worker-1', prefix);
        const schedulers: Scheduler[] = [];
        cleanup.push(async () => {
          for (const s of schedulers) await s.stop();
        });
        schedulers.push(await startScheduler(schedulerA, config, silentLogger));
        schedulers.push(await startScheduler(schedulerB, config, silentLogger));
        expect(await worker.schedules()).toMatchObject([{ task: HEARTBEAT_TASK, everyMs: 200 }]);
        await worker.startWorkers({ concurrency: 1, role: 'worker' });

        const row = await waitFor(() => heartbeatOf(database, 'worker-1'), 10_000, 'worker heartbeat');
        expect(row.role).toBe('worker');
        expect(await heartbeatOf(database, 'scheduler-a')).toBeUndefined();
        expect(await heartbeatOf(database, 'scheduler-b')).toBeUndefined();

        // A stopped BullMQ scheduler leaves the schedule in Redis for the workers.
        for (const s of schedulers.splice(0)) await s.stop();
        expect(await worker.schedules()).toHaveLength(1);
      });

      it('reconciling removes a schedule that is no longer listed and restores a missing one', async () => {
        const prefix = `arkrelay-test-${randomBytes(5).toString('hex')}`;
        const retired: AnyTask = defineTask({
          name: 'retired-job',
          queue: 'maintenance',
          handler: async () => undefined,
        });
        const tasks = taskRegistry([...coreTasks({ database }).values(), retired]);
        const queue = bullmq('scheduler-c', prefix, tasks);
        await queue.schedule('retired-job', { everyMs: 60_000 });
        await reconcileSchedules(queue, [{ task: HEARTBEAT_TASK, everyMs: 200 }]);
        expect((await queue.schedules()).map((s) => s.task)).toEqual([HEARTBEAT_TASK]);
        await queue.unschedule(HEARTBEAT_TASK); // e.g. Redis was flushed
        await reconcileSchedules(queue, [{ task: HEARTBEAT_TASK, everyMs: 200 }]);
        expect((await queue.schedules()).map((s) => s.task)).toEqual([HEARTBEAT_TASK]);
      });
    });
  });
}
