// What the operator routes read and act on, gathered once by the composition root, and the views
// more than one route group shows (roll-ups, process, health, job attempts, the queue's dependency).
import { intentCounts, sessionCounts } from '../ceremony/session-reads.ts';
import type { Config } from '../config.ts';
import { vtxoStats } from '../ledger/ledger-reads.ts';
import type { JobQueue, recentJobLogs } from '../jobs/index.ts';
import type { AlertEngine } from '../monitoring/alerts.ts';
import type { Cache } from '../monitoring/cache.ts';
import type { HealthRegistry } from '../monitoring/health.ts';
import type { MonitoringService } from '../monitoring/monitoring-service.ts';
import type { SystemSampler } from '../monitoring/system-sampler.ts';
import type { ServiceRegistry } from '../operations/services.ts';
import type { Database } from '../store/database.ts';
import { VERSION } from '../version.ts';

export interface OperationsDeps {
  readonly config: Config;
  readonly database: Database;
  readonly queue: JobQueue;
  readonly health: HealthRegistry;
  readonly alerts: AlertEngine;
  readonly monitoring: MonitoringService;
  readonly sampler: SystemSampler;
  readonly cache: Cache;
  readonly services: ServiceRegistry;
  readonly startedAt: Date;
  readonly backupDir: string;
}

/** Counts the roll-ups (/stats, dashboard) show, cached briefly: they scan whole tables. */
export async function ledgerCounts(deps: OperationsDeps) {
  return deps.cache.wrap('ops:ledger-counts', 5_000, async () => {
    const [vtxos, sessions, intents] = await Promise.all([
      vtxoStats(deps.database),
      sessionCounts(deps.database),
      intentCounts(deps.database, Date.now() - 86_400_000),
    ]);
    return {
      vtxos: vtxos.map((r) => ({ status: r.status, asset: r.assetId, count: r.count })),
      sessions: Object.fromEntries(sessions.map((r) => [r.state, r.count])),
      intents_24h: Object.fromEntries(intents.map((r) => [r.status, r.count])),
    };
  });
}

export function processInfo(deps: OperationsDeps) {
  return {
    version: VERSION,
    instance: deps.config.instanceId,
    node: process.version,
    pid: process.pid,
    uptime_s: Math.floor((Date.now() - deps.startedAt.getTime()) / 1000),
    rss_bytes: process.memoryUsage.rss(),
  };
}

export async function comprehensiveHealth(deps: OperationsDeps) {
  const [health, firing, queues] = await Promise.all([
    deps.health.report(),
    deps.alerts.firing(),
    deps.queue
      .stats()
      .catch((error: unknown) => ({ error: error instanceof Error ? error.message : String(error) })),
  ]);
  return {
    status: health.status,
    process: processInfo(deps),
    dependencies: health.dependencies,
    monitoring: { running: deps.monitoring.running, last_sample: deps.sampler.last ?? null },
    alerts_firing: firing,
    queues,
    services: deps.services.statuses(),
    cache: await deps.cache.stats(),
    checked_at: health.checked_at,
  };
}

/** How long a read of the queue may take before the route calls the queue unavailable. */
export const QUEUE_READ_DEADLINE_MS = 1_000;

/** The dependency a queue stands for in health reports and 503 answers. */
export const queueDependency = (queue: JobQueue) => (queue.kind === 'bullmq' ? 'redis' : 'queue');

export function jobView(entry: Awaited<ReturnType<typeof recentJobLogs>>[number]) {
  return {
    id: entry.id,
    job_id: entry.jobId,
    queue: entry.queue,
    job_name: entry.jobName,
    status: entry.status,
    attempt: entry.attempt,
    instance: entry.instanceId,
    started_at: new Date(entry.startedAt).toISOString(),
    finished_at: entry.finishedAt === null ? null : new Date(entry.finishedAt).toISOString(),
    duration_ms: entry.durationMs,
    error: entry.error,
  };
}
