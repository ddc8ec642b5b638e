// Every Prometheus family ArkRelay exports, defined once, by Prometheus's conventions: counters
// end in `_total`, durations are seconds, shares are 0–1 ratios, and no series carries an
// `instance` label (Prometheus adds the scraped target's). Services increment the counters and
// histograms they own; gauges that mirror state are filled on scrape from the sources
// registered here, so a scrape always shows the present.
//
// Two kinds of gauges: per-process (this process's view: system, dependencies, relays, alerts)
// and cluster-wide (read from the shared database or queue: sessions, VTXOs, reserves, queue
// jobs). Cluster-wide ones are exported only by processes that run the scheduler role, so that
// `sum()` over the targets is right (with several schedulers, aggregate them with `max()`).
// docs/operator-guide.md documents every family; a test checks it against a live scrape.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { deadline } from '../deadline.ts';
import type { Logger } from '../logging.ts';
import { FailureLogs, FailureLog } from '../failure-log.ts';
import type { HealthReport } from './health.ts';
import type { SystemSample } from './system-sampler.ts';

export const METRIC_PREFIX = 'arkrelay_';

/** What the scrape-time gauges read. Each is optional: a process only has what its roles run. */
export interface MetricSources {
  system?: () => SystemSample | undefined;
  queues?: () => Promise<Record<string, Record<string, number>>>;
  health?: () => HealthReport | undefined;
  alerts?: () => readonly { rule: string; severity: string; firing: boolean }[];
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

export interface MetricsOptions {
  /** Export the cluster-wide gauges (the scheduler role does). */
  readonly cluster: boolean;
  /** `arkrelay_info` labels. */
  readonly version?: string;
  readonly roles?: string;
  /** Where a source that fails during scrapes is reported (once per minute). */
  readonly logger?: Logger;
}

const BREAKER_STATES = ['closed', 'half_open', 'open'] as const;
/** A scrape must answer even when the database hangs: a source gets this long. */
const SOURCE_DEADLINE_MS = 2_000;

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

  constructor(options: MetricsOptions = { cluster: true }) {
    const registry = this.registry;
    collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
    const sources = this.sources;
    const logger = options.logger;
    const failures = logger
      ? new FailureLogs((family) => new FailureLog({ logger, what: `metrics source of ${family}` }))
      : undefined;
    /** A source that fails or hangs leaves its family empty for this scrape; the rest still answers. */
    const read = async <T>(
      family: string,
      source: (() => Promise<T>) | undefined,
    ): Promise<T | undefined> => {
      if (!source) return undefined;
      try {
        const value = await deadline(source(), SOURCE_DEADLINE_MS);
        failures?.get(family).succeeded();
        return value;
      } catch (error) {
        failures?.get(family).failed(error, { family });
        return undefined;
      }
    };
    const name = (n: string) => METRIC_PREFIX + n;
    const counter = <L extends string>(n: string, help: string, labelNames: readonly L[]) =>
      new Counter<L>({ name: name(n), help, labelNames, registers: [registry] });
    const histogram = <L extends string>(
      n: string,
      help: string,
      labelNames: readonly L[],
      buckets: number[],
    ) => new Histogram<L>({ name: name(n), help, labelNames, buckets, registers: [registry] });
    const gauge = <L extends string>(
      n: string,
      help: string,
      labelNames: readonly L[],
      collect: (g: Gauge<L>) => Promise<void> | void,
    ) =>
      new Gauge<L>({
        name: name(n),
        help,
        labelNames,
        registers: [registry],
        async collect() {
          this.reset();
          await collect(this);
        },
      });
    /** A counter kept by someone else (relay connections): its running total, read on scrape. */
    const mirroredCounter = <L extends string>(
      n: string,
      help: string,
      labelNames: readonly L[],
      collect: (set: (labels: Record<L, string>, value: number) => void) => void,
    ) =>
      new Counter<L>({
        name: name(n),
        help,
        labelNames,
        registers: [registry],
        collect() {
          this.reset();
          collect((labels, value) => this.inc(labels, value));
        },
      });

    gauge('info', 'Always 1: the version and roles of this process', ['version', 'roles'], (g) =>
      g.set({ version: options.version ?? 'unknown', roles: options.roles ?? 'unknown' }, 1),
    );

    // Business (per process: what this process handled)
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
      'Calls to arkd, tapd and lnd, retries included',
      ['daemon', 'method', 'outcome'],
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    );

