// The behaviour every JobQueue implementation must show, written once and run against each
// (in-process always; BullMQ when REDIS_URL is set), on SQLite and on MariaDB when
// DATABASE_URL is set. Waits are bounded polls on conditions, never bare sleeps.
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { JobInterruptedError, JobTimeoutError } from '../../src/jobs/attempt.ts';
import { JobLog, recentJobLogs, type JobLogEntry } from '../../src/jobs/job-log.ts';
import {
  PermanentJobError,
  UnknownTaskError,
  defineTask,
  type AnyTask,
  type JobDefaults,
  type JobQueue,
  type QueueName,
  type TaskContext,
} from '../../src/jobs/queue.ts';
import type { Database } from '../../src/store/database.ts';
import { createTestDatabase, type TestDatabase, type TestDatabaseKind } from '../support/test-database.ts';
import { waitFor } from '../support/wait.ts';

export interface QueueSpace {
  /**
   * A queue over this space's backing store. For a shared store (Redis, one prefix) every
   * queue opened here sees the same jobs; in-process queues are each their own.
   */
  open(input: {
    tasks: readonly AnyTask[];
    jobLog: JobLog;
    instanceId?: string;
    defaults?: JobDefaults;
  }): JobQueue;
  close(): Promise<void>;
}

export interface Implementation {
  readonly name: 'in-process' | 'bullmq';
  /** Whether two queues of one space share their jobs (two processes on one Redis). */
  readonly shared: boolean;
  space(): Promise<QueueSpace>;
}

export const FAST: JobDefaults = { attempts: 3, backoffMs: 50 };

export const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

/** A task name no other test uses, so job_logs rows can be told apart. */
export const uniqueName = (base: string) => `${base}-${randomBytes(4).toString('hex')}`;

export async function logsOf(database: Database, jobName: string): Promise<JobLogEntry[]> {
  const rows = await recentJobLogs(database, { limit: 1000 });
  return rows.filter((row) => row.jobName === jobName).sort((a, b) => a.id - b.id);
}

/** Resolves after `ms` unless `signal` aborts first, then rejects with its reason. */
function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });
}

