// The JobQueue contract on BullMQ and Redis: jobs survive restarts and are shared by any
// number of worker processes. One BullMQ Queue per queue name, Workers only where
// startWorkers() is called, schedules as BullMQ job schedulers (stored in Redis, so every
// scheduler process upserting the same id keeps one schedule).
import { Queue, UnrecoverableError, Worker, type Job, type JobsOptions } from 'bullmq';
import type { RedisConfig } from '../config.ts';
import { deadline } from '../deadline.ts';
import { JobInterruptedError, runAttempt } from './attempt.ts';
import { errorText } from './job-log.ts';
import {
  DEFAULT_CLOSE_TIMEOUT_MS,
  HISTORY,
  PermanentJobError,
  QUEUE_NAMES,
  emptyCounts,
  jsonCopy,
  resolveTask,
  validateEnqueueOptions,
  validateEvery,
  type AnyTask,
  type CloseOptions,
  type EnqueueOptions,
  type JobQueue,
  type JobQueueDeps,
  type QueueCounts,
  type QueueName,
  type ScheduleInfo,
  type TaskDefinition,
  type WorkerIdentity,
  type WorkerOptions,
} from './queue.ts';
import { RedisConnection } from './redis.ts';

export interface BullmqQueueOptions extends JobQueueDeps {
  readonly redis: RedisConfig;
  /** Prefix of every Redis key (config.jobs.prefix). */
  readonly prefix: string;
}

/** Redis calls other than job processing fail after this instead of waiting out an outage. */
const CALL_TIMEOUT_MS = 5000;
/** After aborting running attempts at shutdown, how long to let them report before cutting Redis. */
const ABORT_GRACE_MS = 2000;

export class BullmqQueue implements JobQueue {
  readonly kind = 'bullmq';
  readonly #options: BullmqQueueOptions;
  readonly #connection: RedisConnection;
  readonly #queues: ReadonlyMap<QueueName, Queue>;
  readonly #workers: Worker[] = [];
  readonly #shutdown = new AbortController();
  /** Attempts our handlers are running right now. */
  readonly #running = new Set<Promise<void>>();
  #worker: WorkerIdentity;
  #closed = false;

  constructor(options: BullmqQueueOptions) {
    this.#options = options;
    this.#worker = { instanceId: options.instanceId, role: 'worker' };
    this.#connection = new RedisConnection(options.redis, options.logger);
    this.#queues = new Map(
      QUEUE_NAMES.map((name) => {
        const queue = new Queue(name, {
          connection: this.#connection.client,
          prefix: options.prefix,
          defaultJobOptions: {
            removeOnComplete: { count: HISTORY.completed },
            removeOnFail: { count: HISTORY.failed },
          },
        });
        queue.on('error', (error) => this.#reportError(error));
        return [name, queue];
      }),
    );
  }

  #reportError(error: unknown): void {
    // Connection errors repeat through an outage; RedisConnection logs the outage once.
    const code = (error as { code?: unknown }).code;
    const connection = typeof code === 'string' || /connection|stream/i.test(errorText(error));
    if (connection || !this.#connection.ready) return;
    this.#options.logger.warn({ error: errorText(error) }, 'bullmq error');
  }

