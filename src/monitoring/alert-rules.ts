// The alert rules: the guide's (CPU, memory, disk, service down, job failure rate, VTXO
// inventory) and ArkRelay's own (relay down, breaker open, gBTC reserve, ceremony failures).
// Each rule measures one number; the engine (alerts.ts) decides pending/firing/resolved.
import { sql } from 'kysely';
import type { Database } from '../store/database.ts';
import type { HealthReport } from './health.ts';
import type { SystemSample } from './system-sampler.ts';

export type Severity = 'warning' | 'critical';

export interface AlertContext {
  readonly database: Database;
  readonly system: SystemSample | undefined;
  readonly health: HealthReport | undefined;
  readonly now: number;
}

export interface AlertRule {
  readonly name: string;
  readonly summary: string;
  readonly severity: Severity;
  /** The rule is breached when the value is above (or below) the threshold… */
  readonly comparison: 'above' | 'below';
  readonly threshold: number;
  /** …continuously for this long. */
  readonly forMs: number;
  readonly unit: string;
  /** undefined: no data (nothing to judge yet); the rule keeps its state. */
  measure(ctx: AlertContext): Promise<number | undefined>;
}

export interface AlertThresholds {
  readonly inventoryCritical: number;
}

const MINUTE = 60_000;
const RATE_WINDOW_MS = 15 * MINUTE;

const dependencies = (ctx: AlertContext) => Object.entries(ctx.health?.dependencies ?? {});

/** Failed share (percent) of finished things, or undefined below `minimum` finished. */
function failureRate(failed: number, total: number, minimum: number): number | undefined {
  return total >= minimum ? Math.round((failed / total) * 10_000) / 100 : undefined;
}

export function alertRules(thresholds: AlertThresholds): AlertRule[] {
  return [
    {
      name: 'high_cpu',
      summary: 'CPU busy above 90 % for 5 minutes',
      severity: 'warning',
      comparison: 'above',
      threshold: 90,
      forMs: 5 * MINUTE,
      unit: '%',
      measure: async (ctx) => ctx.system?.cpuPercent,
    },
    {
      name: 'high_memory',
      summary: 'Memory use above 90 % for 5 minutes',
      severity: 'warning',
      comparison: 'above',
      threshold: 90,
      forMs: 5 * MINUTE,
      unit: '%',
      measure: async (ctx) => ctx.system?.memoryPercent,
    },
    {
      name: 'low_disk',
      summary: 'Disk holding DATA_DIR more than 90 % full',
      severity: 'critical',
      comparison: 'above',
      threshold: 90,
      forMs: MINUTE,
      unit: '%',
      measure: async (ctx) => ctx.system?.diskPercent ?? undefined,
    },
    {
      name: 'service_down',
      summary: 'A critical dependency (database, Redis/queue, a daemon) is down',
      severity: 'critical',
      comparison: 'above',
      threshold: 0,
      forMs: 0,
      unit: 'dependencies',
      measure: async (ctx) =>
        ctx.health
          ? dependencies(ctx).filter(([, d]) => d.critical && d.status === 'down').length
          : undefined,
    },
    {
      name: 'job_failure_rate',
      summary: 'More than 10 % of jobs failed in the last 15 minutes',
      severity: 'warning',
      comparison: 'above',
      threshold: 10,
      forMs: 0,
      unit: '%',
      async measure(ctx) {
        const row = await ctx.database.db
          .selectFrom('job_logs')
          .select([
            sql<number>`sum(case when status = 'failed' then 1 else 0 end)`.as('failed'),
            sql<number>`count(*)`.as('total'),
          ])
          .where('status', '!=', 'running')
          .where('started_at', '>=', ctx.now - RATE_WINDOW_MS)
          .executeTakeFirst();
        return failureRate(Number(row?.failed ?? 0), Number(row?.total ?? 0), 10);
      },
    },
    {
      name: 'low_vtxo_inventory',
      summary: `Available VTXOs of an enabled asset below ${thresholds.inventoryCritical}`,
      severity: 'critical',
      comparison: 'below',
      threshold: thresholds.inventoryCritical,
      forMs: 0,
      unit: 'VTXOs',
      async measure(ctx) {
        const assets = await ctx.database.db
          .selectFrom('assets')
          .select('asset_id')
          .where('enabled', '=', 1)
          .execute();
        if (assets.length === 0) return undefined;
        const counts = await ctx.database.db
          .selectFrom('vtxos')
          .select(['asset_id', sql<number>`count(*)`.as('n')])
          .where('status', '=', 'available')
          .groupBy('asset_id')
          .execute();
        const byAsset = new Map(counts.map((c) => [c.asset_id, Number(c.n)]));
        return Math.min(...assets.map((a) => byAsset.get(a.asset_id) ?? 0));
      },
    },
    {
      name: 'relay_down',
      summary: 'A Nostr relay has been unreachable for 2 minutes',
      severity: 'warning',
      comparison: 'above',
      threshold: 0,
      forMs: 2 * MINUTE,
      unit: 'relays',
      measure: async (ctx) =>
        ctx.health
          ? dependencies(ctx).filter(([name, d]) => name.startsWith('relay') && d.status === 'down').length
          : undefined,
    },
    {
      name: 'breaker_open',
      summary: 'The circuit breaker of a daemon is open',
      severity: 'critical',
      comparison: 'above',
      threshold: 0,
      forMs: 0,
      unit: 'breakers',
      measure: async (ctx) =>
        ctx.health ? dependencies(ctx).filter(([, d]) => d.details?.breaker === 'open').length : undefined,
    },
    {
      name: 'gbtc_reserve_below_100',
      summary: 'gBTC reserve below 100 % of supply',
      severity: 'critical',
      comparison: 'below',
      threshold: 100,
      forMs: 0,
      unit: '%',
      async measure(ctx) {
        const row = await ctx.database.db
          .selectFrom('asset_reserves')
          .select('ratio_ppm')
          .where('asset_id', '=', 'gBTC')
          .orderBy('observed_at', 'desc')
          .limit(1)
          .executeTakeFirst();
        return row ? Number(row.ratio_ppm) / 10_000 : undefined;
      },
    },
    {
      name: 'ceremony_failure_rate',
      summary: 'More than 20 % of signing sessions failed in the last 15 minutes',
      severity: 'warning',
      comparison: 'above',
      threshold: 20,
      forMs: 0,
      unit: '%',
      async measure(ctx) {
        const row = await ctx.database.db
          .selectFrom('signing_sessions')
          .select([
            sql<number>`sum(case when state in ('failed', 'expired') then 1 else 0 end)`.as('failed'),
            sql<number>`count(*)`.as('total'),
          ])
          .where('state', 'in', ['failed', 'expired', 'confirmed'])
          .where('completed_at', '>=', ctx.now - RATE_WINDOW_MS)
          .executeTakeFirst();
        return failureRate(Number(row?.failed ?? 0), Number(row?.total ?? 0), 5);
      },
    },
  ];
}
