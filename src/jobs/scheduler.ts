// The repeating jobs, in one list, and the scheduler that keeps the queue's schedules equal to
// it. Schedules are upserted by task name, so several scheduler processes agree on one; ones no
// longer listed are removed, so a dropped job does not repeat forever in Redis. The check is
// repeated now and then, so a flushed Redis gets its schedules back without a restart.
import type { Config } from '../config.ts';
import { FailureLog } from '../failure-log.ts';
import type { Logger } from '../logging.ts';
import type { JobQueue } from './queue.ts';
import { HEARTBEAT_TASK } from './tasks/heartbeat.ts';

export interface RepeatingJob {
  readonly task: string;
  readonly everyMs: number;
  readonly data?: unknown;
}

export interface Scheduler {
  readonly jobs: readonly RepeatingJob[];
  stop(): Promise<void>;
}

const RECONCILE_EVERY_MS = 60_000;

/** The heartbeat, plus the repeating jobs of the modules the composition root built. */
export function repeatingJobs(config: Config, extra: readonly RepeatingJob[] = []): RepeatingJob[] {
  return [{ task: HEARTBEAT_TASK, everyMs: config.jobs.heartbeatIntervalMs }, ...extra];
}

/** Makes the queue's schedules match `jobs`; only touches what differs, so it is cheap to repeat. */
export async function reconcileSchedules(queue: JobQueue, jobs: readonly RepeatingJob[]): Promise<void> {
  const existing = new Map((await queue.schedules()).map((s) => [s.task, s]));
  for (const job of jobs) {
    if (existing.get(job.task)?.everyMs === job.everyMs) continue;
    await queue.schedule(job.task, { everyMs: job.everyMs }, job.data ?? {});
  }
  const wanted = new Set(jobs.map((job) => job.task));
  for (const task of existing.keys()) if (!wanted.has(task)) await queue.unschedule(task);
}

export async function startScheduler(
  queue: JobQueue,
  config: Config,
  logger: Logger,
  options: { readonly reconcileEveryMs?: number; readonly jobs?: readonly RepeatingJob[] } = {},
): Promise<Scheduler> {
  const jobs = repeatingJobs(config, options.jobs);
  await reconcileSchedules(queue, jobs);
  logger.info({ jobs: jobs.map((j) => `${j.task} every ${j.everyMs} ms`) }, 'scheduler started');
  // Through a Redis outage every check fails: one line a minute with a count, one when it works.
  const failures = new FailureLog({ logger, what: 'checking the schedules' });
  const timer = setInterval(() => {
    reconcileSchedules(queue, jobs).then(
      () => failures.succeeded(),
      (error: unknown) => failures.failed(error),
    );
  }, options.reconcileEveryMs ?? RECONCILE_EVERY_MS).unref();
  return {
    jobs,
    async stop() {
      clearInterval(timer);
      // In-process schedules are timers of this process: stop them with it. BullMQ schedules
      // live in Redis and keep running for the other processes.
      if (queue.kind === 'in-process') for (const job of jobs) await queue.unschedule(job.task);
    },
  };
}
