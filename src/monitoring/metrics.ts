// Every Prometheus family ArkRelay exports, defined once. Services increment the counters and
// histograms they own; gauges that mirror state (queues, dependencies, ledger rows) are filled
// on scrape from the sources registered here, so a scrape always shows the present.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { HealthReport } from './health.ts';
import type { SystemSample } from './system-sampler.ts';

export const METRIC_PREFIX = 'arkrelay_';

/** What the scrape-time gauges read. Each is optional: a process only has what its roles run. */
export interface MetricSources {
  system?: () => SystemSample | undefined;
  queues?: () => Promise<Record<string, Record<string, number>>>;
  health?: () => HealthReport | undefined;
  alerts?: () => Promise<readonly { rule: string; severity: string; firing: boolean }[]>;
  vtxos?: () => Promise<readonly { status: string; asset: string; count: number }[]>;
  sessions?: () => Promise<readonly { state: string; count: number }[]>;
  /** Newest reserve reading per relay-issued asset (asset_reserves). */
  reserves?: () => Promise<readonly { asset: string; ratioPpm: number; healthy: boolean }[]>;
  relays?: () => readonly RelayCounters[];
}

export interface RelayCounters {
  readonly relay: string;
  readonly connected: boolean;
  readonly eventsIn: number;
  readonly eventsOut: number;
  readonly reconnects: number;
}

const BREAKER_STATES = ['closed', 'half_open', 'open'] as const;

export class Metrics {
  readonly registry = new Registry();
  readonly sources: MetricSources = {};

  // Business
  readonly intents: Counter<'type' | 'outcome'>;
  readonly ceremonyStepSeconds: Histogram<'step'>;
  readonly lifts: Counter<'asset' | 'outcome'>;
  readonly lands: Counter<'asset' | 'outcome'>;
  readonly feesCollected: Counter<'asset'>;
  // HTTP and daemons
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpSeconds: Histogram<'method' | 'route'>;
  readonly daemonCallSeconds: Histogram<'daemon' | 'method' | 'outcome'>;

