// The embedded default: the JobQueue contract inside one process, no Redis. Jobs live in
// memory (pending ones are lost on exit — the embedded mode is one process by design), with the
// same retries, backoff, dedupe, history bounds and drain as the BullMQ implementation.
import { randomUUID } from 'node:crypto';
import { JobInterruptedError, runAttempt } from './attempt.ts';
import {
  DEFAULT_CLOSE_TIMEOUT_MS,
  HISTORY,
  PermanentJobError,
  QUEUE_NAMES,
  backoffDelay,
  emptyCounts,
  jsonCopy,
  resolveTask,
  validateEnqueueOptions,
  validateEvery,
  type AnyTask,
  type CloseOptions,
  type EnqueueOptions,
  type JobQueueDeps,
  type JobQueue,
  type QueueCounts,
  type QueueName,
  type ScheduleInfo,
  type TaskDefinition,
  type WorkerIdentity,
  type WorkerOptions,
} from './queue.ts';

type JobState = 'waiting' | 'delayed' | 'active' | 'completed' | 'failed';

interface Job {
  readonly id: string;
  readonly task: AnyTask;
  readonly data: unknown;
  readonly maxAttempts: number;
  readonly backoffMs: number;
  attemptsMade: number;
  state: JobState;
  runAt: number;
  timer?: NodeJS.Timeout;
}

interface Lane {
  readonly name: QueueName;
  /** Every job still known: pending, active, or in the bounded history (that is the dedupe window). */
  readonly jobs: Map<string, Job>;
  readonly waiting: Job[];
  readonly history: { completed: string[]; failed: string[] };
  concurrency: number;
  active: number;
}

interface Schedule {
  readonly everyMs: number;
  readonly dataJson: string;
  readonly timer: NodeJS.Timeout;
  nextRunAt: number;
  lastJobId?: string;
}

