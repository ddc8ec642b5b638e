// Sends alerts to an Alertmanager-compatible receiver (POST /api/v2/alerts body) the way
// Prometheus does: a firing alert at once, then again every resend interval while it lasts
// (Alertmanager resolves an alert it stops hearing about), each time with an endsAt four resend
// intervals ahead, so that Alertmanager resolves it by itself if every sender dies; and once it
// is over, the resolution (endsAt = when it ended). Alerts are identified by their labels, which
// name no instance: several API processes sending the same alert are one alert to Alertmanager.
import type { Logger } from '../logging.ts';
import { FailureLog } from '../failure-log.ts';

export interface OutgoingAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  /** Unix ms when it started firing. */
  readonly startsAt: number;
  /** Sent at startsAt by the instance that recorded it: this one's first send waits its turn. */
  readonly announced: boolean;
}

export interface AlertWebhookOptions {
  readonly url: string;
  readonly logger: Logger;
  readonly resendIntervalMs: number;
  readonly fetch?: typeof fetch;
  readonly timeoutMs?: number;
}

interface Firing {
  alert: OutgoingAlert;
  lastSentAt: number;
}

interface Ending {
  readonly alert: OutgoingAlert;
  readonly endsAt: number;
}

/** How long a resolution that could not be delivered is retried: Alertmanager has expired it by then. */
const ENDING_RETRY_INTERVALS = 4;

const fingerprint = (labels: Readonly<Record<string, string>>) =>
  JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));

const iso = (ms: number) => new Date(ms).toISOString();

export class AlertWebhook {
  readonly #o: AlertWebhookOptions;
  readonly #firing = new Map<string, Firing>();
  readonly #ending = new Map<string, Ending>();
  readonly #failures: FailureLog;

  constructor(options: AlertWebhookOptions) {
    this.#o = options;
    this.#failures = new FailureLog({ logger: options.logger, what: 'alert webhook' });
  }

  /**
   * The alerts firing now as this process sees them: sends those that are new or due again,
   * and the resolution of those that are no longer in the list.
   */
  async update(firing: readonly OutgoingAlert[], now: number): Promise<void> {
    const resend = this.#o.resendIntervalMs;
    const current = new Set<string>();
    const due: Firing[] = [];
    for (const alert of firing) {
      const key = fingerprint(alert.labels);
      current.add(key);
      this.#ending.delete(key);
      let entry = this.#firing.get(key);
      if (!entry) {
        entry = { alert, lastSentAt: alert.announced ? alert.startsAt : Number.NEGATIVE_INFINITY };
        this.#firing.set(key, entry);
      } else {
        entry.alert = { ...alert, startsAt: Math.min(alert.startsAt, entry.alert.startsAt) };
      }
      if (now - entry.lastSentAt >= resend) due.push(entry);
    }
    for (const [key, entry] of this.#firing) {
      if (current.has(key)) continue;
      this.#firing.delete(key);
      this.#ending.set(key, { alert: entry.alert, endsAt: now });
    }
    for (const [key, ending] of this.#ending) {
      if (now - ending.endsAt > ENDING_RETRY_INTERVALS * resend) this.#ending.delete(key);
    }
    const endings = [...this.#ending.entries()];
    if (due.length === 0 && endings.length === 0) return;

    const body = [
      ...due.map((f) => this.#format(f.alert, now + ENDING_RETRY_INTERVALS * resend)),
      ...endings.map(([, e]) => this.#format(e.alert, e.endsAt)),
    ];
    if (!(await this.#post(body, now))) return; // kept due: the next round tries again
    for (const f of due) f.lastSentAt = now;
    for (const [key] of endings) this.#ending.delete(key);
  }

  #format(alert: OutgoingAlert, endsAt: number) {
    return {
      labels: alert.labels,
      annotations: alert.annotations,
      startsAt: iso(alert.startsAt),
      endsAt: iso(endsAt),
    };
  }

  async #post(body: unknown[], now: number): Promise<boolean> {
    try {
      const response = await (this.#o.fetch ?? fetch)(this.#o.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.#o.timeoutMs ?? 5_000),
      });
      await response.body?.cancel();
      if (!response.ok) throw new Error(`webhook answered ${response.status}`);
      this.#failures.succeeded();
      return true;
    } catch (error) {
      this.#failures.failed(error, { alerts: body.length }, now);
      return false;
    }
  }
}
