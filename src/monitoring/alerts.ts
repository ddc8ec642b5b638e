// The alert engine. It judges the rules from memory, so an outage of the database cannot silence
// the alert that reports it, and keeps the database as its record whenever it is up:
//  - each round first writes what changed in memory while the database was down (state and
//    history), then reads every rule's row back, so toggles and transitions made by other
//    instances are seen;
//  - a transition is a conditional UPDATE, so when several instances judge the same rule only
//    the one whose update lands records it (history row, log line, first notification);
//  - while the database is down, rules that read it keep their state, the others (service_down
//    among them, judged from the health report) move in memory, and their transitions are
//    recorded when it is back;
//  - firing alerts go to the webhook at once and again every resend interval, each naming what
//    breaches it (label `dependency` or `asset`), and their resolution when they end.
import { deadline } from '../deadline.ts';
import { FailureLog, FailureLogs } from '../failure-log.ts';
import type { Logger } from '../logging.ts';
import type { Database } from '../store/database.ts';
import type { AlertState } from '../store/schema.ts';
import type { AlertContext, AlertRule, Measurement } from './alert-rules.ts';
import { INITIAL_VIEW, step, type RuleView } from './alert-state.ts';
import { AlertStore, type HistoryRow } from './alert-store.ts';
import { AlertWebhook, type OutgoingAlert } from './alert-webhook.ts';

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
  /** The label naming what breaches the rule (`dependency`, `asset`), if it names anything. */
  readonly subject_label: string | null;
  /** What breaches it now, as this instance last measured (e.g. `["database"]`). */
  readonly subjects: readonly string[];
  readonly pending_since: string | null;
  readonly fired_at: string | null;
  readonly resolved_at: string | null;
}

export interface AlertEvent {
  /** null: recorded while the database was down, not written yet. */
  readonly id: number | null;
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
  /** Firing alerts are sent again this often while they last (default 60 s). */
  readonly resendIntervalMs?: number;
}

/** Reads are answered from memory when the rows were read this recently. */
const FRESH_MS = 1_000;
/** A read waits at most this long for the database before answering from memory. */
const READ_DEADLINE_MS = 1_000;
/** After a failed read of the database, reads answer from memory for this long. */
const READ_BACKOFF_MS = 5_000;
/** Transitions kept for the database while it is down (the oldest are dropped beyond). */
const MAX_UNWRITTEN = 1_000;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function normalise(rule: AlertRule, measured: number | Measurement | undefined): Measurement | undefined {
  if (measured === undefined) return undefined;
  const m = typeof measured === 'number' ? { value: measured, subjects: [] } : measured;
  return rule.subject?.fixed ? { ...m, subjects: rule.subject.fixed } : m;
}

/** The message of a firing alert: what breaches it first, then the number. */
function describe(rule: AlertRule, m: Measurement): string {
  const threshold = `threshold ${rule.comparison} ${rule.threshold}`;
  return m.subjects.length > 0
    ? `${rule.summary}: ${m.subjects.join(', ')} (value ${m.value}, ${threshold})`
    : `${rule.summary}: ${m.value} ${rule.unit} (${threshold})`;
}

export class AlertEngine {
  readonly #o: AlertEngineOptions;
  readonly #rules: ReadonlyMap<string, AlertRule>;
  readonly #store: AlertStore;
  readonly #webhook: AlertWebhook | undefined;
  readonly #views = new Map<string, RuleView>();
  readonly #subjects = new Map<string, readonly string[]>();
  /** Rules changed in memory while the database was down, with the state their row had then. */
  readonly #dirty = new Map<string, AlertState>();
  /** Rules whose firing this instance recorded (and so announced at once). */
  readonly #announced = new Set<string>();
  #unwritten: Omit<HistoryRow, 'id'>[] = [];
  #lastHistory: HistoryRow[] = [];
  #ensured = false;
  #syncedAt = Number.NEGATIVE_INFINITY;
  #syncFailedAt = Number.NEGATIVE_INFINITY;
  #lock: Promise<unknown> = Promise.resolve();
  readonly #databaseLog: FailureLog;
  readonly #measureLogs: FailureLogs;

  constructor(options: AlertEngineOptions) {
    this.#o = options;
    this.#rules = new Map(options.rules.map((r) => [r.name, r]));
    for (const name of this.#rules.keys()) this.#views.set(name, INITIAL_VIEW);
    this.#store = new AlertStore(options.database);
    this.#webhook = options.webhookUrl
      ? new AlertWebhook({
          url: options.webhookUrl,
          logger: options.logger,
          resendIntervalMs: options.resendIntervalMs ?? 60_000,
          ...(options.fetch ? { fetch: options.fetch } : {}),
        })
      : undefined;
    this.#databaseLog = new FailureLog({ logger: options.logger, what: 'recording alerts in the database' });
    this.#measureLogs = new FailureLogs(
      (rule) => new FailureLog({ logger: options.logger, what: `alert rule ${rule} measurement` }),
    );
  }