export function jobQueueContract(impl: Implementation, dbKind: TestDatabaseKind): void {
  describe(`JobQueue contract: ${impl.name} on ${dbKind}`, () => {
    let testDb: TestDatabase;
    let database: Database;
    let jobLog: JobLog;
    let space: QueueSpace;

    beforeAll(async () => {
      testDb = await createTestDatabase(dbKind);
      database = testDb.database;
      jobLog = new JobLog(database);
    });
    afterAll(async () => {
      await testDb?.drop();
    });
    afterEach(async () => {
      await space?.close();
    });

    async function open(
      tasks: readonly AnyTask[],
      extra: { instanceId?: string; defaults?: JobDefaults } = {},
    ) {
      space ??= await impl.space();
      return space.open({ tasks, jobLog, defaults: FAST, ...extra });
    }

    async function fresh() {
      space = await impl.space();
    }

    function counting(queue: QueueName = 'default', extra: Partial<AnyTask> = {}) {
      const runs = new Map<string, number>();
      const task = defineTask<{ n: number }>({
        name: uniqueName('count'),
        queue,
        handler: async (data, ctx) => {
          runs.set(ctx.jobId, (runs.get(ctx.jobId) ?? 0) + 1);
          return { doubled: data.n * 2 };
        },
        ...extra,
      });
      return { task, runs };
    }

    it('runs a job once, hands it its data, and logs the attempt as completed', async () => {
      await fresh();
      const { task, runs } = counting();
      const queue = await open([task]);
      await queue.startWorkers({ concurrency: 2, role: 'test-worker' });
      const jobId = await queue.enqueue(task, { n: 21 });
      await waitFor(
        async () => (await logsOf(database, task.name))[0]?.status === 'completed',
        10_000,
        'completed',
      );
      const [log] = await logsOf(database, task.name);
      expect(log).toMatchObject({ jobId, status: 'completed', attempt: 1, queue: 'default', error: null });
      expect(JSON.parse(log!.resultJson!)).toEqual({ doubled: 42 });
      expect(log!.durationMs).toBeGreaterThanOrEqual(0);
      expect(log!.finishedAt).toBeGreaterThanOrEqual(log!.startedAt);
      expect([...runs.values()]).toEqual([1]);
      await waitFor(async () => (await queue.stats()).default.completed === 1, 5000, 'stats.completed = 1');
    });

    it('a jobId dedupes: enqueued twice at once, and again after it ran, it runs once', async () => {
      await fresh();
      const { task, runs } = counting();
      const queue = await open([task]);
      const ids = await Promise.all([
        queue.enqueue(task, { n: 1 }, { jobId: 'same-job' }),
        queue.enqueue(task, { n: 1 }, { jobId: 'same-job' }),
      ]);
      expect(ids).toEqual(['same-job', 'same-job']);
      expect((await queue.stats()).default.waiting).toBe(1);
      await queue.startWorkers({ concurrency: 4 });
      await waitFor(() => runs.get('same-job') === 1, 10_000, 'the job ran');
      await queue.enqueue(task, { n: 1 }, { jobId: 'same-job' });
      await sleep(300); // give a wrongly re-added job the time to run
      expect(runs.get('same-job')).toBe(1);
      expect(await logsOf(database, task.name)).toHaveLength(1);
    });

    it('many jobs on competing workers: each runs exactly once, concurrency is respected', async () => {
      await fresh();
      let running = 0;
      let peak = 0;
      const runs = new Map<string, number>();
      const task = defineTask<{ i: number }>({
        name: uniqueName('compete'),
        queue: 'default',
        handler: async (_data, ctx) => {
          running += 1;
          peak = Math.max(peak, running);
          runs.set(ctx.jobId, (runs.get(ctx.jobId) ?? 0) + 1);
          await sleep(10);
          running -= 1;
        },
      });
      // Shared stores get a second instance (a second worker process) competing for the jobs.
      const queues = [await open([task], { instanceId: 'worker-a' })];
      if (impl.shared) queues.push(await open([task], { instanceId: 'worker-b' }));
      const ids = await Promise.all(
        Array.from({ length: 60 }, (_, i) => queues[i % queues.length]!.enqueue(task, { i })),
      );
      await Promise.all(queues.map((q) => q.startWorkers({ concurrency: 3 })));
      await waitFor(() => runs.size === 60, 20_000, 'all 60 jobs ran');
      await sleep(200);
      expect(new Set(ids).size).toBe(60);
      expect([...runs.values()].every((n) => n === 1)).toBe(true);
      expect(peak).toBeLessThanOrEqual(3 * queues.length);
      expect(peak).toBeGreaterThan(1);
      const logs = await logsOf(database, task.name);
      expect(logs).toHaveLength(60);
      expect(new Set(logs.map((l) => l.jobId)).size).toBe(60);
    });

    it('a failing job is retried with exponential backoff, then lands as failed', async () => {
      await fresh();
      const calls: number[] = [];
      const task = defineTask({
        name: uniqueName('fail'),
        queue: 'lightning',
        attempts: 3,
        backoffMs: 150,
        handler: async () => {
          calls.push(Date.now());
          throw new Error('daemon said no');
        },
      });
      const queue = await open([task]);
      await queue.startWorkers({ concurrency: 1 });
      const jobId = await queue.enqueue(task, {});
      await waitFor(async () => (await queue.stats()).lightning.failed === 1, 10_000, 'job failed');
      expect(calls).toHaveLength(3);
      // 150 ms, then 300 ms (timers may fire a little early or late, never half).
      expect(calls[1]! - calls[0]!).toBeGreaterThanOrEqual(140);
      expect(calls[2]! - calls[1]!).toBeGreaterThanOrEqual(290);
      const logs = await waitFor(
        async () => {
          const rows = await logsOf(database, task.name);
          return rows.length === 3 && rows.every((r) => r.status === 'failed') ? rows : undefined;
        },
        5000,
        'three failed attempts logged',
      );
      expect(logs.map((l) => [l.jobId, l.attempt, l.status])).toEqual([
        [jobId, 1, 'failed'],
        [jobId, 2, 'failed'],
        [jobId, 3, 'failed'],
      ]);
      expect(logs[0]!.error).toBe('Error: daemon said no');
      await sleep(400); // no fourth attempt
      expect(calls).toHaveLength(3);
      expect((await queue.stats()).lightning).toMatchObject({ failed: 1, delayed: 0, waiting: 0, active: 0 });
    });

    it('a job that fails once and then succeeds logs one failed and one completed attempt', async () => {
      await fresh();
      let calls = 0;
      const task = defineTask({
        name: uniqueName('flaky'),
        queue: 'default',
        handler: async () => {
          calls += 1;
          if (calls === 1) throw new Error('first time unlucky');
          return 'ok';
        },
      });
      const queue = await open([task]);
      await queue.startWorkers({ concurrency: 1 });
      await queue.enqueue(task, {});
      const logs = await waitFor(
        async () => {
          const rows = await logsOf(database, task.name);
          return rows.length === 2 && rows[1]!.status === 'completed' ? rows : undefined;
        },
        10_000,
        'second attempt completed',
      );
      expect(logs.map((l) => [l.attempt, l.status, l.error])).toEqual([
        [1, 'failed', 'Error: first time unlucky'],
        [2, 'completed', null],
      ]);
      expect(logs[1]!.resultJson).toBe('"ok"');
    });

    it('a PermanentJobError fails the job at once, without retries', async () => {
      await fresh();
      let calls = 0;
      const task = defineTask({
        name: uniqueName('bad-input'),
        queue: 'default',
        attempts: 5,
        handler: async () => {
          calls += 1;
          throw new PermanentJobError('amount must be positive');
        },
      });
      const queue = await open([task]);
      await queue.startWorkers({ concurrency: 1 });
      await queue.enqueue(task, {});
      await waitFor(async () => (await queue.stats()).default.failed === 1, 10_000, 'job failed');
      await sleep(300);
      expect(calls).toBe(1);
      const logs = await logsOf(database, task.name);
      expect(logs).toHaveLength(1);
      expect(logs[0]!.error).toContain('amount must be positive');
    });

    it('a delayed job waits, then runs', async () => {
      await fresh();
      const { task, runs } = counting();
      const queue = await open([task]);
      await queue.startWorkers({ concurrency: 1 });
      const enqueuedAt = Date.now();
      const jobId = await queue.enqueue(task, { n: 1 }, { delayMs: 400 });
      expect((await queue.stats()).default.delayed).toBe(1);
      await waitFor(() => runs.get(jobId) === 1, 10_000, 'delayed job ran');
      const [log] = await logsOf(database, task.name);
      expect(log!.startedAt - enqueuedAt).toBeGreaterThanOrEqual(380);
    });

    it('an attempt past its timeout fails with its signal aborted', async () => {
      await fresh();
      let aborted: unknown;
      const task = defineTask({
        name: uniqueName('slow'),
        queue: 'default',
        attempts: 1,
        timeoutMs: 200,
        handler: async (_data, ctx: TaskContext) => {
          await abortableSleep(10_000, ctx.signal).catch((reason: unknown) => {
            aborted = reason;
            throw reason;
          });
        },
      });
      const queue = await open([task]);
      await queue.startWorkers({ concurrency: 1 });
      await queue.enqueue(task, {});
      const logs = await waitFor(
        async () => {
          const rows = await logsOf(database, task.name);
          return rows[0]?.status === 'failed' ? rows : undefined;
        },
        10_000,
        'timed-out attempt logged',
      );
      expect(aborted).toBeInstanceOf(JobTimeoutError);
      expect(logs[0]!.error).toMatch(/^JobTimeoutError: /);
      expect(logs[0]!.durationMs).toBeGreaterThanOrEqual(190);
      expect(logs[0]!.durationMs).toBeLessThan(5000);
    });

    it('jobs wait while no worker runs; unknown tasks and bad ids are refused', async () => {
      await fresh();
      const { task, runs } = counting('ceremony');
      const queue = await open([task]);
      await queue.enqueue(task, { n: 1 });
      await queue.enqueue(task.name, { n: 2 });
      expect((await queue.stats()).ceremony).toEqual({
        waiting: 2,
        active: 0,
        delayed: 0,
        completed: 0,
        failed: 0,
      });
      await expect(queue.enqueue('no-such-task', {})).rejects.toBeInstanceOf(UnknownTaskError);
      await expect(queue.enqueue(task, { n: 1 }, { jobId: '42' })).rejects.toThrow(/jobId/);
      await expect(queue.enqueue(task, { n: 1 }, { jobId: 'a:b' })).rejects.toThrow(/jobId/);
      await expect(queue.enqueue(task, { n: 1 }, { delayMs: -1 })).rejects.toThrow(/delayMs/);
      expect(runs.size).toBe(0);
      await queue.startWorkers({ concurrency: 1, queues: ['default'] });
      await sleep(300);
      expect(runs.size).toBe(0); // a worker on other queues leaves these alone
    });

    it('a schedule repeats, is kept once when set twice, and stops when removed', async () => {
      await fresh();
      const runs: number[] = [];
      const task = defineTask({
        name: uniqueName('tick'),
        queue: 'maintenance',
        handler: async () => {
          runs.push(Date.now());
        },
      });
      const a = await open([task], { instanceId: 'scheduler-a' });
      // A second scheduler process where the store is shared; the same one again otherwise.
      const b = impl.shared ? await open([task], { instanceId: 'scheduler-b' }) : a;
      await a.startWorkers({ concurrency: 4 });
      await Promise.all([a.schedule(task.name, { everyMs: 250 }), b.schedule(task.name, { everyMs: 250 })]);
      await b.schedule(task.name, { everyMs: 250 });
      const listed = await a.schedules();
      expect(listed.map((s) => [s.task, s.everyMs])).toEqual([[task.name, 250]]);
      expect(await b.schedules()).toHaveLength(1);

      await waitFor(() => runs.length >= 1, 5000, 'first run');
      const from = runs.length;
      const windowStart = Date.now();
      await sleep(1500);
      const inWindow = runs.length - from;
      const windowMs = Date.now() - windowStart;
      // One schedule runs at most once per 250 ms of the window (a late timer runs it less often,
      // never in a burst), plus a job or two enqueued before the window; a duplicated one about
      // twice as often. The window is measured, so a loaded machine only loosens the bound.
      expect(inWindow).toBeLessThanOrEqual(Math.floor(windowMs / 250) + 3);
      // And it repeats.
      await waitFor(() => runs.length >= from + 3, 10_000, 'three more runs');

      expect(await b.unschedule(task.name)).toBe(true);
      expect(await a.schedules()).toEqual([]);
      await sleep(300); // a run already queued may still finish
      const after = runs.length;
      await sleep(700);
      expect(runs.length).toBe(after);
      expect(await a.unschedule(task.name)).toBe(false);
    });

    it('close({ drain: true }) waits for a running job to finish and log its outcome', async () => {
      await fresh();
      let started = false;
      let finished = false;
      const task = defineTask({
        name: uniqueName('drain'),
        queue: 'default',
        handler: async () => {
          started = true;
          await sleep(600);
          finished = true;
          return 'done';
        },
      });
      const queue = await open([task]);
      await queue.startWorkers({ concurrency: 1 });
      await queue.enqueue(task, {});
      await waitFor(() => started, 10_000, 'job started');
      await queue.close({ drain: true, timeoutMs: 10_000 });
      expect(finished).toBe(true);
      const logs = await logsOf(database, task.name);
      expect(logs.map((l) => l.status)).toEqual(['completed']);
      await expect(queue.enqueue(task, {})).rejects.toThrow(/closed/);
      if (impl.shared) {
        // The store knows it completed too: nothing left active for another worker to run again.
        const other = await open([task]);
        expect((await other.stats()).default).toMatchObject({ completed: 1, active: 0, waiting: 0 });
      }
    });

    it('close() past its timeout aborts a job that does not finish, and logs it as interrupted', async () => {
      await fresh();
      let started = false;
      let reason: unknown;
      const task = defineTask({
        name: uniqueName('stuck'),
        queue: 'default',
        attempts: 1,
        handler: async (_data, ctx: TaskContext) => {
          started = true;
          await abortableSleep(60_000, ctx.signal).catch((error: unknown) => {
            reason = error;
            throw error;
          });
        },
      });
      const queue = await open([task]);
      await queue.startWorkers({ concurrency: 1 });
      await queue.enqueue(task, {});
      await waitFor(() => started, 10_000, 'job started');
      const closing = Date.now();
      await queue.close({ drain: true, timeoutMs: 300 });
      // Bounded by the 300 ms timeout and the grace given to aborted attempts (2 s at most), with a
      // wide margin for a loaded machine; the job itself would take a minute.
      expect(Date.now() - closing).toBeLessThan(10_000);
      expect(reason).toBeInstanceOf(JobInterruptedError);
      const logs = await waitFor(
        async () => {
          const rows = await logsOf(database, task.name);
          return rows[0]?.status === 'failed' ? rows : undefined;
        },
        5000,
        'interrupted attempt logged',
      );
      expect(logs[0]!.error).toMatch(/^JobInterruptedError: /);
    });

    it('the worker identity reaches the handler and job_logs', async () => {
      await fresh();
      let seen: TaskContext['worker'] | undefined;
      const task = defineTask({
        name: uniqueName('who'),
        queue: 'default',
        handler: async (_data, ctx) => {
          seen = ctx.worker;
        },
      });
      const queue = await open([task], { instanceId: 'instance-7' });
      await queue.startWorkers({ concurrency: 1, role: 'worker' });
      await queue.enqueue(task, {});
      await waitFor(
        async () => (await logsOf(database, task.name))[0]?.status === 'completed',
        10_000,
        'ran',
      );
      expect(seen).toEqual({ instanceId: 'instance-7', role: 'worker' });
      expect((await logsOf(database, task.name))[0]!.instanceId).toBe('instance-7');
    });
  });
}

/** Both databases the contract runs on: SQLite always, MariaDB when DATABASE_URL is set. */
export const DATABASE_KINDS: readonly TestDatabaseKind[] = process.env.DATABASE_URL
  ? ['sqlite', 'mariadb']
  : ['sqlite'];