    // Cluster-wide: one exporter (the scheduler role) reads them from the shared stores.
    if (options.cluster) {
      gauge('sessions', 'Signing sessions by state (cluster-wide)', ['state'], async (g) => {
        for (const row of (await read('sessions', sources.sessions)) ?? [])
          g.set({ state: row.state }, row.count);
      });
      gauge('vtxos', 'VTXOs by status and asset (cluster-wide)', ['status', 'asset'], async (g) => {
        for (const row of (await read('vtxos', sources.vtxos)) ?? [])
          g.set({ status: row.status, asset: row.asset }, row.count);
      });
      gauge(
        'reserve_ratio',
        'Newest reserve reading: BTC held / supply (1 = fully reserved; cluster-wide)',
        ['asset'],
        async (g) => {
          for (const row of (await read('reserve_ratio', sources.reserves)) ?? [])
            g.set({ asset: row.asset }, row.ratioPpm / 1_000_000);
        },
      );
      gauge('queue_jobs', 'Jobs per queue and state (cluster-wide)', ['queue', 'state'], async (g) => {
        for (const [queue, counts] of Object.entries((await read('queue_jobs', sources.queues)) ?? {})) {
          for (const [state, value] of Object.entries(counts)) g.set({ queue, state }, value);
        }
      });
    }

    // System (the machine this process runs on)
    const system = (n: string, help: string, pick: (s: SystemSample) => number | null) =>
      gauge(n, help, [], (g) => {
        const sample = sources.system?.();
        const value = sample ? pick(sample) : null;
        if (value !== null) g.set(value);
      });
    const ratio = (percent: number | null) => (percent === null ? null : percent / 100);
    system('system_cpu_busy_ratio', 'Busy share of all CPU cores, 0-1', (s) => ratio(s.cpuPercent));
    system('system_memory_used_ratio', 'Used share of the machine memory, 0-1', (s) =>
      ratio(s.memoryPercent),
    );
    system('system_disk_used_ratio', 'Used share of the filesystem holding DATA_DIR, 0-1', (s) =>
      ratio(s.diskPercent),
    );
    system('system_disk_free_bytes', 'Free bytes on the filesystem holding DATA_DIR', (s) => s.diskFreeBytes);

    // Dependencies and daemons, as this process's last health check saw them
    gauge(
      'dependency_up',
      'Whether a dependency answered its last health check (1) or not (0); a simulator answers',
      ['dependency', 'critical'],
      (g) => {
        for (const [dependency, dep] of Object.entries(sources.health?.()?.dependencies ?? {}))
          g.set({ dependency, critical: String(dep.critical) }, dep.status === 'down' ? 0 : 1);
      },
    );
    gauge(
      'dependency_simulated',
      'Whether a dependency is an in-process simulator (1) or real (0)',
      ['dependency'],
      (g) => {
        for (const [dependency, dep] of Object.entries(sources.health?.()?.dependencies ?? {}))
          g.set({ dependency }, dep.status === 'simulated' ? 1 : 0);
      },
    );
    gauge(
      'dependency_latency_seconds',
      'Latency of the last health check of a dependency',
      ['dependency'],
      (g) => {
        for (const [dependency, dep] of Object.entries(sources.health?.()?.dependencies ?? {}))
          g.set({ dependency }, dep.latency_ms / 1000);
      },
    );
    gauge(
      'daemon_breaker_state',
      'Circuit breaker of each daemon: 1 for its current state',
      ['daemon', 'state'],
      (g) => {
        for (const [daemon, dep] of Object.entries(sources.health?.()?.dependencies ?? {})) {
          const breaker = dep.details?.breaker;
          if (typeof breaker !== 'string') continue;
          for (const state of BREAKER_STATES) g.set({ daemon, state }, breaker === state ? 1 : 0);
        }
      },
    );

    // Alerts, as judged by this (API) process
    gauge(
      'alerts_firing',
      'Alert rules firing (1) or not (0), as this process judges them',
      ['rule', 'severity'],
      (g) => {
        for (const alert of sources.alerts?.() ?? [])
          g.set({ rule: alert.rule, severity: alert.severity }, alert.firing ? 1 : 0);
      },
    );

    // Relays (the connections of this API process)
    gauge('relay_connected', 'Whether the relay connection is open (1) or not (0)', ['relay'], (g) => {
      for (const r of sources.relays?.() ?? []) g.set({ relay: r.relay }, r.connected ? 1 : 0);
    });
    mirroredCounter(
      'relay_events_total',
      'Events received (in) and published (out) per relay since the connection was made',
      ['relay', 'direction'],
      (set) => {
        for (const r of sources.relays?.() ?? []) {
          set({ relay: r.relay, direction: 'in' }, r.eventsIn);
          set({ relay: r.relay, direction: 'out' }, r.eventsOut);
        }
      },
    );
    mirroredCounter('relay_reconnects_total', 'Reconnections per relay', ['relay'], (set) => {
      for (const r of sources.relays?.() ?? []) set({ relay: r.relay }, r.reconnects);
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
