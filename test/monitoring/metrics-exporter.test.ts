// The Prometheus exporter of a running gateway: valid exposition text with every family.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logging.ts';
import { tempDir } from '../support/cli.ts';

let gateway: Gateway;

beforeAll(async () => {
  gateway = await startGateway(
    loadConfig({
      DATA_DIR: tempDir(),
      PORT: '0',
      HOST: '127.0.0.1',
      ENABLE_METRICS: 'true',
      METRICS_PORT: '0',
      METRICS_HOST: '127.0.0.1',
      EMBEDDED_RELAY_PORT: '0',
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
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/.exec(line);
    if (!sample) throw new Error(`not a valid exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const match of (sample[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[match[1]!] = match[2]!;
    samples.push({ name: sample[1]!, labels, value: Number(sample[4]) });
  }
  return { types, samples };
}

describe('metrics exporter', () => {
  it('serves valid Prometheus text with the business, system, queue, relay and daemon families', async () => {
    // One API call first, so the HTTP families have a series.
    await fetch(`${gateway.httpUrl}/health`);
    const response = await fetch(gateway.metricsUrl!);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const { types, samples } = parseExposition(await response.text());
    for (const family of [
      'arkrelay_intents_total',
      'arkrelay_sessions',
      'arkrelay_ceremony_step_seconds',
      'arkrelay_vtxos',
      'arkrelay_lifts_total',
      'arkrelay_lands_total',
      'arkrelay_fees_collected_total',
      'arkrelay_system_cpu_percent',
      'arkrelay_system_memory_percent',
      'arkrelay_system_disk_used_percent',
      'arkrelay_event_loop_lag_ms',
      'arkrelay_queue_jobs',
      'arkrelay_dependency_up',
      'arkrelay_daemon_breaker_state',
      'arkrelay_daemon_call_seconds',
      'arkrelay_alerts_firing',
      'arkrelay_relay_connected',
      'arkrelay_relay_events',
      'arkrelay_relay_reconnects',
      'arkrelay_http_requests_total',
      'arkrelay_process_cpu_user_seconds_total',
      'arkrelay_nodejs_eventloop_lag_seconds',
    ]) {
      expect(types.has(family), family).toBe(true);
    }
    const value = (name: string, labels: Record<string, string> = {}) =>
      samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
        ?.value;
    expect(value('arkrelay_dependency_up', { dependency: 'database' })).toBe(1);
    expect(value('arkrelay_queue_jobs', { queue: 'maintenance', state: 'waiting' })).toBeGreaterThanOrEqual(
      0,
    );
    expect(value('arkrelay_http_requests_total', { route: '/health', status: '200' })).toBeGreaterThanOrEqual(
      1,
    );
    expect(value('arkrelay_alerts_firing', { rule: 'high_cpu' })).toBe(0);
    const relay = gateway.nostr!.embeddedRelayUrl!;
    expect(value('arkrelay_relay_connected', { relay })).toBe(1);
    expect(value('arkrelay_relay_reconnects', { relay })).toBe(0);
    expect(value('arkrelay_system_memory_percent')).toBeGreaterThan(0);
  });

  it('answers 404 for anything but GET /metrics', async () => {
    expect((await fetch(gateway.metricsUrl!.replace('/metrics', '/other'))).status).toBe(404);
  });
});
