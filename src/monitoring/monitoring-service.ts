// The monitoring service of one process: samples the machine into system_metrics, evaluates
// the alert rules against fresh health and samples, and keeps this process's heartbeat row.
// Started by MONITORING_AUTO_START; every instance runs it, the alert engine keeps them agreeing.
// Both loops keep going through an outage: the sample stays in memory (the alert rules read it)
// while its database write backs off, and the alert rules are judged from memory.
import { recordHeartbeat } from '../jobs/tasks/heartbeat.ts';
import type { Logger } from '../logging.ts';
import type { Database } from '../store/database.ts';
import type { AlertEngine } from './alerts.ts';
import { FailureLog } from '../failure-log.ts';
import type { HealthRegistry, HealthReport } from './health.ts';
import type { SystemSample, SystemSampler } from './system-sampler.ts';

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
  readonly #sampleWrites: FailureLog;
  readonly #evaluations: FailureLog;

  constructor(options: MonitoringOptions) {
    this.#o = options;
    const logger = options.logger;
    this.#sampleWrites = new FailureLog({
      logger,
      what: 'system sample write',
      backoff: { initialMs: options.sampleEveryMs, maxMs: Math.max(options.sampleEveryMs, 5 * 60_000) },
    });
    this.#evaluations = new FailureLog({ logger, what: 'alert evaluation' });
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
    await this.sampleOnce();
    await this.evaluateOnce();
    const every = (ms: number, work: () => Promise<void>) =>
      setInterval(() => {
        // One round at a time: a slow database must not pile rounds up.
        this.#running = this.#running.then(work).catch((error: unknown) => this.#evaluations.failed(error));
      }, ms).unref();
    this.#timers = [
      every(this.#o.sampleEveryMs, () => this.sampleOnce()),
      every(this.#o.evaluateEveryMs, () => this.evaluateOnce()),
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

  /** Samples the machine; writes the sample and the heartbeat unless backing off after failures. */
  async sampleOnce(now = Date.now()): Promise<void> {
    const s = await this.#o.sampler.sample(now);
    if (!this.#sampleWrites.ready(now)) return;
    try {
      await this.#write(s, now);
      this.#sampleWrites.succeeded();
    } catch (error) {
      this.#sampleWrites.failed(error, {}, now);
    }
  }

  async #write(s: SystemSample, now: number): Promise<void> {
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

  /** Checks health and judges the alert rules; never throws (a failure is logged, once per minute). */
  async evaluateOnce(now = Date.now()): Promise<void> {
    try {
      this.#lastHealth = await this.#o.health.report();
      if (!this.#o.evaluateAlerts) return;
      await this.#o.alerts.evaluate({
        database: this.#o.database,
        system: this.#o.sampler.last ?? (await this.#o.sampler.sample(now)),
        health: this.#lastHealth,
        now,
      });
      this.#evaluations.succeeded();
    } catch (error) {
      this.#evaluations.failed(error, {}, now);
    }
  }
}

/** The samples every instance wrote since `sinceMs`, oldest first (at most 50 000). */
export function systemSamples(database: Database, sinceMs: number) {
  return database.db
    .selectFrom('system_metrics')
    .selectAll()
    .where('sampled_at', '>=', sinceMs)
    .orderBy('sampled_at', 'asc')
    .limit(50_000)
    .execute();
}
