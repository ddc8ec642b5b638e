// The database record of the alert rules: one alert_rules row per rule (state and toggle, shared
// by every instance) and alert_history. Every state change is a conditional UPDATE on the state
// the writer last saw, so when several instances judge the same rule only one records it.
import type { Database } from '../store/database.ts';
import type { AlertRulesTable, AlertState } from '../store/schema.ts';
import type { RuleView } from './alert-state.ts';

export interface HistoryRow {
  readonly id: number | null;
  readonly rule: string;
  readonly status: 'firing' | 'resolved';
  readonly severity: string;
  readonly value: number | null;
  readonly message: string;
  readonly at: number;
}

const toView = (row: AlertRulesTable): RuleView => ({
  enabled: row.enabled === 1,
  state: row.state,
  pendingSince: row.pending_since_at === null ? null : Number(row.pending_since_at),
  firedAt: row.fired_at === null ? null : Number(row.fired_at),
  resolvedAt: row.resolved_at === null ? null : Number(row.resolved_at),
  lastValue: row.last_value,
});

export class AlertStore {
  readonly #database: Database;

  constructor(database: Database) {
    this.#database = database;
  }

  /** Creates the rows of rules that have none yet; existing state and toggles are kept. */
  async ensure(names: readonly string[], now: number): Promise<void> {
    const db = this.#database.db;
    const existing = new Set(
      (await db.selectFrom('alert_rules').select('rule_name').execute()).map((r) => r.rule_name),
    );
    for (const name of names) {
      if (existing.has(name)) continue;
      const row = { rule_name: name, enabled: 1 as const, state: 'ok' as const, updated_at: now };
      const insert = db.insertInto('alert_rules').values(row);
      // Another instance may insert the same row at the same moment: keep theirs.
      await (this.#database.kind === 'mariadb'
        ? insert.ignore().execute()
        : insert.onConflict((c) => c.column('rule_name').doNothing()).execute());
    }
  }

  async load(name?: string): Promise<Map<string, RuleView>> {
    let query = this.#database.db.selectFrom('alert_rules').selectAll();
    if (name !== undefined) query = query.where('rule_name', '=', name);
    const rows = await query.execute();
    return new Map(rows.map((r) => [r.rule_name, toView(r)]));
  }

  /** Writes `next` if the row is still in state `from`; false when another writer moved it first. */
  async transition(name: string, from: AlertState, next: RuleView, now: number): Promise<boolean> {
    const result = await this.#database.db
      .updateTable('alert_rules')
      .set({
        enabled: next.enabled ? 1 : 0,
        state: next.state,
        pending_since_at: next.pendingSince,
        fired_at: next.firedAt,
        resolved_at: next.resolvedAt,
        last_value: next.lastValue,
        updated_at: now,
      })
      .where('rule_name', '=', name)
      .where('state', '=', from)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Flips the toggle if it is still `from`; false when another writer flipped it first. */
  async setEnabled(name: string, from: boolean, next: RuleView, now: number): Promise<boolean> {
    const result = await this.#database.db
      .updateTable('alert_rules')
      .set({
        enabled: next.enabled ? 1 : 0,
        state: next.state,
        pending_since_at: next.pendingSince,
        resolved_at: next.resolvedAt,
        updated_at: now,
      })
      .where('rule_name', '=', name)
      .where('enabled', '=', from ? 1 : 0)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async append(rows: readonly Omit<HistoryRow, 'id'>[]): Promise<void> {
    if (rows.length === 0) return;
    await this.#database.db
      .insertInto('alert_history')
      .values(
        rows.map((r) => ({
          rule_name: r.rule,
          status: r.status,
          severity: r.severity,
          value: r.value,
          message: r.message,
          created_at: r.at,
        })),
      )
      .execute();
  }

  async history(limit: number): Promise<HistoryRow[]> {
    const rows = await this.#database.db
      .selectFrom('alert_history')
      .selectAll()
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      id: Number(r.id),
      rule: r.rule_name,
      status: r.status,
      severity: r.severity,
      value: r.value,
      message: r.message,
      at: Number(r.created_at),
    }));
  }
}
