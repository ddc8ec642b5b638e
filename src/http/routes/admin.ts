// /admin/*: every admin route of the operator guide, behind X-Admin-Key, each call (accepted
// or refused) written to admin_audit_log.
import { systemSamples } from '../../monitoring/monitoring-service.ts';
import { Type } from 'typebox';
import { jobStatistics, recentJobLogs, type JobStatus } from '../../jobs/index.ts';
import { JOB_STATUSES } from '../../jobs/job-log.ts';
import { UnknownRuleError } from '../../monitoring/alerts.ts';
import {
  BACKUP_NAME_PATTERN,
  createBackup,
  listBackups,
  openBackup,
  pruneBackups,
  UnknownBackupError,
} from '../../operations/backup.ts';
import { cleanupOldData, databaseStats } from '../../operations/maintenance.ts';
import { ProfileBusyError, profileCpu } from '../../operations/profile.ts';
import { UnknownServiceError } from '../../operations/services.ts';
import { ADMIN_SECURITY } from '../admin-auth.ts';
import { HttpError } from '../errors.ts';
import type { HttpServer, RoutePlugin } from '../server.ts';
import {
  comprehensiveHealth,
  jobView,
  ledgerCounts,
  processInfo,
  type OperationsDeps,
} from '../operations.ts';

const NoExtra = { additionalProperties: false } as const;
function adminSchema(summary: string): {
  schema: { summary: string; tags: string[]; security: typeof ADMIN_SECURITY };
};
function adminSchema<S extends object>(
  summary: string,
  extra: S,
): { schema: S & { summary: string; tags: string[]; security: typeof ADMIN_SECURITY } };
function adminSchema(summary: string, extra: object = {}) {
  return { schema: { summary, tags: ['admin'], security: ADMIN_SECURITY, ...extra } };
}

