// The one job-queue interface. Two implementations satisfy it: BullMQ on Redis (several
// processes) and an in-process queue (the embedded default). Callers only ever see this file,
// so a task behaves the same on both: same attempts, backoff, dedupe, logging and shutdown.
import type { Logger } from '../logging.ts';
import type { JobLog } from './job-log.ts';

/** The queues, few and fixed. A worker process can be pointed at a subset of them. */
export const QUEUE_NAMES = ['default', 'ceremony', 'lightning', 'maintenance'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

/** The process running a job (not the one that enqueued it). */
export interface WorkerIdentity {
  readonly instanceId: string;
  /** What the process was started as: 'worker', 'api+worker+scheduler', … */
  readonly role: string;
}

export interface TaskContext {
  readonly jobId: string;
  /** 1 for the first attempt, 2 for the first retry, … */
  readonly attempt: number;
  readonly logger: Logger;
  /** Aborted when the attempt times out or the process shuts down; handlers should honour it. */
  readonly signal: AbortSignal;
  readonly worker: WorkerIdentity;
}

export interface TaskDefinition<T = unknown> {
  /** Unique; stored as job_logs.job_name (at most 64 characters). */
  readonly name: string;
  readonly queue: QueueName;
  /** Attempts before the job is failed; default config.jobs.attempts. */
  readonly attempts?: number;
  /** First retry delay; doubles on each further attempt. Default config.jobs.backoffMs. */
  readonly backoffMs?: number;
  /** An attempt running longer fails (and its signal is aborted). Unset: no limit. */
  readonly timeoutMs?: number;
  readonly handler: (data: T, ctx: TaskContext) => Promise<unknown>;
}

// Handlers are contravariant in their data, so a registry of mixed tasks is typed loosely.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyTask = TaskDefinition<any>;

/** Every task a process knows, by name: routes enqueue() to a queue and workers to a handler. */
export type TaskRegistry = ReadonlyMap<string, AnyTask>;

const TASK_NAME = /^[a-z][a-z0-9_.-]{0,63}$/;
/** BullMQ refuses integer ids and ':'; the same rule on both implementations. */
const JOB_ID = /^(?!\d+$)[A-Za-z0-9_.-]{1,128}$/;

export function defineTask<T>(definition: TaskDefinition<T>): TaskDefinition<T> {
  if (!TASK_NAME.test(definition.name)) throw new Error(`task name "${definition.name}" is not valid`);
  if (!QUEUE_NAMES.includes(definition.queue)) throw new Error(`task ${definition.name}: unknown queue`);
  for (const key of ['attempts', 'backoffMs', 'timeoutMs'] as const) {
    const value = definition[key];
    if (value !== undefined && !(Number.isSafeInteger(value) && value >= 1)) {
      throw new Error(`task ${definition.name}: ${key} must be a positive whole number`);
    }
  }
  return definition;
}

export function taskRegistry(tasks: readonly AnyTask[]): TaskRegistry {
  const table = new TaskTable();
  table.register(tasks);
  return table.registry;
}

/**
 * The tasks of a process, registered by each module as the composition builds it. The queue is
 * built first, reading this table, so that every module can be given the queue itself; the table
 * is sealed before the workers start, and reads only from then on.
 */
export class TaskTable {
  readonly #tasks = new Map<string, AnyTask>();
  #sealed = false;

  get registry(): TaskRegistry {
    return this.#tasks;
  }

  register(tasks: Iterable<AnyTask>): void {
    if (this.#sealed) throw new Error('tasks are registered before the workers start');
    for (const task of tasks) {
      if (this.#tasks.has(task.name)) throw new Error(`task ${task.name} is defined twice`);
      this.#tasks.set(task.name, task);
    }
  }

  seal(): void {
    this.#sealed = true;
  }
}

export interface EnqueueOptions {
  /** Dedupes: a job with this id that is still pending or in recent history is not added again. */
  readonly jobId?: string;
  readonly delayMs?: number;
}

export interface WorkerOptions {
  /** Jobs run at the same time, per queue. */
  readonly concurrency: number;
  /** Queues this process works on; default every queue that has a task. */
  readonly queues?: readonly QueueName[];
  /** Given to handlers as ctx.worker.role; default 'worker'. */
  readonly role?: string;
}

export interface CloseOptions {
  /** true (default): stop taking jobs, let running ones finish (bounded by timeoutMs). false: abort them. */
  readonly drain?: boolean;
  readonly timeoutMs?: number;
}

export interface QueueCounts {
  readonly waiting: number;
  readonly active: number;
  /** Scheduled for later, including retries waiting out their backoff. */
  readonly delayed: number;
  /** Kept in recent history (bounded by HISTORY); job_logs holds the full record. */
  readonly completed: number;
  readonly failed: number;
}

export interface ScheduleInfo {
  readonly task: string;
  readonly everyMs: number;
  /** Unix ms of the next run, when known. */
  readonly nextRunAt: number | undefined;
}

export interface JobQueue {
  readonly kind: 'in-process' | 'bullmq';
  /** Resolves with the job id once the job is stored; rejects for an unknown task or bad options. */
  enqueue<T>(task: string | TaskDefinition<T>, data: T, options?: EnqueueOptions): Promise<string>;
  /** Starts taking jobs from the queues; call once per process that works. */
  startWorkers(options: WorkerOptions): Promise<void>;
  /**
   * Stops taking jobs for good and waits for running ones (at most `timeoutMs`, default 15 s,
   * then aborts them). Enqueueing still works; close() calls this first.
   */
  stopWorkers(options?: { readonly timeoutMs?: number }): Promise<void>;
  /** Repeats a task every `everyMs` (first run at once). Idempotent across processes: one schedule per task. */
  schedule(task: string, repeat: { readonly everyMs: number }, data?: unknown): Promise<void>;
  /** true when a schedule was removed. */
  unschedule(task: string): Promise<boolean>;
  schedules(): Promise<ScheduleInfo[]>;
  stats(): Promise<Record<QueueName, QueueCounts>>;
  /** Latency of the backing store in ms; rejects within about a second when it is unreachable. */
  ping(timeoutMs?: number): Promise<number>;
  close(options?: CloseOptions): Promise<void>;
}

/** Settings both implementations take from Config.jobs. */
export interface JobDefaults {
  readonly attempts: number;
  readonly backoffMs: number;
}

/** What both implementations are built from. */
export interface JobQueueDeps {
  readonly tasks: TaskRegistry;
  readonly jobLog: JobLog;
  readonly logger: Logger;
  /** Written to job_logs.instance_id for every attempt this process runs. */
  readonly instanceId: string;
  readonly defaults: JobDefaults;
}

/** Finished jobs kept for stats and dedupe; the same numbers on both implementations. */
export const HISTORY = { completed: 1000, failed: 5000 } as const;

export const DEFAULT_CLOSE_TIMEOUT_MS = 15_000;

/** Thrown by a handler when retrying cannot help (bad input): the job fails at once. */
export class PermanentJobError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PermanentJobError';
  }
}

export class UnknownTaskError extends Error {
  constructor(name: string) {
    super(`unknown task "${name}"`);
    this.name = 'UnknownTaskError';
  }
}

export function resolveTask(registry: TaskRegistry, task: string | AnyTask): AnyTask {
  const name = typeof task === 'string' ? task : task.name;
  const found = registry.get(name);
  if (!found) throw new UnknownTaskError(name);
  return found;
}

export function validateEnqueueOptions(options: EnqueueOptions): void {
  if (options.jobId !== undefined && !JOB_ID.test(options.jobId)) {
    throw new Error(`jobId "${options.jobId}" must be 1-128 of A-Z a-z 0-9 _ . - and not only digits`);
  }
  const delay = options.delayMs;
  if (delay !== undefined && !(Number.isSafeInteger(delay) && delay >= 0)) {
    throw new Error('delayMs must be a whole number of milliseconds, 0 or more');
  }
}

export function validateEvery(everyMs: number): void {
  if (!(Number.isSafeInteger(everyMs) && everyMs >= 10))
    throw new Error('everyMs must be a whole number ≥ 10');
}

/** Exponential backoff, the formula BullMQ uses: backoffMs, 2×, 4×, … */
export function backoffDelay(backoffMs: number, attemptsMade: number): number {
  return Math.round(backoffMs * 2 ** (attemptsMade - 1));
}

/** Job data crosses Redis as JSON; the in-process queue copies it the same way so both behave alike. */
export function jsonCopy<T>(data: T): T {
  const text = JSON.stringify(data);
  return (text === undefined ? undefined : JSON.parse(text)) as T;
}

export function emptyCounts(): Record<QueueName, QueueCounts> {
  const zero = { waiting: 0, active: 0, delayed: 0, completed: 0, failed: 0 };
  return Object.fromEntries(QUEUE_NAMES.map((q) => [q, { ...zero }])) as Record<QueueName, QueueCounts>;
}