export class InProcessQueue implements JobQueue {
  readonly kind = 'in-process';
  readonly #options: JobQueueDeps;
  readonly #lanes = new Map<QueueName, Lane>(
    QUEUE_NAMES.map((name) => [
      name,
      {
        name,
        jobs: new Map(),
        waiting: [],
        history: { completed: [], failed: [] },
        concurrency: 0,
        active: 0,
      },
    ]),
  );
  readonly #schedules = new Map<string, Schedule>();
  readonly #running = new Set<Promise<void>>();
  /** Aborted when stopWorkers() gives up waiting for running attempts. */
  readonly #shutdown = new AbortController();
  #worker: WorkerIdentity;
  #stopping = false;
  #closed = false;

  constructor(options: JobQueueDeps) {
    this.#options = options;
    this.#worker = { instanceId: options.instanceId, role: 'worker' };
  }

  #lane(name: QueueName): Lane {
    return this.#lanes.get(name)!;
  }

  async enqueue<T>(
    taskOrName: string | TaskDefinition<T>,
    data: T,
    options: EnqueueOptions = {},
  ): Promise<string> {
    if (this.#closed) throw new Error('job queue is closed');
    const task = resolveTask(this.#options.tasks, taskOrName);
    validateEnqueueOptions(options);
    return this.#add(task, jsonCopy(data), options.jobId ?? randomUUID(), options.delayMs ?? 0);
  }

  #add(task: AnyTask, data: unknown, id: string, delayMs: number): string {
    const lane = this.#lane(task.queue);
    if (lane.jobs.has(id)) return id;
    const job: Job = {
      id,
      task,
      data,
      maxAttempts: task.attempts ?? this.#options.defaults.attempts,
      backoffMs: task.backoffMs ?? this.#options.defaults.backoffMs,
      attemptsMade: 0,
      state: 'waiting',
      runAt: Date.now(),
    };
    lane.jobs.set(id, job);
    if (delayMs > 0) this.#delay(lane, job, delayMs);
    else this.#ready(lane, job);
    return id;
  }

  #ready(lane: Lane, job: Job): void {
    job.state = 'waiting';
    lane.waiting.push(job);
    this.#pump(lane);
  }

  #delay(lane: Lane, job: Job, ms: number): void {
    job.state = 'delayed';
    job.runAt = Date.now() + ms;
    // unref: a pending in-memory job must not keep a finished process alive.
    job.timer = setTimeout(() => {
      job.timer = undefined;
      this.#ready(lane, job);
    }, ms).unref();
  }

  #pump(lane: Lane): void {
    while (!this.#stopping && lane.active < lane.concurrency && lane.waiting.length > 0) {
      this.#run(lane, lane.waiting.shift()!);
    }
  }

  #run(lane: Lane, job: Job): void {
    job.state = 'active';
    lane.active += 1;
    const attempt = job.attemptsMade + 1;
    job.attemptsMade = attempt;
    const done = runAttempt({
      task: job.task,
      queue: lane.name,
      jobId: job.id,
      attempt,
      maxAttempts: job.maxAttempts,
      data: job.data,
      worker: this.#worker,
      jobLog: this.#options.jobLog,
      logger: this.#options.logger,
      signals: [this.#shutdown.signal],
    })
      .then(
        () => this.#finish(lane, job, 'completed'),
        (error: unknown) => {
          const retry = attempt < job.maxAttempts && !(error instanceof PermanentJobError);
          if (!retry) this.#finish(lane, job, 'failed');
          // Stopping: the retry would never run; it stays delayed and dies with the process.
          else if (this.#stopping) job.state = 'delayed';
          else this.#delay(lane, job, backoffDelay(job.backoffMs, attempt));
        },
      )
      .finally(() => {
        lane.active -= 1;
        this.#running.delete(done);
        this.#pump(lane);
      });
    this.#running.add(done);
  }

  #finish(lane: Lane, job: Job, state: 'completed' | 'failed'): void {
    job.state = state;
    const history = lane.history[state];
    history.push(job.id);
    while (history.length > HISTORY[state]) lane.jobs.delete(history.shift()!);
  }

  async startWorkers(options: WorkerOptions): Promise<void> {
    if (this.#closed || this.#stopping) throw new Error('job queue is closed');
    this.#worker = { instanceId: this.#options.instanceId, role: options.role ?? 'worker' };
    const queues = options.queues ?? [...new Set([...this.#options.tasks.values()].map((t) => t.queue))];
    for (const name of queues) {
      const lane = this.#lane(name);
      lane.concurrency = options.concurrency;
      this.#pump(lane);
    }
  }

  async schedule(taskName: string, repeat: { readonly everyMs: number }, data: unknown = {}): Promise<void> {
    if (this.#closed) throw new Error('job queue is closed');
    const task = resolveTask(this.#options.tasks, taskName);
    validateEvery(repeat.everyMs);
    const dataJson = JSON.stringify(data) ?? '{}';
    const existing = this.#schedules.get(task.name);
    // Same schedule again (a second scheduler, a restart of the caller): keep the one running.
    if (existing && existing.everyMs === repeat.everyMs && existing.dataJson === dataJson) return;
    if (existing) clearInterval(existing.timer);
    const schedule: Schedule = {
      everyMs: repeat.everyMs,
      dataJson,
      nextRunAt: Date.now(),
      timer: setInterval(() => this.#tick(task, schedule), repeat.everyMs).unref(),
    };
    this.#schedules.set(task.name, schedule);
    this.#tick(task, schedule);
  }

  #tick(task: AnyTask, schedule: Schedule): void {
    const now = Date.now();
    schedule.nextRunAt = now + schedule.everyMs;
    // Like BullMQ, at most one pending run per schedule: no pile-up while no worker takes them.
    const last = schedule.lastJobId ? this.#lane(task.queue).jobs.get(schedule.lastJobId) : undefined;
    if (last?.state === 'waiting') return;
    schedule.lastJobId = this.#add(task, JSON.parse(schedule.dataJson), `repeat.${task.name}.${now}`, 0);
  }

  async unschedule(taskName: string): Promise<boolean> {
    const existing = this.#schedules.get(taskName);
    if (!existing) return false;
    clearInterval(existing.timer);
    this.#schedules.delete(taskName);
    return true;
  }

  async schedules(): Promise<ScheduleInfo[]> {
    return [...this.#schedules].map(([task, s]) => ({ task, everyMs: s.everyMs, nextRunAt: s.nextRunAt }));
  }

  async stats(): Promise<Record<QueueName, QueueCounts>> {
    const stats = emptyCounts();
    for (const lane of this.#lanes.values()) {
      const counts = { waiting: 0, active: 0, delayed: 0, completed: 0, failed: 0 };
      for (const job of lane.jobs.values()) counts[job.state] += 1;
      stats[lane.name] = counts;
    }
    return stats;
  }

  /** Nothing external to reach. */
  async ping(): Promise<number> {
    return 0;
  }

  async stopWorkers(options: { readonly timeoutMs?: number } = {}): Promise<void> {
    this.#stopping = true;
    if (this.#running.size > 0) {
      const timeoutMs = options.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>(
        (done) => (timer = setTimeout(() => done('timeout'), timeoutMs)),
      );
      const outcome = await Promise.race([Promise.allSettled([...this.#running]), timedOut]);
      clearTimeout(timer);
      if (outcome === 'timeout') {
        this.#options.logger.warn(
          { running: this.#running.size, timeoutMs },
          'jobs still running at shutdown; aborting them',
        );
      }
    }
    // Whatever still runs is interrupted; its attempt is recorded as failed in job_logs.
    this.#shutdown.abort(new JobInterruptedError());
    await Promise.allSettled([...this.#running]);
  }

  async close(options: CloseOptions = {}): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const schedule of this.#schedules.values()) clearInterval(schedule.timer);
    this.#schedules.clear();
    await this.stopWorkers({ timeoutMs: (options.drain ?? true) ? options.timeoutMs : 0 });
    let pending = 0;
    for (const lane of this.#lanes.values()) {
      for (const job of lane.jobs.values()) {
        if (job.timer) clearTimeout(job.timer);
        if (job.state === 'waiting' || job.state === 'delayed') pending += 1;
      }
      lane.waiting.length = 0;
    }
    if (pending > 0) this.#options.logger.warn({ pending }, 'in-process queue closed with jobs not yet run');
  }
}
