// Helpers of the alert tests: rules whose measurement the test sets, health reports, and a
// database the test can cut off (every query fails as a lost MariaDB connection does).
import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs } from 'kysely';
import type { AlertRule, Measurement } from '../../src/monitoring/alert-rules.ts';
import type { DependencyStatus, HealthReport } from '../../src/monitoring/health.ts';
import type { Database } from '../../src/store/database.ts';

/** A rule whose measurement the test sets: the engine, not the measurement, is under test. */
export function gaugeRule(
  name: string,
  forMs: number,
  subject?: string,
): AlertRule & { value: number | Measurement | undefined } {
  const rule = {
    name,
    summary: `${name} above 10`,
    severity: 'warning' as const,
    comparison: 'above' as const,
    threshold: 10,
    forMs,
    unit: 'things',
    ...(subject ? { subject: { label: subject } } : {}),
    value: undefined as number | Measurement | undefined,
    measure: async () => rule.value,
  };
  return rule;
}

export function health(
  deps: Record<string, { status: DependencyStatus; critical: boolean; breaker?: string }>,
): HealthReport {
  return {
    status: 'healthy',
    checked_at: new Date().toISOString(),
    dependencies: Object.fromEntries(
      Object.entries(deps).map(([n, d]) => [
        n,
        {
          status: d.status,
          critical: d.critical,
          latency_ms: 1,
          ...(d.breaker ? { details: { breaker: d.breaker } } : {}),
        },
      ]),
    ),
  };
}

/** What mysql2 throws for a connection the server refused. */
export function connectionRefused(): Error {
  return Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:3306'), {
    code: 'ECONNREFUSED',
    fatal: true,
  });
}

/**
 * `real`, with a switch: while cut, every query fails as a refused connection does (checked
 * before the query reaches the database, so nothing is half-done).
 */
export function switchableDatabase(real: Database): { database: Database; cut(): void; restore(): void } {
  let cut = false;
  const plugin: KyselyPlugin = {
    transformQuery(args: PluginTransformQueryArgs) {
      if (cut) throw connectionRefused();
      return args.node;
    },
    transformResult: async (args: PluginTransformResultArgs) => args.result,
  };
  const database: Database = {
    ...real,
    db: real.db.withPlugin(plugin),
    ping: async (timeoutMs) => {
      if (cut) throw connectionRefused();
      return real.ping(timeoutMs);
    },
  };
  return {
    database,
    cut: () => (cut = true),
    restore: () => (cut = false),
  };
}
