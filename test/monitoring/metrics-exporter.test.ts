// The Prometheus exporter of a running gateway (on by default): valid exposition text that keeps
// Prometheus's conventions — no `instance` label of ours, counters named `_total`, seconds and
// ratios rather than milliseconds and percent — and whose every family is documented, with its
// type, in the operator guide. Cluster-wide gauges come from the scheduler role only.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logging.ts';
import { Metrics } from '../../src/monitoring/metrics.ts';
import { LogCapture } from '../nostr/support.ts';
import { tempDir } from '../support/cli.ts';

let gateway: Gateway;

beforeAll(async () => {
  gateway = await startGateway(
    loadConfig({
      DATA_DIR: tempDir(),
      PORT: '0',
      HOST: '127.0.0.1',
      // ENABLE_METRICS is left to its default: on, as the guide's exporter is.
      METRICS_PORT: '0',
      METRICS_HOST: '127.0.0.1',
      EMBEDDED_RELAY_PORT: '0',
      VTXO_AUTO_START: 'false',
    }),
    { roles: ['api'], logger: createLogger({ level: 'silent' }) },
  );
});
afterAll(async () => gateway?.stop('test over'));

interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** A strict reader of the text exposition format: every line is a comment or a valid sample. */
function parseExposition(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      types.set(type[1]!, type[2]!);
      continue;
    }
    if (/^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*$/.test(line)) continue;
    // prom-client writes NaN as `Nan`; Prometheus reads it case-insensitively.
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?[0-9.e+-]+|[Nn]a[Nn]|\+Inf|-Inf)$/.exec(line);
    if (!sample) throw new Error(`not a valid exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const match of (sample[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[match[1]!] = match[2]!;
    samples.push({ name: sample[1]!, labels, value: Number(sample[4]) });
  }
  return { types, samples };
}

/** The families of the operator guide's metric table: name → documented type. */
function documentedFamilies(): Map<string, string> {
  const guide = readFileSync(new URL('../../docs/operator-guide.md', import.meta.url), 'utf8');
  const rows = guide.matchAll(/^\| `(arkrelay_[a-z0-9_]+)`[^|]*\| (counter|gauge|histogram) +\|/gm);
  return new Map([...rows].map((m) => [m[1]!, m[2]!]));
}

/** Node's own process metrics (prom-client's defaults), documented in the guide as one group. */
const DEFAULT_FAMILIES = /^arkrelay_(process|nodejs)_/;

async function scrape() {
  const response = await fetch(gateway.metricsUrl!);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/plain');
  return parseExposition(await response.text());
}

describe('metrics exporter', () => {
  it('is on by default and keeps the conventions: no instance label, _total counters, seconds and ratios', async () => {
    await fetch(`${gateway.httpUrl}/health`); // so the HTTP families have a series
    const { types, samples } = await scrape();
    expect(samples.filter((s) => 'instance' in s.labels).map((s) => s.name)).toEqual([]);
    const ours = [...types].filter(([name]) => !DEFAULT_FAMILIES.test(name));
    expect(ours.filter(([name, type]) => type === 'counter' && !name.endsWith('_total'))).toEqual([]);
    expect(ours.filter(([name, type]) => type !== 'counter' && name.endsWith('_total'))).toEqual([]);
    expect([...types.keys()].filter((name) => /_(ms|milliseconds|percent|ppm)(_|$)/.test(name))).toEqual([]);
    expect(ours.filter(([name, type]) => type === 'histogram' && !name.endsWith('_seconds'))).toEqual([]);
    for (const s of samples.filter((x) => x.name.endsWith('_ratio'))) {
      expect(s.value, s.name).toBeGreaterThanOrEqual(0);
      if (s.name.startsWith('arkrelay_system_')) expect(s.value, s.name).toBeLessThanOrEqual(1);
    }
  });

  it('documents every family it exports in the operator guide, with its type, and nothing more', async () => {
    const { types } = await scrape();
    const documented = documentedFamilies();
    expect(documented.size).toBeGreaterThan(20);
    const exported = [...types].filter(([name]) => !DEFAULT_FAMILIES.test(name));
    expect(exported.filter(([name]) => !documented.has(name)).map(([name]) => name)).toEqual([]);
    expect(exported.filter(([name, type]) => documented.get(name) !== type)).toEqual([]);
    expect([...documented.keys()].filter((name) => !types.has(name))).toEqual([]);
    const guide = readFileSync(new URL('../../docs/operator-guide.md', import.meta.url), 'utf8');
    expect(guide).toContain('`arkrelay_process_*`');
    expect(guide).toContain('`arkrelay_nodejs_*`');
  });

  it('shows the present: dependencies, simulated daemons, queue, relays, alerts, system', async () => {
    const { samples } = await scrape();
    const value = (name: string, labels: Record<string, string> = {}) =>
      samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
        ?.value;
    expect(value('arkrelay_dependency_up', { dependency: 'database' })).toBe(1);
    expect(value('arkrelay_dependency_up', { dependency: 'arkd' })).toBe(1);
    expect(value('arkrelay_dependency_simulated', { dependency: 'arkd' })).toBe(1);
    expect(value('arkrelay_dependency_simulated', { dependency: 'database' })).toBe(0);
    expect(value('arkrelay_dependency_latency_seconds', { dependency: 'database' })).toBeLessThan(1);
    expect(value('arkrelay_queue_jobs', { queue: 'maintenance', state: 'waiting' })).toBeGreaterThanOrEqual(
      0,
    );
    expect(value('arkrelay_http_requests_total', { route: '/health', status: '200' })).toBeGreaterThanOrEqual(
      1,
    );
    expect(value('arkrelay_alerts_firing', { rule: 'high_cpu' })).toBe(0);
    const relay = gateway.nostr!.embeddedRelayUrl!;
    expect(value('arkrelay_relay_connected', { relay })).toBe(1);
    expect(value('arkrelay_relay_reconnects_total', { relay })).toBe(0);
    expect(value('arkrelay_relay_events_total', { relay, direction: 'in' })).toBeGreaterThanOrEqual(0);
    expect(value('arkrelay_system_memory_used_ratio')).toBeGreaterThan(0);
    expect(value('arkrelay_system_memory_used_ratio')).toBeLessThanOrEqual(1);
    expect(value('arkrelay_info', { roles: 'api+worker+scheduler' })).toBe(1);
  });

  it('answers 404 for anything but GET /metrics', async () => {
    expect((await fetch(gateway.metricsUrl!.replace('/metrics', '/other'))).status).toBe(404);
  });
});

describe('cluster-wide gauges', () => {
  const families = async (metrics: Metrics) => parseExposition((await metrics.exposition()).body).types;

  it('are exported by the scheduler role only, so that sum() over the processes is right', async () => {
    const queue = async () => ({ default: { waiting: 3 } });
    const scheduler = new Metrics({ cluster: true });
    const api = new Metrics({ cluster: false });
    for (const m of [scheduler, api]) m.sources.queues = queue;
    const cluster = ['arkrelay_queue_jobs', 'arkrelay_sessions', 'arkrelay_vtxos', 'arkrelay_reserve_ratio'];
    const theirs = await families(scheduler);
    expect(cluster.filter((f) => !theirs.has(f))).toEqual([]);
    const others = await families(api);
    expect(cluster.filter((f) => others.has(f))).toEqual([]);
  });

  it('a source that fails or hangs leaves its family empty; the scrape still answers', async () => {
    const logs = new LogCapture('warn');
    const metrics = new Metrics({ cluster: true, logger: logs.logger });
    metrics.sources.vtxos = () => Promise.reject(new Error('connect ECONNREFUSED'));
    metrics.sources.sessions = () => new Promise(() => {});
    metrics.sources.queues = async () => ({ default: { waiting: 3 } });
    const started = Date.now();
    const { samples } = parseExposition((await metrics.exposition()).body);
    // The hanging source is cut off by its 2 s deadline (the log says so); 3× leaves room for a
    // loaded machine, and waiting on the hang would never end.
    expect(Date.now() - started).toBeLessThan(3 * 2_000);
    expect(samples.filter((s) => s.name === 'arkrelay_vtxos' || s.name === 'arkrelay_sessions')).toEqual([]);
    expect(samples.find((s) => s.name === 'arkrelay_queue_jobs')?.value).toBe(3);
    const failed = logs.text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { family?: string; error?: string });
    expect(failed).toContainEqual(
      expect.objectContaining({ family: 'sessions', error: 'no answer within 2000 ms' }),
    );
    expect(failed).toContainEqual(
      expect.objectContaining({ family: 'vtxos', error: 'connect ECONNREFUSED' }),
    );
  });
});
