// Health of each dependency, measured live. A critical dependency that is down makes the
// whole gateway unhealthy (503); a non-critical one only degrades it. Every check has its own
// deadline, shorter than a probe's patience, so /health answers within a second during an
// outage and every instance reports the same outage the same way.
//
// A simulated daemon answers, so it is not down: it is reported `simulated`. The embedded default
// is simulated by design (a laptop, the tests), so there it is only reported; in a production
// deployment (DATABASE_URL set) a simulated daemon cannot settle anything real, and it makes the
// whole gateway `degraded`.
import { deadline } from '../deadline.ts';

export type DependencyStatus = 'up' | 'down' | 'simulated';

export interface DependencyReport {
  readonly status: DependencyStatus;
  readonly critical: boolean;
  readonly latency_ms: number;
  readonly error?: string;
  readonly details?: Record<string, unknown>;
}

export interface CheckResult {
  /** Latency of the probe; measured by the registry when the check does not say. */
  readonly latencyMs?: number;
  /** The dependency is an in-process simulator (a daemon in `sim` mode). */
  readonly simulated?: boolean;
  readonly details?: Record<string, unknown>;
}

export interface DependencyCheck {
  readonly name: string;
  readonly critical: boolean;
  /**
   * Resolves when the dependency answers; rejects (with a message free of secrets) when not.
   * `timeoutMs` is the check's deadline: a check that can bound its own call should, so that
   * nothing keeps running after the registry has given up on it.
   */
  check(timeoutMs: number): Promise<CheckResult | void>;
}

export interface HealthReport {
  readonly status: 'healthy' | 'degraded' | 'unhealthy';
  readonly checked_at: string;
  readonly dependencies: Record<string, DependencyReport>;
}

export interface HealthOptions {
  /** A simulated dependency degrades the overall status (production deployments). */
  readonly simulatedDegrades?: boolean;
  /** Deadline given to each check (default 750 ms, so that a whole report answers within a second). */
  readonly checkTimeoutMs?: number;
}

export const CHECK_TIMEOUT_MS = 750;
/** A check that bounds itself fails with its own, clearer reason before the registry gives up. */
const OWN_DEADLINE_MARGIN_MS = 150;

const round = (ms: number) => Math.round(ms * 100) / 100;

export class HealthRegistry {
  readonly #checks = new Map<string, DependencyCheck>();
  readonly #simulatedDegrades: boolean;
  readonly #timeoutMs: number;

  constructor(options: HealthOptions = {}) {
    this.#simulatedDegrades = options.simulatedDegrades ?? false;
    this.#timeoutMs = options.checkTimeoutMs ?? CHECK_TIMEOUT_MS;
  }

  register(check: DependencyCheck): void {
    this.#checks.set(check.name, check);
  }

  unregister(name: string): void {
    this.#checks.delete(name);
  }

  async checkOne(check: DependencyCheck): Promise<DependencyReport> {
    const started = performance.now();
    try {
      const limit = this.#timeoutMs + OWN_DEADLINE_MARGIN_MS;
      const result = (await deadline(check.check(this.#timeoutMs), limit)) ?? {};
      return {
        status: result.simulated ? 'simulated' : 'up',
        critical: check.critical,
        latency_ms: round(result.latencyMs ?? performance.now() - started),
        ...(result.details ? { details: result.details } : {}),
      };
    } catch (error) {
      return {
        status: 'down',
        critical: check.critical,
        latency_ms: round(performance.now() - started),
        error: error instanceof Error ? error.message : String(error),
      };
    }
  }

  /** Checks every dependency in parallel, or only those named. */
  async report(only?: readonly string[]): Promise<HealthReport> {
    const checks = [...this.#checks.values()].filter((c) => !only || only.includes(c.name));
    const reports = await Promise.all(checks.map((c) => this.checkOne(c)));
    const dependencies = Object.fromEntries(checks.map((c, i) => [c.name, reports[i]!]));
    const down = reports.filter((r) => r.status === 'down');
    const simulated = this.#simulatedDegrades && reports.some((r) => r.status === 'simulated');
    const status = down.some((r) => r.critical)
      ? 'unhealthy'
      : down.length > 0 || simulated
        ? 'degraded'
        : 'healthy';
    return { status, checked_at: new Date().toISOString(), dependencies };
  }
}
