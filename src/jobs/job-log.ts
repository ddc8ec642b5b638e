// job_logs: one row per attempt of every job, written the same way by both queue
// implementations (through runAttempt), and read by /admin/logs/recent and
// /admin/jobs/statistics. Times are unix milliseconds UTC.
import { sql } from 'kysely';
import type { Database } from '../store/database.ts';
import type { JobStatus } from '../store/schema.ts';

export type { JobStatus };
export const JOB_STATUSES: readonly JobStatus[] = ['running', 'completed', 'failed'];

/** Long texts are cut: an error message or a result is a hint, not a payload store. */
const MAX_ERROR_CHARS = 2000;
const MAX_RESULT_CHARS = 4000;

export interface AttemptStart {
  readonly jobId: string;
  readonly queue: string;
  readonly jobName: string;
  readonly attempt: number;
  readonly instanceId: string;
  readonly startedAt: number;
}

export interface AttemptEnd {
  readonly status: 'completed' | 'failed';
  readonly finishedAt: number;
  readonly error?: unknown;
  readonly result?: unknown;
}

export interface JobLogEntry {
  readonly id: number;
  readonly jobId: string;
  readonly queue: string;
  readonly jobName: string;
  readonly status: JobStatus;
  readonly attempt: number;
  readonly instanceId: string;
  readonly startedAt: number;
  readonly finishedAt: number | null;
  readonly durationMs: number | null;
  readonly error: string | null;
  readonly resultJson: string | null;
}

export interface JobStatistics {
  readonly jobName: string;
  readonly total: number;
  readonly running: number;
  readonly completed: number;
  readonly failed: number;
  /** failed / (completed + failed); 0 when nothing finished. */
  readonly failureRate: number;
  /** Over finished attempts; null when none finished. */
  readonly avgDurationMs: number | null;
}

/** "Name: message" only — stacks can carry paths and values that do not belong in a table. */
export function errorText(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.length > MAX_ERROR_CHARS ? `${text.slice(0, MAX_ERROR_CHARS - 1)}…` : text;
}

export function resultText(result: unknown): string | null {
  if (result === undefined) return null;
  let text: string | undefined;
  try {
    text = JSON.stringify(result, (_key, value: unknown) =>
      typeof value === 'bigint' ? value.toString() : value,
    );
  } catch {
    text = JSON.stringify({ unserialisable: true });
  }
  if (text === undefined) return null;
  return text.length > MAX_RESULT_CHARS ? JSON.stringify({ truncated: true, chars: text.length }) : text;
}

export class JobLog {
  readonly #database: Database;
  constructor(database: Database) {
    this.#database = database;
  }

  // Both writes are records of what ran, not state a job depends on: written loss-tolerant
  // (see Database.lossTolerant), they do not each wait for the disk.

  /** Writes the `running` row of an attempt; resolves with its id. */
  async start(entry: AttemptStart): Promise<number> {
    const inserted = await this.#database.lossTolerant((db) =>
      db
        .insertInto('job_logs')
        .values({
          job_id: entry.jobId,
          queue: entry.queue,
          job_name: entry.jobName,
          status: 'running',
          attempt: entry.attempt,
          instance_id: entry.instanceId,
          started_at: entry.startedAt,
        })
        .executeTakeFirstOrThrow(),
    );
    if (inserted.insertId === undefined) throw new Error('job_logs insert returned no id');
    return Number(inserted.insertId);
  }

  /** Turns the `running` row into its outcome. */
  async finish(id: number, startedAt: number, end: AttemptEnd): Promise<void> {
    await this.#database.lossTolerant((db) =>
      db
        .updateTable('job_logs')
        .set({
          status: end.status,
          finished_at: end.finishedAt,
          duration_ms: Math.max(0, end.finishedAt - startedAt),
          error: end.status === 'failed' ? errorText(end.error) : null,
          result_json: end.status === 'completed' ? resultText(end.result) : null,
        })
        .where('id', '=', id)
        .where('status', '=', 'running')
        .execute(),
    );
  }
}