/** Every route here is inside the admin scope (admin-scope.ts). */
export function adminRoutes(deps: OperationsDeps): RoutePlugin {
  return async (app: HttpServer) => {
    app.get('/admin/health/comprehensive', adminSchema('Full system health'), async () =>
      comprehensiveHealth(deps),
    );

    app.get(
      '/admin/metrics/system',
      adminSchema('System samples (CPU, memory, disk, event loop) of every instance', {
        querystring: Type.Object({ hours: Type.Integer({ minimum: 1, maximum: 720, default: 24 }) }, NoExtra),
      }),
      async (request) => {
        const rows = await systemSamples(deps.database, Date.now() - request.query.hours * 3_600_000);
        return {
          hours: request.query.hours,
          samples: rows.map((r) => ({
            instance: r.instance_id,
            sampled_at: new Date(Number(r.sampled_at)).toISOString(),
            cpu_percent: r.cpu_percent,
            memory_percent: r.memory_percent,
            memory_rss_bytes: r.memory_rss_bytes === null ? null : Number(r.memory_rss_bytes),
            disk_percent: r.disk_percent,
            disk_free_bytes: r.disk_free_bytes === null ? null : Number(r.disk_free_bytes),
            event_loop_lag_ms: r.event_loop_lag_ms,
            load_avg_1m: r.load_avg_1m,
          })),
        };
      },
    );

    app.get(
      '/admin/alerts',
      adminSchema('Alerts firing and their history', {
        querystring: Type.Object(
          { limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }) },
          NoExtra,
        ),
      }),
      async (request) => ({
        firing: await deps.alerts.firing(),
        history: await deps.alerts.history(request.query.limit),
      }),
    );

    app.get(
      '/admin/alerts/rules',
      adminSchema('Every alert rule with its threshold, state and toggle'),
      async () => ({
        rules: await deps.alerts.statuses(),
      }),
    );

    app.post(
      '/admin/alerts/rules/:rule_name/toggle',
      adminSchema('Turn an alert rule on or off', {
        params: Type.Object({ rule_name: Type.String({ minLength: 1, maxLength: 64 }) }),
      }),
      async (request) => {
        try {
          return await deps.alerts.toggle(request.params.rule_name);
        } catch (error) {
          if (error instanceof UnknownRuleError) throw new HttpError('not_found', error.message);
          throw error;
        }
      },
    );

    app.post(
      '/admin/maintenance/cleanup',
      adminSchema(
        'Remove old operational rows (job logs, samples, alert history, audit log); dry_run reports only',
        {
          body: Type.Object(
            { days: Type.Integer({ minimum: 1, maximum: 36_500 }), dry_run: Type.Boolean({ default: true }) },
            NoExtra,
          ),
        },
      ),
      async (request) => cleanupOldData(deps.database, request.body.days, request.body.dry_run),
    );

    app.get(
      '/admin/logs/recent',
      adminSchema('Recent job attempts from the job log', {
        querystring: Type.Object(
          {
            limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
            level: Type.Optional(Type.Union(JOB_STATUSES.map((s) => Type.Literal(s)))),
          },
          NoExtra,
        ),
      }),
      async (request) => {
        const { limit, level } = request.query;
        const entries = await recentJobLogs(deps.database, {
          limit,
          ...(level ? { status: level as JobStatus } : {}),
        });
        return { logs: entries.map(jobView) };
      },
    );

    app.get('/admin/database/stats', adminSchema('Rows and bytes per table'), async () =>
      databaseStats(deps.database),
    );

    app.get(
      '/admin/services/status',
      adminSchema('Internal services, queues and dependencies'),
      async () => ({
        services: deps.services.statuses(),
        queues: await deps.queue.stats().catch(() => null),
        dependencies: (await deps.health.report()).dependencies,
        process: processInfo(deps),
      }),
    );

    app.get(
      '/admin/jobs/statistics',
      adminSchema('Attempts, failures and durations per job over a window', {
        querystring: Type.Object({ hours: Type.Integer({ minimum: 1, maximum: 720, default: 24 }) }, NoExtra),
      }),
      async (request) => ({
        hours: request.query.hours,
        jobs: await jobStatistics(deps.database, { sinceMs: Date.now() - request.query.hours * 3_600_000 }),
      }),
    );

    app.get('/admin/dashboard/summary', adminSchema('One-screen summary for operators'), async () => {
      const [health, firing, queues, ledger] = await Promise.all([
        deps.health.report(),
        deps.alerts.firing(),
        deps.queue.stats().catch(() => null),
        ledgerCounts(deps),
      ]);
      return {
        status: health.status,
        process: processInfo(deps),
        alerts_firing: firing,
        queues,
        ledger,
        services: deps.services.statuses(),
      };
    });

    app.get(
      '/admin/performance/profile',
      adminSchema('A CPU profile of this process over a few seconds: the functions that used the most CPU', {
        querystring: Type.Object({ seconds: Type.Integer({ minimum: 1, maximum: 30, default: 5 }) }, NoExtra),
      }),
      async (request) => {
        try {
          return await profileCpu(request.query.seconds);
        } catch (error) {
          if (error instanceof ProfileBusyError) throw new HttpError('rate_limited', error.message);
          throw error;
        }
      },
    );

    app.post(
      '/admin/restart/service',
      adminSchema('Stop and start an internal service (for example nostr-intake, monitoring)', {
        body: Type.Object({ service: Type.String({ minLength: 1, maxLength: 64 }) }, NoExtra),
      }),
      async (request) => {
        try {
          return await deps.services.restart(request.body.service);
        } catch (error) {
          if (error instanceof UnknownServiceError) throw new HttpError('not_found', error.message);
          throw error;
        }
      },
    );

    app.post(
      '/admin/backup/create',
      adminSchema('Back the database up into BACKUP_DIR (owner-only files), then apply retention', {
        body: Type.Object(
          { type: Type.Union([Type.Literal('full'), Type.Literal('schema')], { default: 'full' }) },
          NoExtra,
        ),
      }),
      async (request) =>
        createBackup(deps.database, deps.config.database, deps.backupDir, request.body.type, {
          retention: deps.config.backupRetention,
        }),
    );

    app.get(
      '/admin/backup/list',
      adminSchema("The backups in this process's BACKUP_DIR, newest first, and the retention"),
      async () => ({
        backup_dir: deps.backupDir,
        retention: deps.config.backupRetention,
        backups: await listBackups(deps.backupDir),
      }),
    );

    app.post(
      '/admin/backup/prune',
      adminSchema(
        'Apply retention to BACKUP_DIR now (BACKUP_RETENTION_DAYS / _COUNT unless given); the newest full backup always stays',
        {
          body: Type.Optional(
            Type.Object(
              {
                dry_run: Type.Optional(Type.Boolean({ default: false })),
                days: Type.Optional(Type.Integer({ minimum: 0, maximum: 36_500 })),
                count: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000 })),
              },
              NoExtra,
            ),
          ),
        },
      ),
      async (request) => {
        const body = request.body ?? {};
        const retention = deps.config.backupRetention;
        return pruneBackups(
          deps.backupDir,
          { days: body.days ?? retention.days, count: body.count ?? retention.count },
          { dryRun: body.dry_run ?? false },
        );
      },
    );

    app.get(
      '/admin/backup/:name',
      adminSchema('Download one backup of BACKUP_DIR (streamed; the name as the list shows it)', {
        params: Type.Object({ name: Type.String({ pattern: BACKUP_NAME_PATTERN, maxLength: 128 }) }, NoExtra),
      }),
      async (request, reply) => {
        let backup;
        try {
          backup = await openBackup(deps.backupDir, request.params.name);
        } catch (error) {
          if (error instanceof UnknownBackupError) throw new HttpError('not_found', error.message);
          throw error;
        }
        return reply
          .header(
            'content-type',
            backup.name.endsWith('.sql') ? 'application/sql' : 'application/vnd.sqlite3',
          )
          .header('content-length', backup.size_bytes)
          .header('content-disposition', `attachment; filename="${backup.name}"`)
          .header('cache-control', 'no-store')
          .header('x-content-type-options', 'nosniff')
          .send(backup.stream);
      },
    );
  };
}
