// job_logs writes and the reads behind /admin/logs/recent and /admin/jobs/statistics, on
// SQLite and (with DATABASE_URL) MariaDB.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  JobLog,
  deleteJobLogsBefore,
  errorText,
  jobStatistics,
  recentJobLogs,
  resultText,
} from '../../src/jobs/job-log.ts';
import type { Database } from '../../src/store/database.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { DATABASE_KINDS } from './contract.ts';

describe('job log texts', () => {
  it('keeps an error to "Name: message" without its stack, and cuts long ones', () => {
    const error = new TypeError('bad amount');
    expect(errorText(error)).toBe('TypeError: bad amount');
    expect(errorText('plain')).toBe('plain');
    expect(errorText(new Error('x'.repeat(5000)))).toHaveLength(2000);
  });

  it('stores small results as JSON, bigints as strings, and large ones as a note', () => {
    expect(resultText(undefined)).toBeNull();
    expect(resultText({ sats: 10n })).toBe('{"sats":"10"}');
    expect(JSON.parse(resultText('y'.repeat(10_000))!)).toEqual({ truncated: true, chars: 10_002 });
  });
});

for (const kind of DATABASE_KINDS) {
  describe(`job_logs on ${kind}`, () => {
    let testDb: TestDatabase;
    let database: Database;
    let log: JobLog;
    beforeAll(async () => {
      testDb = await createTestDatabase(kind);
      database = testDb.database;
      log = new JobLog(database);
    });
    afterAll(async () => {
      await testDb?.drop();
    });

    const base = { queue: 'default', instanceId: 'i-1' };

    it('records an attempt as running, then its outcome, once', async () => {
      const id = await log.start({ ...base, jobId: 'j-1', jobName: 'settle', attempt: 1, startedAt: 1_000 });
      let [row] = await recentJobLogs(database, { jobId: 'j-1' });
      expect(row).toMatchObject({
        id,
        status: 'running',
        finishedAt: null,
        durationMs: null,
        startedAt: 1_000,
      });
      await log.finish(id, 1_000, { status: 'completed', finishedAt: 1_250, result: { ok: true } });
      // A late second report (a retry of the write) does not overwrite the outcome.
      await log.finish(id, 1_000, { status: 'failed', finishedAt: 9_999, error: new Error('late') });
      [row] = await recentJobLogs(database, { jobId: 'j-1' });
      expect(row).toMatchObject({
        status: 'completed',
        finishedAt: 1_250,
        durationMs: 250,
        resultJson: '{"ok":true}',
        error: null,
      });
    });

    it('lists recent logs newest first, by status, with a bounded limit', async () => {
      const t = 10_000;
      for (let i = 0; i < 5; i++) {
        const id = await log.start({
          ...base,
          jobId: `r-${i}`,
          jobName: 'recent',
          attempt: 1,
          startedAt: t + i,
        });
        if (i % 2 === 0)
          await log.finish(id, t + i, {
            status: 'failed',
            finishedAt: t + i + 5,
            error: new Error(`no ${i}`),
          });
      }
      const failed = await recentJobLogs(database, { status: 'failed', limit: 2 });
      expect(failed.map((r) => r.jobId)).toEqual(['r-4', 'r-2']);
      expect(failed[0]!.error).toBe('Error: no 4');
      const running = await recentJobLogs(database, { status: 'running' });
      expect(running.map((r) => r.jobId)).toEqual(['r-3', 'r-1']);
      expect(await recentJobLogs(database, { limit: 0 })).toHaveLength(1);
    });

    it('computes statistics per job name over a window', async () => {
      const since = 100_000;
      await log.start({ ...base, jobId: 'old', jobName: 'stats-a', attempt: 1, startedAt: since - 1 }); // outside
      const add = async (
        jobName: string,
        status: 'completed' | 'failed' | 'running',
        duration: number,
        at: number,
      ) => {
        const id = await log.start({
          ...base,
          jobId: `${jobName}-${at}`,
          jobName,
          attempt: 1,
          startedAt: at,
        });
        if (status !== 'running') await log.finish(id, at, { status, finishedAt: at + duration, error: 'x' });
      };
      await add('stats-a', 'completed', 100, since);
      await add('stats-a', 'completed', 200, since + 1);
      await add('stats-a', 'failed', 300, since + 2);
      await add('stats-a', 'running', 0, since + 3);
      await add('stats-b', 'running', 0, since + 4);
      const stats = await jobStatistics(database, { sinceMs: since });
      expect(stats).toEqual([
        {
          jobName: 'stats-a',
          total: 4,
          running: 1,
          completed: 2,
          failed: 1,
          failureRate: 1 / 3,
          avgDurationMs: 200,
        },
        {
          jobName: 'stats-b',
          total: 1,
          running: 1,
          completed: 0,
          failed: 0,
          failureRate: 0,
          avgDurationMs: null,
        },
      ]);
    });

    it('deletes logs older than a cut-off', async () => {
      await log.start({ ...base, jobId: 'ancient', jobName: 'cleanup', attempt: 1, startedAt: 5 });
      expect(await deleteJobLogsBefore(database, 6)).toBe(1);
      expect(await recentJobLogs(database, { jobId: 'ancient' })).toEqual([]);
    });
  });
}
