// The alert engine: measures each enabled rule and moves its persisted state ok → pending →
// firing → ok. Every transition is a conditional UPDATE on alert_rules, so when several
// instances evaluate the same rule only the one whose update lands records the alert, logs it
// and calls the webhook: one notification per firing, however many gateways run.
import type { Logger } from '../logging.ts';
import type { Database } from '../store/database.ts';
import type { AlertState } from '../store/schema.ts';
import type { AlertContext, AlertRule } from './alert-rules.ts';
import { isoTimeOrNull } from '../domain/iso-time.ts';

export interface AlertStatus {
  readonly rule: string;
  readonly summary: string;
  readonly severity: string;
  readonly enabled: boolean;
  readonly state: AlertState;
  readonly threshold: number;
  readonly comparison: 'above' | 'below';
  readonly for_ms: number;
  readonly unit: string;
  readonly last_value: number | null;
  readonly pending_since: string | null;
  readonly fired_at: string | null;
  readonly resolved_at: string | null;
}

export interface AlertEvent {
  readonly id: number;
  readonly rule: string;
  readonly status: 'firing' | 'resolved';
  readonly severity: string;
  readonly value: number | null;
  readonly message: string;
  readonly at: string;
}

export class UnknownRuleError extends Error {
  constructor(name: string) {
    super(`unknown alert rule "${name}"`);
    this.name = 'UnknownRuleError';
  }
}

export interface AlertEngineOptions {
  readonly database: Database;
  readonly rules: readonly AlertRule[];
  readonly logger: Logger;
  readonly instanceId: string;
  /** Alertmanager-compatible receiver (POST /api/v2/alerts style body). */
  readonly webhookUrl?: string;
  readonly fetch?: typeof fetch;
}

export class AlertEngine {
  readonly #o: AlertEngineOptions;
  readonly #rules: ReadonlyMap<string, AlertRule>;

  constructor(options: AlertEngineOptions) {
    this.#o = options;
    this.#rules = new Map(options.rules.map((r) => [r.name, r]));
  }

  get rules(): readonly AlertRule[] {
    return [...this.#rules.values()];
  }

  /** Creates the rows of rules that have none yet; existing state and toggles are kept. */
  async ensureRules(now = Date.now()): Promise<void> {
    const db = this.#o.database.db;
    const existing = new Set(
      (await db.selectFrom('alert_rules').select('rule_name').execute()).map((r) => r.rule_name),
    );
    for (const rule of this.#rules.values()) {
      if (existing.has(rule.name)) continue;
      const row = { rule_name: rule.name, enabled: 1 as const, state: 'ok' as const, updated_at: now };
      const insert = db.insertInto('alert_rules').values(row);
      // Another instance may insert the same row at the same moment: keep theirs.
      await (this.#o.database.kind === 'mariadb'
        ? insert.ignore().execute()
        : insert.onConflict((c) => c.column('rule_name').doNothing()).execute());
    }
  }

  /** Measures every enabled rule once and applies the transitions. */
  async evaluate(ctx: AlertContext): Promise<void> {
    const db = this.#o.database.db;
    const rows = await db.selectFrom('alert_rules').selectAll().execute();
    for (const row of rows) {
      const rule = this.#rules.get(row.rule_name);
      if (!rule || row.enabled !== 1) continue;
      let value: number | undefined;
      try {
        value = await rule.measure(ctx);
      } catch (error) {
        this.#o.logger.warn({ rule: rule.name, err: error }, 'alert rule could not be measured');
        continue;
      }
      if (value === undefined) continue;
      const breached = rule.comparison === 'above' ? value > rule.threshold : value < rule.threshold;
      await this.#step(rule, row.state, row.pending_since_at, value, breached, ctx.now);
    }
  }

  async #step(
    rule: AlertRule,
    state: AlertState,
    pendingSince: number | null,
    value: number,
    breached: boolean,
    now: number,
  ) {
    const db = this.#o.database.db;
    const update = (from: AlertState, set: Record<string, unknown>) =>
      db
        .updateTable('alert_rules')
        .set({ ...set, last_value: value, updated_at: now })
        .where('rule_name', '=', rule.name)
        .where('state', '=', from)
        .executeTakeFirst()
        .then((r) => Number(r.numUpdatedRows) === 1);

    if (breached && state === 'ok') {
      if (rule.forMs > 0) {
        await update('ok', { state: 'pending', pending_since_at: now });
        return;
      }
      if (await update('ok', { state: 'firing', pending_since_at: now, fired_at: now }))
        await this.#record(rule, 'firing', value, now);
      return;
    }
    if (breached && state === 'pending') {
      if (pendingSince !== null && now - pendingSince >= rule.forMs) {
        if (await update('pending', { state: 'firing', fired_at: now }))
          await this.#record(rule, 'firing', value, now);
      } else {
        await update('pending', {});
      }
      return;
    }
    if (!breached && state === 'pending') {
      await update('pending', { state: 'ok', pending_since_at: null });
      return;
    }
    if (!breached && state === 'firing') {
      if (await update('firing', { state: 'ok', pending_since_at: null, resolved_at: now }))
        await this.#record(rule, 'resolved', value, now);
      return;
    }
    await update(state, {});
  }

