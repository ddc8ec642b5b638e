// The monitoring service of one process: samples the machine into system_metrics, evaluates
// the alert rules against fresh health and samples, and keeps this process's heartbeat row.
// Started by MONITORING_AUTO_START; every instance runs it, the alert engine keeps them agreeing.
import { recordHeartbeat } from '../jobs/tasks/heartbeat.ts';
import type { Logger } from '../logging.ts';
import type { Database } from '../store/database.ts';
import type { AlertEngine } from './alerts.ts';
import type { HealthRegistry, HealthReport } from './health.ts';
import type { SystemSampler } from './system-sampler.ts';

export interface MonitoringOptions {
  readonly database: Database;
  readonly health: HealthRegistry;
  readonly sampler: SystemSampler;
  readonly alerts: AlertEngine;
  readonly logger: Logger;
  readonly instanceId: string;
  readonly role: string;
  readonly sampleEveryMs: number;
  readonly evaluateEveryMs: number;
  readonly evaluateAlerts: boolean;
}

export class MonitoringService {
  readonly #o: MonitoringOptions;
  #timers: NodeJS.Timeout[] = [];
  #lastHealth: HealthReport | undefined;
  #running: Promise<unknown> = Promise.resolve();
  #startedAt: number | undefined;

  constructor(options: MonitoringOptions) {
    this.#o = options;
  }

  get running(): boolean {
    return this.#timers.length > 0;
  }

  get startedAt(): number | undefined {
    return this.#startedAt;
  }

  /** The health report of the last evaluation (what /metrics shows without re-probing). */
  get lastHealth(): HealthReport | undefined {
    return this.#lastHealth;
  }

  async start(): Promise<void> {
    if (this.running) return;
    if (this.#o.evaluateAlerts) await this.#o.alerts.ensureRules();
    await this.sampleOnce();
    await this.evaluateOnce();
    const every = (ms: number, work: () => Promise<void>, what: string) =>
      setInterval(() => {
        // One round at a time: a slow database must not pile rounds up.
        this.#running = this.#running
          .then(work)
          .catch((error: unknown) => this.#o.logger.warn({ err: error }, `${what} failed`));
      }, ms).unref();
    this.#timers = [
      every(this.#o.sampleEveryMs, () => this.sampleOnce(), 'system sample'),
      every(this.#o.evaluateEveryMs, () => this.evaluateOnce(), 'alert evaluation'),
    ];
    this.#startedAt = Date.now();
    this.#o.logger.info(
      { sampleEveryMs: this.#o.sampleEveryMs, evaluateEveryMs: this.#o.evaluateEveryMs },
      'monitoring started',
    );
  }

  async stop(): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    this.#startedAt = undefined;
    await this.#running.catch(() => undefined);
  }

  async sampleOnce(now = Date.now()): Promise<void> {
    const s = await this.#o.sampler.sample(now);
    await this.#o.database.db
      .insertInto('system_metrics')
      .values({
        instance_id: this.#o.instanceId,
        sampled_at: s.sampledAt,
        cpu_percent: s.cpuPercent,
        memory_percent: s.memoryPercent,
        memory_rss_bytes: s.memoryRssBytes,
        disk_percent: s.diskPercent,
        disk_free_bytes: s.diskFreeBytes,
        event_loop_lag_ms: s.eventLoopLagMs,
        load_avg_1m: s.loadAvg1m,
      })
      .execute();
    await recordHeartbeat(
      this.#o.database,
      { instanceId: this.#o.instanceId, role: this.#o.role },
      { source: 'monitoring' },
      now,
    );
  }

  async evaluateOnce(now = Date.now()): Promise<void> {
    this.#lastHealth = await this.#o.health.report();
    if (!this.#o.evaluateAlerts) return;
    await this.#o.alerts.evaluate({
      database: this.#o.database,
      system: this.#o.sampler.last ?? (await this.#o.sampler.sample(now)),
      health: this.#lastHealth,
      now,
    });
  }
}