  #queue(name: QueueName): Queue {
    return this.#queues.get(name)!;
  }

  /** A Redis call that fails fast when Redis is away instead of queueing until it returns. */
  async #call<T>(work: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new Error('job queue is closed');
    await this.#connection.available();
    return deadline(work(), CALL_TIMEOUT_MS, () => this.#connection.unavailable());
  }

  #jobOptions(task: AnyTask): JobsOptions {
    return {
      attempts: task.attempts ?? this.#options.defaults.attempts,
      backoff: { type: 'exponential', delay: task.backoffMs ?? this.#options.defaults.backoffMs },
      removeOnComplete: { count: HISTORY.completed },
      removeOnFail: { count: HISTORY.failed },
    };
  }

  async enqueue<T>(
    taskOrName: string | TaskDefinition<T>,
    data: T,
    options: EnqueueOptions = {},
  ): Promise<string> {
    const task = resolveTask(this.#options.tasks, taskOrName);
    validateEnqueueOptions(options);
    const payload = jsonCopy(data);
    const job = await this.#call(() =>
      this.#queue(task.queue).add(task.name, payload, {
        ...this.#jobOptions(task),
        ...(options.jobId ? { jobId: options.jobId } : {}),
        ...(options.delayMs ? { delay: options.delayMs } : {}),
      }),
    );
    return job.id!;
  }

  async startWorkers(options: WorkerOptions): Promise<void> {
    if (this.#closed || this.#shutdown.signal.aborted) throw new Error('job queue is closed');
    this.#worker = { instanceId: this.#options.instanceId, role: options.role ?? 'worker' };
    const queues = options.queues ?? [...new Set([...this.#options.tasks.values()].map((t) => t.queue))];
    for (const name of queues) {
      const worker = new Worker(
        name,
        (job: Job, _token?: string, signal?: AbortSignal) => this.#track(name, job, signal),
        {
          connection: this.#connection.client,
          prefix: this.#options.prefix,
          concurrency: options.concurrency,
        },
      );
      worker.on('error', (error) => this.#reportError(error));
      this.#workers.push(worker);
    }
    await deadline(Promise.all(this.#workers.map((w) => w.waitUntilReady())), CALL_TIMEOUT_MS, () =>
      this.#connection.unavailable(),
    );
  }

  /** Runs one job and keeps track of it until it settles, for stopWorkers(). */
  #track(queue: QueueName, job: Job, signal: AbortSignal | undefined): Promise<unknown> {
    const running = this.#process(queue, job, signal);
    const settled = running.then(
      () => undefined,
      () => undefined,
    );
    this.#running.add(settled);
    void settled.then(() => this.#running.delete(settled));
    return running;
  }

  async #process(queue: QueueName, job: Job, signal: AbortSignal | undefined): Promise<unknown> {
    // A job from a newer or older deployment with a task this process does not know: it cannot
    // succeed here, so it fails at once (and the attempt is still logged).
    const task: AnyTask = this.#options.tasks.get(job.name) ?? {
      name: job.name,
      queue,
      handler: async () => {
        throw new PermanentJobError(`unknown task "${job.name}" on this worker`);
      },
    };
    try {
      return await runAttempt({
        task,
        queue,
        jobId: job.id!,
        attempt: job.attemptsMade + 1,
        maxAttempts: job.opts.attempts ?? 1,
        data: job.data,
        worker: this.#worker,
        jobLog: this.#options.jobLog,
        logger: this.#options.logger,
        signals: signal ? [this.#shutdown.signal, signal] : [this.#shutdown.signal],
      });
    } catch (error) {
      // BullMQ's way of saying "do not retry".
      if (error instanceof PermanentJobError) throw new UnrecoverableError(errorText(error));
      throw error;
    }
  }

  async schedule(taskName: string, repeat: { readonly everyMs: number }, data: unknown = {}): Promise<void> {
    const task = resolveTask(this.#options.tasks, taskName);
    validateEvery(repeat.everyMs);
    const payload = jsonCopy(data);
    // The scheduler id is the task name: upserting it again (another scheduler process, a
    // restart) replaces the one schedule instead of adding a second.
    await this.#call(() =>
      this.#queue(task.queue).upsertJobScheduler(
        task.name,
        { every: repeat.everyMs },
        { name: task.name, data: payload, opts: this.#jobOptions(task) },
      ),
    );
  }

  async unschedule(taskName: string): Promise<boolean> {
    // Looked up in every queue, so a schedule of a task this version no longer has can go too.
    const removed = await this.#call(() =>
      Promise.all([...this.#queues.values()].map((queue) => queue.removeJobScheduler(taskName))),
    );
    return removed.some(Boolean);
  }

  async schedules(): Promise<ScheduleInfo[]> {
    const lists = await this.#call(() =>
      Promise.all([...this.#queues.values()].map((queue) => queue.getJobSchedulers())),
    );
    return lists.flat().map((s) => ({
      task: s.key,
      everyMs: Number(s.every ?? 0),
      nextRunAt: s.next === undefined ? undefined : Number(s.next),
    }));
  }

  async stats(): Promise<Record<QueueName, QueueCounts>> {
    const stats = emptyCounts();
    const counts = await this.#call(() =>
      Promise.all(
        QUEUE_NAMES.map((name) =>
          this.#queue(name).getJobCounts(
            'waiting',
            'prioritized',
            'paused',
            'active',
            'delayed',
            'completed',
            'failed',
          ),
        ),
      ),
    );
    QUEUE_NAMES.forEach((name, i) => {
      const c = counts[i]!;
      stats[name] = {
        waiting: (c.waiting ?? 0) + (c.prioritized ?? 0) + (c.paused ?? 0),
        active: c.active ?? 0,
        delayed: c.delayed ?? 0,
        completed: c.completed ?? 0,
        failed: c.failed ?? 0,
      };
    });
    return stats;
  }

  ping(timeoutMs?: number): Promise<number> {
    return this.#connection.ping(timeoutMs);
  }

  async stopWorkers(options: { readonly timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
    const interrupt = () => this.#shutdown.abort(new JobInterruptedError());
    if (timeoutMs <= 0) interrupt();
    // Worker.close() stops fetching and waits for running jobs to report their outcome to Redis.
    // With Redis away it would wait for Redis forever, so it is forced then: our own handlers
    // are still waited for below, only the reporting is given up.
    const force = !this.#connection.ready;
    const closed = Promise.allSettled(this.#workers.map((w) => w.close(force)));
    if (!(await this.#stopped(closed, timeoutMs > 0 ? timeoutMs : ABORT_GRACE_MS))) {
      this.#options.logger.warn(
        { timeoutMs, running: this.#running.size },
        'jobs still running at shutdown; aborting them',
      );
      interrupt();
      // A handler that ignores its signal is left behind: its lock expires and another
      // worker takes the job again (BullMQ's stalled-job check).
      await this.#stopped(closed, ABORT_GRACE_MS);
    }
    interrupt();
  }

  /**
   * Whether the workers stopped within `ms`: our handlers are done and BullMQ has closed the
   * workers — or, with Redis away, there is nothing BullMQ could still report.
   */
  async #stopped(closed: Promise<unknown>, ms: number): Promise<boolean> {
    let workersClosed = false;
    void closed.then(() => (workersClosed = true));
    const deadline = Date.now() + ms;
    for (;;) {
      if (this.#running.size === 0 && (workersClosed || !this.#connection.ready)) return true;
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, Math.min(50, deadline - Date.now())));
    }
  }

  async close(options: CloseOptions = {}): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.stopWorkers({ timeoutMs: (options.drain ?? true) ? options.timeoutMs : 0 });
    await deadline(
      Promise.allSettled([...this.#queues.values()].map((q) => q.close())),
      ABORT_GRACE_MS,
      () => new Error('timeout'),
    ).catch(() => undefined);
    await this.#connection.close();
  }
}