type Row = {
  id: number | bigint | string;
  job_id: string;
  queue: string;
  job_name: string;
  status: JobStatus;
  attempt: number | bigint | string;
  instance_id: string;
  started_at: number | bigint | string;
  finished_at: number | bigint | string | null;
  duration_ms: number | bigint | string | null;
  error: string | null;
  result_json: string | null;
};

// MariaDB hands BIGINT back as string or number depending on driver settings, SQLite as
// number or bigint: normalise at the edge.
const num = (value: number | bigint | string): number => Number(value);
const numOrNull = (value: number | bigint | string | null): number | null =>
  value === null ? null : Number(value);

function toEntry(row: Row): JobLogEntry {
  return {
    id: num(row.id),
    jobId: row.job_id,
    queue: row.queue,
    jobName: row.job_name,
    status: row.status,
    attempt: num(row.attempt),
    instanceId: row.instance_id,
    startedAt: num(row.started_at),
    finishedAt: numOrNull(row.finished_at),
    durationMs: numOrNull(row.duration_ms),
    error: row.error,
    resultJson: row.result_json,
  };
}

/** Newest first. */
export async function recentJobLogs(
  database: Database,
  options: { readonly status?: JobStatus; readonly limit?: number; readonly jobId?: string } = {},
): Promise<JobLogEntry[]> {
  const limit = Math.min(Math.max(Math.trunc(options.limit ?? 100), 1), 1000);
  let query = database.db.selectFrom('job_logs').selectAll();
  if (options.status) query = query.where('status', '=', options.status);
  if (options.jobId) query = query.where('job_id', '=', options.jobId);
  const rows = await query.orderBy('started_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
  return rows.map((row) => toEntry(row as Row));
}

/** Per job name, over attempts started at or after `sinceMs`. */
export async function jobStatistics(
  database: Database,
  options: { readonly sinceMs: number },
): Promise<JobStatistics[]> {
  const rows = await database.db
    .selectFrom('job_logs')
    .where('started_at', '>=', options.sinceMs)
    .select((eb) => {
      const countOf = (status: JobStatus) =>
        eb.fn.sum<number | string>(eb.case().when('status', '=', status).then(1).else(0).end());
      return [
        'job_name',
        eb.fn.countAll<number | string>().as('total'),
        countOf('running').as('running'),
        countOf('completed').as('completed'),
        countOf('failed').as('failed'),
        eb.fn.avg<number | string | null>('duration_ms').as('avg_duration'),
      ];
    })
    .groupBy('job_name')
    .orderBy('job_name')
    .execute();
  return rows.map((row) => {
    const completed = Number(row.completed ?? 0);
    const failed = Number(row.failed ?? 0);
    const finished = completed + failed;
    return {
      jobName: row.job_name,
      total: Number(row.total),
      running: Number(row.running ?? 0),
      completed,
      failed,
      failureRate: finished === 0 ? 0 : failed / finished,
      avgDurationMs: row.avg_duration === null ? null : Math.round(Number(row.avg_duration)),
    };
  });
}

/** For maintenance cleanup; resolves with the number of rows removed. */
export async function deleteJobLogsBefore(database: Database, beforeMs: number): Promise<number> {
  const result = await database.db
    .deleteFrom('job_logs')
    .where('started_at', '<', beforeMs)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Attempts that ended since `sinceMs`: how many failed, out of how many ended. */
export async function jobOutcomes(
  database: Database,
  sinceMs: number,
): Promise<{ failed: number; total: number }> {
  const row = await database.db
    .selectFrom('job_logs')
    .select([
      sql<number>`sum(case when status = 'failed' then 1 else 0 end)`.as('failed'),
      sql<number>`count(*)`.as('total'),
    ])
    .where('status', '!=', 'running')
    .where('started_at', '>=', sinceMs)
    .executeTakeFirst();
  return { failed: Number(row?.failed ?? 0), total: Number(row?.total ?? 0) };
}