  get rules(): readonly AlertRule[] {
    return [...this.#rules.values()];
  }

  /** Creates the rows of rules that have none yet; existing state and toggles are kept. */
  async ensureRules(now = Date.now()): Promise<void> {
    await this.#store.ensure([...this.#rules.keys()], now);
    this.#ensured = true;
  }

  /** Measures every enabled rule once, applies the transitions and notifies. */
  evaluate(ctx: AlertContext): Promise<void> {
    return this.#exclusive(async () => {
      const databaseDown = ctx.health?.dependencies.database?.status === 'down';
      let recording = !databaseDown && (await this.#sync(ctx.now));
      for (const rule of this.#rules.values()) {
        const view = this.#views.get(rule.name)!;
        if (!view.enabled || (rule.needsDatabase && !recording)) continue;
        let m: Measurement | undefined;
        try {
          m = normalise(rule, await rule.measure(ctx));
          this.#measureLogs.get(rule.name).succeeded();
        } catch (error) {
          this.#measureLogs.get(rule.name).failed(error, { rule: rule.name }, ctx.now);
          continue;
        }
        if (m === undefined) continue;
        const breached = rule.comparison === 'above' ? m.value > rule.threshold : m.value < rule.threshold;
        const before = this.#subjects.get(rule.name) ?? [];
        this.#subjects.set(rule.name, m.subjects);
        const { next, event } = step(view, rule.forMs, m.value, breached, ctx.now);
        recording = await this.#apply(rule, view, next, recording, ctx.now);
        if (this.#views.get(rule.name) !== next || !event) continue;
        const message =
          event === 'firing'
            ? describe(rule, m)
            : `resolved: ${rule.name}${before.length > 0 ? ` (${before.join(', ')})` : ''} at ${m.value} ${rule.unit}`;
        await this.#record(rule, event, m.value, message, recording, ctx.now);
      }
      await this.#notify(ctx.now);
    });
  }

  /**
   * Moves one rule to `next`: in the database when it is up (false back when it is not any
   * more), otherwise in memory, to be written later. When another instance moved the row first,
   * theirs is adopted and this instance records nothing.
   */
  async #apply(rule: AlertRule, view: RuleView, next: RuleView, recording: boolean, now: number) {
    if (recording) {
      try {
        if (await this.#store.transition(rule.name, view.state, next, now)) {
          this.#views.set(rule.name, next);
          return true;
        }
        const theirs = (await this.#store.load(rule.name)).get(rule.name);
        if (theirs) this.#views.set(rule.name, theirs);
        return true;
      } catch (error) {
        this.#databaseLog.failed(error, {}, now);
        this.#syncFailedAt = Date.now();
      }
    }
    if (!this.#dirty.has(rule.name)) this.#dirty.set(rule.name, view.state);
    this.#views.set(rule.name, next);
    return false;
  }

  /** Writes what changed while the database was down, then reads every rule back. */
  async #sync(now: number): Promise<boolean> {
    try {
      if (!this.#ensured) await this.ensureRules(now);
      for (const [name, from] of this.#dirty) {
        // Not landing means another instance moved the row meanwhile: theirs is read below.
        await this.#store.transition(name, from, this.#views.get(name)!, now);
        this.#dirty.delete(name);
      }
      if (this.#unwritten.length > 0) {
        await this.#store.append(this.#unwritten);
        this.#unwritten = [];
      }
      for (const [name, view] of await this.#store.load()) {
        if (this.#rules.has(name)) this.#views.set(name, view);
      }
      this.#syncedAt = Date.now();
      this.#databaseLog.succeeded();
      return true;
    } catch (error) {
      this.#databaseLog.failed(error, {}, now);
      this.#syncFailedAt = Date.now();
      return false;
    }
  }

  async #record(
    rule: AlertRule,
    status: 'firing' | 'resolved',
    value: number | null,
    message: string,
    recording: boolean,
    now: number,
  ): Promise<void> {
    const row = { rule: rule.name, status, severity: rule.severity, value, message, at: now };
    let written = false;
    if (recording) {
      written = await this.#store.append([row]).then(
        () => true,
        () => false,
      );
    }
    if (!written) {
      this.#unwritten.push({
        ...row,
        message: `${message} (recorded by ${this.#o.instanceId} while the database was unavailable)`,
      });
      if (this.#unwritten.length > MAX_UNWRITTEN) this.#unwritten.shift();
    }
    const log = {
      alert: rule.name,
      status,
      severity: rule.severity,
      value,
      ...(rule.subject ? { [rule.subject.label]: this.#subjects.get(rule.name) ?? [] } : {}),
    };
    if (status === 'firing') {
      this.#announced.add(rule.name);
      this.#o.logger.error(log, `alert firing: ${message}`);
    } else {
      this.#announced.delete(rule.name);
      this.#o.logger.info(log, `alert resolved: ${message}`);
    }
  }

  /** Hands the webhook every alert firing now; it sends what is new or due and the resolutions. */
  async #notify(now: number): Promise<void> {
    if (!this.#webhook) return;
    const alerts: OutgoingAlert[] = [];
    for (const rule of this.#rules.values()) {
      const view = this.#views.get(rule.name)!;
      if (!view.enabled || view.state !== 'firing') continue;
      const subjects = rule.subject ? (this.#subjects.get(rule.name) ?? []) : [];
      for (const subject of subjects.length > 0 ? subjects : [undefined]) {
        const labels: Record<string, string> = {
          alertname: rule.name,
          severity: rule.severity,
          service: 'arkrelay',
        };
        if (rule.subject && subject !== undefined) labels[rule.subject.label] = subject;
        alerts.push({
          labels,
          annotations: {
            summary: rule.summary,
            description: subject === undefined ? rule.summary : `${rule.summary}: ${subject}`,
            reported_by: this.#o.instanceId,
          },
          startsAt: view.firedAt ?? now,
          announced: !this.#announced.has(rule.name),
        });
      }
    }
    await this.#webhook.update(alerts, now);
  }

  /** Flips a rule on or off. Turning off a firing rule resolves it, so nothing stays stuck. */
  async toggle(name: string, now = Date.now()): Promise<AlertStatus> {
    const rule = this.#rules.get(name);
    if (!rule) throw new UnknownRuleError(name);
    return this.#exclusive(async () => {
      await this.ensureRules(now);
      const row = (await this.#store.load(name)).get(name) ?? INITIAL_VIEW;
      const next: RuleView = row.enabled
        ? {
            ...row,
            enabled: false,
            state: 'ok',
            pendingSince: null,
            resolvedAt: row.state === 'firing' ? now : row.resolvedAt,
          }
        : { ...row, enabled: true };
      if (await this.#store.setEnabled(name, row.enabled, next, now)) {
        this.#views.set(name, next);
        if (row.enabled && row.state === 'firing') {
          const message = `resolved: ${name} was disabled by an operator`;
          await this.#record(rule, 'resolved', row.lastValue, message, true, now);
        }
      } else {
        this.#views.set(name, (await this.#store.load(name)).get(name) ?? row);
      }
      this.#dirty.delete(name);
      await this.#notify(now);
      return this.#status(rule);
    });
  }

  /** Every rule's state: read from the database when it answers, else as this instance knows it. */
  async statuses(): Promise<AlertStatus[]> {
    await this.#refresh();
    return this.rules.map((rule) => this.#status(rule));
  }

  async firing(): Promise<AlertStatus[]> {
    return (await this.statuses()).filter((s) => s.state === 'firing');
  }

  /** The firing rules as this instance knows them, without touching the database (for scrapes). */
  known(): readonly { rule: string; severity: string; firing: boolean }[] {
    return this.rules.map((rule) => {
      const view = this.#views.get(rule.name)!;
      return { rule: rule.name, severity: rule.severity, firing: view.enabled && view.state === 'firing' };
    });
  }

  /** Newest first: the database's history, after what this instance could not write to it yet. */
  async history(limit = 100): Promise<AlertEvent[]> {
    const n = Math.min(Math.max(limit, 1), 1000);
    try {
      this.#lastHistory = await deadline(this.#store.history(n), READ_DEADLINE_MS);
    } catch {
      // The database is down: the newest page read before, which is what this instance knows.
    }
    const unwritten = this.#unwritten.map((r) => ({ ...r, id: null })).reverse();
    return [...unwritten, ...this.#lastHistory].slice(0, n).map((r) => ({
      id: r.id,
      rule: r.rule,
      status: r.status,
      severity: r.severity,
      value: r.value,
      message: r.message,
      at: new Date(r.at).toISOString(),
    }));
  }

  async #refresh(): Promise<void> {
    const now = Date.now();
    if (now - this.#syncedAt < FRESH_MS || now - this.#syncFailedAt < READ_BACKOFF_MS) return;
    await deadline(
      this.#exclusive(() => this.#sync(now)),
      READ_DEADLINE_MS,
    ).catch(() => undefined);
  }

  #status(rule: AlertRule): AlertStatus {
    const view = this.#views.get(rule.name)!;
    return {
      rule: rule.name,
      summary: rule.summary,
      severity: rule.severity,
      enabled: view.enabled,
      state: view.state,
      threshold: rule.threshold,
      comparison: rule.comparison,
      for_ms: rule.forMs,
      unit: rule.unit,
      last_value: view.lastValue,
      subject_label: rule.subject?.label ?? null,
      subjects: view.state === 'ok' ? [] : (this.#subjects.get(rule.name) ?? []),
      pending_since: iso(view.pendingSince),
      fired_at: iso(view.firedAt),
      resolved_at: iso(view.resolvedAt),
    };
  }

  /** One round, toggle or sync at a time: they read and write the same in-memory views. */
  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(work, work);
    this.#lock = run.catch(() => undefined);
    return run;
  }
}
