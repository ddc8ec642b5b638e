// The alert rules: the guide's (CPU, memory, disk, service down, job failure rate, VTXO
// inventory) and ArkRelay's own (relay down, breaker open, gBTC reserve, ceremony failures).
// Each rule measures one number, and names what breaches it (which dependency, which asset);
// the engine (alerts.ts) decides pending/firing/resolved. Rules that read the database are
// skipped while it is down; the others (service_down among them) are judged from memory.
import { sessionOutcomes } from '../ceremony/session-reads.ts';
import { jobOutcomes } from '../jobs/job-log.ts';
import { GBTC_ID, listAssets } from '../ledger/assets.ts';
import { MONITOR_STATE_SETTING, type MonitorState } from '../ledger/inventory-monitor.ts';
import { inventoryCounts } from '../ledger/ledger-reads.ts';
import { latestReading } from '../ledger/reserves.ts';
import { readSetting } from '../ledger/settings.ts';
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

/** A value and what breaches the threshold (dependency or asset names), for the alert's labels. */
export interface Measurement {
  readonly value: number;
  readonly subjects: readonly string[];
}

export interface AlertRule {
  readonly name: string;
  readonly summary: string;
  readonly severity: Severity;
  /**
   * What the rule names when it fires: the label (`dependency`, `asset`) each firing alert
   * carries, and the subjects when they are always the same (`fixed`).
   */
  readonly subject?: { readonly label: string; readonly fixed?: readonly string[] };
  /** Measured from the database: not judged while the database is down. */
  readonly needsDatabase?: boolean;
  /** The rule is breached when the value is above (or below) the threshold… */
  readonly comparison: 'above' | 'below';
  readonly threshold: number;
  /** …continuously for this long. */
  readonly forMs: number;
  readonly unit: string;
  /** undefined: no data (nothing to judge yet); the rule keeps its state. */
  measure(ctx: AlertContext): Promise<number | Measurement | undefined>;
}

export interface AlertThresholds {
  readonly inventoryCritical: number;
  /**
   * A fresh deploy's grace: an asset registered less than this long ago, whose inventory has
   * never held `inventoryCritical` VTXOs, is not judged while the inventory monitor runs (it is
   * making them). Default 0: no grace.
   */
  readonly inventoryGraceMs?: number;
  /** VTXO_AUTO_START: whether the monitor runs while no operator has toggled it. */
  readonly inventoryMonitorAutoStart?: boolean;
}

const MINUTE = 60_000;
const RATE_WINDOW_MS = 15 * MINUTE;

const dependencies = (ctx: AlertContext) => Object.entries(ctx.health?.dependencies ?? {});

/** The dependencies of the health report that match, counted and named. */
function matching(
  ctx: AlertContext,
  match: (name: string, d: HealthReport['dependencies'][string]) => boolean,
): Measurement | undefined {
  if (!ctx.health) return undefined;
  const subjects = dependencies(ctx)
    .filter(([name, d]) => match(name, d))
    .map(([name]) => name);
  return { value: subjects.length, subjects };
}

/**
 * The smallest count of available VTXOs among enabled assets, and the assets below `critical`.
 * An asset still in its first fill (see AlertThresholds.inventoryGraceMs) is left out.
 */
async function lowestInventory(ctx: AlertContext, t: AlertThresholds): Promise<Measurement | undefined> {
  const assets = await listAssets(ctx.database, { enabledOnly: true });
  if (assets.length === 0) return undefined;
  const byAsset = await inventoryCounts(ctx.database);
  const graceMs = t.inventoryGraceMs ?? 0;
  let monitorRunning: boolean | undefined;
  const judged: { asset: string; available: number }[] = [];
  for (const a of assets) {
    const n = byAsset.get(a.assetId) ?? { available: 0, made: 0 };
    const young = ctx.now - a.createdAt < graceMs;
    if (young && n.made < t.inventoryCritical) {
      monitorRunning ??=
        (await readSetting<MonitorState>(ctx.database, MONITOR_STATE_SETTING))?.running ??
        t.inventoryMonitorAutoStart ??
        true;
      if (monitorRunning) continue;
    }
    judged.push({ asset: a.assetId, available: n.available });
  }
  if (judged.length === 0) return undefined;
  return {
    value: Math.min(...judged.map((j) => j.available)),
    subjects: judged.filter((j) => j.available < t.inventoryCritical).map((j) => j.asset),
  };
}

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
      subject: { label: 'dependency' },
      measure: async (ctx) => matching(ctx, (_, d) => d.critical && d.status === 'down'),
    },
    {
      name: 'job_failure_rate',
      summary: 'More than 10 % of jobs failed in the last 15 minutes',
      severity: 'warning',
      comparison: 'above',
      threshold: 10,
      forMs: 0,
      unit: '%',
      needsDatabase: true,
      async measure(ctx) {
        const { failed, total } = await jobOutcomes(ctx.database, ctx.now - RATE_WINDOW_MS);
        return failureRate(failed, total, 10);
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
      subject: { label: 'asset' },
      needsDatabase: true,
      measure: (ctx) => lowestInventory(ctx, thresholds),
    },
    {
      name: 'relay_down',
      summary: 'A Nostr relay has been unreachable for 2 minutes',
      severity: 'warning',
      comparison: 'above',
      threshold: 0,
      forMs: 2 * MINUTE,
      unit: 'relays',
      subject: { label: 'dependency' },
      measure: async (ctx) => matching(ctx, (name, d) => name.startsWith('relay') && d.status === 'down'),
    },
    {
      name: 'breaker_open',
      summary: 'The circuit breaker of a daemon is open',
      severity: 'critical',
      comparison: 'above',
      threshold: 0,
      forMs: 0,
      unit: 'breakers',
      subject: { label: 'dependency' },
      measure: async (ctx) => matching(ctx, (_, d) => d.details?.breaker === 'open'),
    },
    {
      name: 'gbtc_reserve_below_100',
      summary: 'gBTC reserve below 100 % of supply',
      severity: 'critical',
      comparison: 'below',
      threshold: 100,
      forMs: 0,
      unit: '%',
      subject: { label: 'asset', fixed: ['gBTC'] },
      needsDatabase: true,
      async measure(ctx) {
        const reading = await latestReading(ctx.database, GBTC_ID);
        return reading ? Number(reading.ratioPpm) / 10_000 : undefined;
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
      needsDatabase: true,
      async measure(ctx) {
        const { failed, total } = await sessionOutcomes(ctx.database, ctx.now - RATE_WINDOW_MS);
        return failureRate(failed, total, 5);
      },
    },
  ];
}