  constructor(labels: Record<string, string> = {}) {
    const registry = this.registry;
    registry.setDefaultLabels(labels);
    collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
    const sources = this.sources;
    const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
      new Counter<L>({ name: METRIC_PREFIX + name, help, labelNames, registers: [registry] });
    const histogram = <L extends string>(
      name: string,
      help: string,
      labelNames: readonly L[],
      buckets: number[],
    ) => new Histogram<L>({ name: METRIC_PREFIX + name, help, labelNames, buckets, registers: [registry] });
    const gauge = <L extends string>(
      name: string,
      help: string,
      labelNames: readonly L[],
      collect: (g: Gauge<L>) => Promise<void> | void,
    ) =>
      new Gauge<L>({
        name: METRIC_PREFIX + name,
        help,
        labelNames,
        registers: [registry],
        async collect() {
          this.reset();
          await collect(this);
        },
      });

    this.intents = counter('intents_total', 'Intents received, by type and outcome', ['type', 'outcome']);
    this.ceremonyStepSeconds = histogram(
      'ceremony_step_seconds',
      'Time from a ceremony step opening to its completion',
      ['step'],
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    );
    this.lifts = counter('lifts_total', 'Lightning lifts, by asset and outcome', ['asset', 'outcome']);
    this.lands = counter('lands_total', 'Lightning lands, by asset and outcome', ['asset', 'outcome']);
    this.feesCollected = counter('fees_collected_total', 'Fees collected, in base units of the asset', [
      'asset',
    ]);
    this.httpRequests = counter('http_requests_total', 'HTTP requests answered', [
      'method',
      'route',
      'status',
    ]);
    this.httpSeconds = histogram(
      'http_request_duration_seconds',
      'HTTP request duration',
      ['method', 'route'],
      [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    );
    this.daemonCallSeconds = histogram(
      'daemon_call_seconds',
      'Calls to arkd, tapd and lnd',
      ['daemon', 'method', 'outcome'],
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    );

    gauge('sessions', 'Signing sessions by state', ['state'], async (g) => {
      for (const row of (await sources.sessions?.()) ?? []) g.set({ state: row.state }, row.count);
    });
    gauge('vtxos', 'VTXOs by status and asset', ['status', 'asset'], async (g) => {
      for (const row of (await sources.vtxos?.()) ?? [])
        g.set({ status: row.status, asset: row.asset }, row.count);
    });
    gauge(
      'reserve_ratio_ppm',
      'Newest reserve reading: BTC held / supply, parts per million',
      ['asset'],
      async (g) => {
        for (const row of (await sources.reserves?.().catch(() => undefined)) ?? [])
          g.set({ asset: row.asset }, row.ratioPpm);
      },
    );

    const system = (name: string, help: string, pick: (s: SystemSample) => number | null) =>
      gauge(name, help, [], (g) => {
        const sample = sources.system?.();
        const value = sample ? pick(sample) : null;
        if (value !== null) g.set(value);
      });
    system('system_cpu_percent', 'Busy share of all CPU cores, 0-100', (s) => s.cpuPercent);
    system('system_memory_percent', 'Used share of the machine memory, 0-100', (s) => s.memoryPercent);
    system(
      'system_disk_used_percent',
      'Used share of the filesystem holding DATA_DIR, 0-100',
      (s) => s.diskPercent,
    );
    system('system_disk_free_bytes', 'Free bytes on the filesystem holding DATA_DIR', (s) => s.diskFreeBytes);
    system(
      'event_loop_lag_ms',
      'p99 event loop delay over the last sample interval',
      (s) => s.eventLoopLagMs,
    );

    gauge('queue_jobs', 'Jobs per queue and state', ['queue', 'state'], async (g) => {
      const stats = (await sources.queues?.().catch(() => undefined)) ?? {};
      for (const [queue, counts] of Object.entries(stats)) {
        for (const [state, value] of Object.entries(counts)) g.set({ queue, state }, value);
      }
    });

    gauge(
      'dependency_up',
      'Whether a dependency answered its last health check (1) or not (0)',
      ['dependency', 'critical'],
      (g) => {
        const report = sources.health?.();
        for (const [name, dep] of Object.entries(report?.dependencies ?? {})) {
          g.set({ dependency: name, critical: String(dep.critical) }, dep.status === 'up' ? 1 : 0);
        }
      },
    );
    gauge(
      'dependency_latency_ms',
      'Latency of the last health check of a dependency',
      ['dependency'],
      (g) => {
        for (const [name, dep] of Object.entries(sources.health?.()?.dependencies ?? {}))
          g.set({ dependency: name }, dep.latency_ms);
      },
    );
    gauge(
      'daemon_breaker_state',
      'Circuit breaker of each daemon: 1 for its current state',
      ['daemon', 'state'],
      (g) => {
        for (const [name, dep] of Object.entries(sources.health?.()?.dependencies ?? {})) {
          const breaker = dep.details?.breaker;
          if (typeof breaker !== 'string') continue;
          for (const state of BREAKER_STATES) g.set({ daemon: name, state }, breaker === state ? 1 : 0);
        }
      },
    );

    gauge('alerts_firing', 'Alert rules currently firing (1) or not (0)', ['rule', 'severity'], async (g) => {
      for (const alert of (await sources.alerts?.().catch(() => undefined)) ?? []) {
        g.set({ rule: alert.rule, severity: alert.severity }, alert.firing ? 1 : 0);
      }
    });

    gauge('relay_connected', 'Whether the relay connection is open (1) or not (0)', ['relay'], (g) => {
      for (const r of sources.relays?.() ?? []) g.set({ relay: r.relay }, r.connected ? 1 : 0);
    });
    gauge(
      'relay_events',
      'Events received (in) and published (out) per relay since start',
      ['relay', 'direction'],
      (g) => {
        for (const r of sources.relays?.() ?? []) {
          g.set({ relay: r.relay, direction: 'in' }, r.eventsIn);
          g.set({ relay: r.relay, direction: 'out' }, r.eventsOut);
        }
      },
    );
    gauge('relay_reconnects', 'Reconnections per relay since start', ['relay'], (g) => {
      for (const r of sources.relays?.() ?? []) g.set({ relay: r.relay }, r.reconnects);
    });
  }

  /** A daemon call ended (the backends' call observer); bound, so it can be passed as is. */
  readonly observeDaemonCall = (
    daemon: string,
    operation: string,
    outcome: string,
    seconds: number,
  ): void => {
    this.daemonCallSeconds.observe({ daemon, method: operation, outcome }, seconds);
  };

  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
