// One attempt of one job, run identically by both queue implementations: the job_logs row,
// the timeout, the abort signal and the log lines all come from here. The queue around it only
// decides what happens next (retry after backoff, or failed).
import type { Logger } from '../logging.ts';
import { errorText, type JobLog } from './job-log.ts';
import { PermanentJobError, type AnyTask, type WorkerIdentity } from './queue.ts';

export class JobTimeoutError extends Error {
  constructor(ms: number) {
    super(`attempt did not finish within ${ms} ms`);
    this.name = 'JobTimeoutError';
  }
}

export class JobInterruptedError extends Error {
  constructor() {
    super('interrupted: the worker is shutting down');
    this.name = 'JobInterruptedError';
  }
}

export interface AttemptInput {
  readonly task: AnyTask;
  readonly queue: string;
  readonly jobId: string;
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly data: unknown;
  readonly worker: WorkerIdentity;
  readonly jobLog: JobLog;
  readonly logger: Logger;
  /** Aborted when the worker gives up waiting at shutdown (or BullMQ cancels the job). */
  readonly signals: readonly AbortSignal[];
}

/** Resolves with the handler's result or rejects with its error (or a timeout/interruption). */
export async function runAttempt(input: AttemptInput): Promise<unknown> {
  const { task, jobId, attempt } = input;
  const logger = input.logger.child({ task: task.name, queue: input.queue, jobId, attempt });
  const own = new AbortController();
  const signal = AbortSignal.any([own.signal, ...input.signals]);
  const startedAt = Date.now();
  // A database hiccup must not lose the job itself: the log row is best effort.
  const logId = await input.jobLog
    .start({
      jobId,
      queue: input.queue,
      jobName: task.name,
      attempt,
      instanceId: input.worker.instanceId,
      startedAt,
    })
    .catch((error: unknown) => {
      logger.warn({ error: errorText(error) }, 'job log: could not record the attempt');
      return undefined;
    });
  const record = async (status: 'completed' | 'failed', outcome: unknown) => {
    if (logId === undefined) return;
    const end = status === 'completed' ? { result: outcome } : { error: outcome };
    await input.jobLog
      .finish(logId, startedAt, { status, finishedAt: Date.now(), ...end })
      .catch((error: unknown) => {
        logger.warn({ error: errorText(error) }, 'job log: could not record the outcome');
      });
  };

  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    if (signal.aborted) throw signal.reason;
    const work = Promise.resolve().then(() =>
      task.handler(input.data, { jobId, attempt, logger, signal, worker: input.worker }),
    );
    // A handler that ignores its signal keeps running after we stop waiting; swallow its end.
    work.catch(() => undefined);
    const stopped = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    if (task.timeoutMs)
      timer = setTimeout(() => own.abort(new JobTimeoutError(task.timeoutMs!)), task.timeoutMs);
    const result = await Promise.race([work, stopped]);
    await record('completed', result);
    logger.debug({ durationMs: Date.now() - startedAt }, 'job completed');
    return result;
  } catch (error) {
    await record('failed', error);
    const final = attempt >= input.maxAttempts || error instanceof PermanentJobError;
    logger[final ? 'error' : 'warn'](
      { error: errorText(error), maxAttempts: input.maxAttempts },
      final ? 'job failed' : 'job attempt failed; will retry',
    );
    throw error;
  } finally {
    clearTimeout(timer);
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}