  async #record(
    rule: AlertRule,
    status: 'firing' | 'resolved',
    value: number | null,
    now: number,
    reason?: string,
  ) {
    const message =
      reason ??
      (status === 'firing'
        ? `${rule.summary}: ${value} ${rule.unit} (threshold ${rule.comparison} ${rule.threshold})`
        : `resolved: ${rule.name} at ${value} ${rule.unit}`);
    await this.#o.database.db
      .insertInto('alert_history')
      .values({ rule_name: rule.name, status, severity: rule.severity, value, message, created_at: now })
      .execute();
    const log = { alert: rule.name, status, severity: rule.severity, value };
    if (status === 'firing') this.#o.logger.error(log, `alert firing: ${message}`);
    else this.#o.logger.info(log, `alert resolved: ${rule.name}`);
    void this.#notify(rule, status, message, now);
  }

  async #notify(rule: AlertRule, status: 'firing' | 'resolved', message: string, now: number): Promise<void> {
    const url = this.#o.webhookUrl;
    if (!url) return;
    const body = [
      {
        labels: {
          alertname: rule.name,
          severity: rule.severity,
          service: 'arkrelay',
          instance: this.#o.instanceId,
        },
        annotations: { summary: rule.summary, description: message },
        startsAt: new Date(now).toISOString(),
        ...(status === 'resolved' ? { endsAt: new Date(now).toISOString() } : {}),
      },
    ];
    try {
      const response = await (this.#o.fetch ?? fetch)(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(5_000),
      });
      if (!response.ok) throw new Error(`webhook answered ${response.status}`);
    } catch (error) {
      this.#o.logger.warn({ alert: rule.name, err: error }, 'alert webhook failed');
    }
  }

  /** Flips a rule on or off. Turning off a firing rule resolves it, so nothing stays stuck. */
  async toggle(name: string, now = Date.now()): Promise<AlertStatus> {
    const rule = this.#rules.get(name);
    if (!rule) throw new UnknownRuleError(name);
    await this.ensureRules(now);
    const db = this.#o.database.db;
    const row = await db
      .selectFrom('alert_rules')
      .selectAll()
      .where('rule_name', '=', name)
      .executeTakeFirstOrThrow();
    const enable = row.enabled !== 1;
    const result = await db
      .updateTable('alert_rules')
      .set({
        enabled: enable ? 1 : 0,
        updated_at: now,
        ...(enable
          ? {}
          : {
              state: 'ok' as const,
              pending_since_at: null,
              resolved_at: row.state === 'firing' ? now : row.resolved_at,
            }),
      })
      .where('rule_name', '=', name)
      .where('enabled', '=', row.enabled)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 1 && !enable && row.state === 'firing') {
      await this.#record(
        rule,
        'resolved',
        row.last_value,
        now,
        `resolved: ${name} was disabled by an operator`,
      );
    }
    return (await this.statuses()).find((s) => s.rule === name)!;
  }

  async statuses(): Promise<AlertStatus[]> {
    const rows = new Map(
      (await this.#o.database.db.selectFrom('alert_rules').selectAll().execute()).map((r) => [
        r.rule_name,
        r,
      ]),
    );
    return this.rules.map((rule) => {
      const row = rows.get(rule.name);
      return {
        rule: rule.name,
        summary: rule.summary,
        severity: rule.severity,
        enabled: row ? row.enabled === 1 : true,
        state: row?.state ?? 'ok',
        threshold: rule.threshold,
        comparison: rule.comparison,
        for_ms: rule.forMs,
        unit: rule.unit,
        last_value: row?.last_value ?? null,
        pending_since: isoTimeOrNull(row?.pending_since_at ?? null),
        fired_at: isoTimeOrNull(row?.fired_at ?? null),
        resolved_at: isoTimeOrNull(row?.resolved_at ?? null),
      };
    });
  }

  async firing(): Promise<AlertStatus[]> {
    return (await this.statuses()).filter((s) => s.state === 'firing');
  }

  async history(limit = 100): Promise<AlertEvent[]> {
    const rows = await this.#o.database.db
      .selectFrom('alert_history')
      .selectAll()
      .orderBy('id', 'desc')
      .limit(Math.min(Math.max(limit, 1), 1000))
      .execute();
    return rows.map((r) => ({
      id: Number(r.id),
      rule: r.rule_name,
      status: r.status,
      severity: r.severity,
      value: r.value,
      message: r.message,
      at: new Date(Number(r.created_at)).toISOString(),
    }));
  }
}
