// The job system's public surface, and the factory that picks the implementation: BullMQ when
// REDIS_URL is set (after checking Redis answers), otherwise the in-process queue.
import type { Config } from '../config.ts';
import type { Logger } from '../logging.ts';
import type { Database } from '../store/database.ts';
import { BullmqQueue } from './bullmq-queue.ts';
import { InProcessQueue } from './in-process-queue.ts';
import { JobLog } from './job-log.ts';
import type { JobQueue, TaskRegistry } from './queue.ts';
import { connectRedis } from './redis.ts';

export * from './queue.ts';
export { BullmqQueue } from './bullmq-queue.ts';
export { InProcessQueue } from './in-process-queue.ts';
export { JobLog, recentJobLogs, jobStatistics, deleteJobLogsBefore } from './job-log.ts';
export type { JobLogEntry, JobStatistics, JobStatus } from './job-log.ts';
export { connectRedis } from './redis.ts';

/** Throws StartupError (REDIS_URL) when Redis is configured but does not answer. */
export async function createJobQueue(
  config: Config,
  deps: { readonly tasks: TaskRegistry; readonly database: Database; readonly logger: Logger },
): Promise<JobQueue> {
  const common = {
    tasks: deps.tasks,
    jobLog: new JobLog(deps.database),
    logger: deps.logger.child({ component: 'jobs' }),
    instanceId: config.instanceId,
    defaults: { attempts: config.jobs.attempts, backoffMs: config.jobs.backoffMs },
  };
  if (!config.redis) return new InProcessQueue(common);
  await connectRedis(config.redis);
  return new BullmqQueue({ ...common, redis: config.redis, prefix: config.jobs.prefix });
}
