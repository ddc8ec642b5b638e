// Read-only operational views: /health/comprehensive, /monitoring/*, /stats, /jobs. Alerts are
// answered from the alert engine's memory when the database is down; anything else that needs
// a dependency that is down answers 503 naming it (the server's error handler).
import { Type } from 'typebox';
import { recentJobLogs, type JobStatus } from '../../jobs/index.ts';
import { JOB_STATUSES } from '../../jobs/job-log.ts';
import { HttpError, unavailableDependency, within } from '../errors.ts';
import type { HttpServer, RoutePlugin } from '../server.ts';
import {
  comprehensiveHealth,
  jobView,
  ledgerCounts,
  processInfo,
  QUEUE_READ_DEADLINE_MS,
  queueDependency,
  type OperationsDeps,
} from '../operations.ts';

const Limit = Type.Integer({ minimum: 1, maximum: 1000, default: 100 });
const StatusFilter = Type.Union(JOB_STATUSES.map((s) => Type.Literal(s)));

export function monitoringRoutes(deps: OperationsDeps): RoutePlugin {
  return async (app: HttpServer) => {
    app.get(
      '/health/comprehensive',
      {
        schema: {
          summary: 'Full system health; 503 while monitoring is not running or a critical dependency is down',
          tags: ['monitoring'],
        },
      },
      async (_request, reply) => {
        const report = await comprehensiveHealth(deps);
        const ok = deps.monitoring.running && report.status !== 'unhealthy';
        return reply.status(ok ? 200 : 503).send(report);
      },
    );

    app.get(
      '/monitoring/stats',
      { schema: { summary: 'The monitoring service: state, last sample, rules', tags: ['monitoring'] } },
      async () => {
        const statuses = await deps.alerts.statuses();
        return {
          running: deps.monitoring.running,
          started_at: deps.monitoring.startedAt ? new Date(deps.monitoring.startedAt).toISOString() : null,
          last_sample: deps.sampler.last ?? null,
          rules: statuses.length,
          rules_enabled: statuses.filter((s) => s.enabled).length,
          alerts_firing: statuses.filter((s) => s.state === 'firing').length,
          process: processInfo(deps),
        };
      },
    );

    app.get(
      '/monitoring/alerts',
      {
        schema: {
          summary: 'Alerts firing now and the recent history',
          tags: ['monitoring'],
          querystring: Type.Object({ limit: Limit }, { additionalProperties: false }),
        },
      },
      async (request) => ({
        firing: await deps.alerts.firing(),
        history: await deps.alerts.history(request.query.limit),
      }),
    );

    app.get(
      '/monitoring/cache/stats',
      { schema: { summary: 'Read cache hits and misses', tags: ['monitoring'] } },
      async () => deps.cache.stats(),
    );

    app.get(
      '/stats',
      {
        schema: {
          summary:
            'Roll-up of the system: process, queues, ledger, alerts; queues null (named in `unavailable`) while Redis is down, 503 while the database is',
          tags: ['monitoring'],
        },
      },
      async () => {
        const unavailable: string[] = [];
        const queues = await within(
          deps.queue.stats(),
          QUEUE_READ_DEADLINE_MS,
          queueDependency(deps.queue),
        ).catch((error: unknown) => {
          const dependency = unavailableDependency(error);
          if (!dependency) throw error;
          unavailable.push(dependency);
          return null;
        });
        return {
          process: processInfo(deps),
          queues,
          ledger: await ledgerCounts(deps),
          alerts_firing: (await deps.alerts.firing()).map((a) => a.rule),
          unavailable,
        };
      },
    );

    app.get(
      '/jobs',
      {
        schema: {
          summary: 'Recent job attempts, newest first',
          tags: ['jobs'],
          querystring: Type.Object(
            { limit: Limit, status: Type.Optional(StatusFilter) },
            { additionalProperties: false },
          ),
        },
      },
      async (request) => {
        const { limit, status } = request.query;
        const entries = await recentJobLogs(deps.database, {
          limit,
          ...(status ? { status: status as JobStatus } : {}),
        });
        return { jobs: entries.map(jobView) };
      },
    );

    app.get(
      '/jobs/:id',
      {
        schema: {
          summary: 'Every attempt of one job',
          tags: ['jobs'],
          params: Type.Object({
            id: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.-]+$' }),
          }),
        },
      },
      async (request) => {
        const attempts = await recentJobLogs(deps.database, { jobId: request.params.id, limit: 1000 });
        if (attempts.length === 0) throw new HttpError('not_found', `no job ${request.params.id}`);
        const latest = attempts[0]!;
        return {
          job_id: latest.jobId,
          job_name: latest.jobName,
          status: latest.status,
          attempts: attempts.map(jobView).reverse(),
        };
      },
    );
  };
}
