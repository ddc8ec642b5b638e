// Builds the monitoring side of a process: system sampler, alert engine, monitoring service,
// read cache, Prometheus families and exporter. The composition root calls this once.
import { sessionCounts } from '../ceremony/session-reads.ts';
import type { Config } from '../config.ts';
import { StartupError } from '../errors.ts';
import type { JobQueue } from '../jobs/index.ts';
import { vtxoStats } from '../ledger/ledger-reads.ts';
import type { Logger } from '../logging.ts';
import type { Database } from '../store/database.ts';
import { alertRules } from './alert-rules.ts';
import { AlertEngine } from './alerts.ts';
import { createCache, type Cache } from './cache.ts';
import type { HealthRegistry } from './health.ts';
import { Metrics } from './metrics.ts';
import { startMetricsServer, type MetricsServer } from './metrics-server.ts';
import { MonitoringService } from './monitoring-service.ts';
import type { ProbeDeps } from './probes.ts';
import { SystemSampler } from './system-sampler.ts';
import { VERSION } from '../version.ts';

export interface Monitoring {
  readonly metrics: Metrics;
  readonly sampler: SystemSampler;
  readonly alerts: AlertEngine;
  readonly service: MonitoringService;
  readonly cache: Cache;
  exporter: MetricsServer | undefined;
  stop(): Promise<void>;
}

export interface MonitoringDeps {
  readonly config: Config;
  readonly database: Database;
  readonly queue: JobQueue;
  readonly health: HealthRegistry;
  readonly logger: Logger;
  readonly role: string;
  /** Judge alert rules here (API processes, which see every dependency the rules read). */
  readonly evaluateAlerts: boolean;
  /** /health and /ready of this process, also answered on METRICS_PORT. */
  readonly probes: ProbeDeps;
  /** The process has an API port: without one, METRICS_PORT is its only probe, even with metrics off. */
  readonly servesApi: boolean;
}

/** Cluster-wide gauges come from the scheduler role only, so that sum() over targets is right. */
const exportsClusterMetrics = (role: string) => role.split('+').includes('scheduler');

export async function createMonitoring(deps: MonitoringDeps): Promise<Monitoring> {
  const { config, database, logger } = deps;
  const m = config.monitoring;
  const sampler = new SystemSampler(config.dataDir);
  const alerts = new AlertEngine({
    database,
    rules: alertRules({
      inventoryCritical: m.inventoryCritical,
      inventoryGraceMs: m.inventoryAlertGraceMs,
      inventoryMonitorAutoStart: config.autoStart.vtxo,
    }),
    logger: logger.child({ component: 'alerts' }),
    instanceId: config.instanceId,
    ...(m.alertWebhookUrl ? { webhookUrl: m.alertWebhookUrl.reveal() } : {}),
    resendIntervalMs: m.alertResendIntervalMs,
  });
  const service = new MonitoringService({
    database,
    health: deps.health,
    sampler,
    alerts,
    logger: logger.child({ component: 'monitoring' }),
    instanceId: config.instanceId,
    role: deps.role,
    sampleEveryMs: m.sampleIntervalMs,
    evaluateEveryMs: m.evaluateIntervalMs,
    evaluateAlerts: deps.evaluateAlerts,
  });
  const cache = createCache(config.redis, config.jobs.prefix);
  const metrics = new Metrics({
    cluster: exportsClusterMetrics(deps.role),
    version: VERSION,
    roles: deps.role,
    logger: logger.child({ component: 'metrics' }),
  });
  metrics.sources.system = () => sampler.last;
  metrics.sources.queues = async () =>
    (await deps.queue.stats()) as unknown as Record<string, Record<string, number>>;
  metrics.sources.health = () => service.lastHealth;
  // Only the processes that judge the rules know their state without reading the database.
  if (deps.evaluateAlerts) metrics.sources.alerts = () => alerts.known();
  metrics.sources.vtxos = async () =>
    (await vtxoStats(database)).map((r) => ({ status: r.status, asset: r.assetId, count: r.count }));
  metrics.sources.sessions = () => sessionCounts(database);

  const monitoring: Monitoring = {
    metrics,
    sampler,
    alerts,
    service,
    cache,
    exporter: undefined,
    async stop() {
      await service.stop();
      await monitoring.exporter?.close();
      monitoring.exporter = undefined;
      sampler.stop();
      await cache.close();
    },
  };
  if (config.metrics.enabled || !deps.servesApi) {
    try {
      monitoring.exporter = await startMetricsServer({
        metrics: config.metrics.enabled ? metrics : undefined,
        probes: deps.probes,
        host: m.metricsHost,
        port: config.metrics.port,
        logger,
      });
    } catch (error) {
      await cache.close();
      sampler.stop();
      const code = (error as NodeJS.ErrnoException).code ?? String(error);
      throw new StartupError(
        'METRICS_PORT',
        `cannot listen on ${m.metricsHost}:${config.metrics.port} (${code})`,
      );
    }
  }
  return monitoring;
}
