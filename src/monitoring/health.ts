// Health of each dependency, measured live. A critical dependency that is down makes the
// whole gateway unhealthy (503); a non-critical one only degrades it.

export type DependencyStatus = 'up' | 'down';

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
  readonly details?: Record<string, unknown>;
}

export interface DependencyCheck {
  readonly name: string;
  readonly critical: boolean;
  /** Resolves when the dependency answers; rejects (with a message free of secrets) when not. */
  check(): Promise<CheckResult | void>;
}

export interface HealthReport {
  readonly status: 'healthy' | 'degraded' | 'unhealthy';
  readonly checked_at: string;
  readonly dependencies: Record<string, DependencyReport>;
}

const CHECK_TIMEOUT_MS = 2_000;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export class HealthRegistry {
  readonly #checks = new Map<string, DependencyCheck>();

  register(check: DependencyCheck): void {
    this.#checks.set(check.name, check);
  }

  unregister(name: string): void {
    this.#checks.delete(name);
  }

  async checkOne(check: DependencyCheck): Promise<DependencyReport> {
    const started = performance.now();
    try {
      const result = (await withTimeout(check.check(), CHECK_TIMEOUT_MS)) ?? {};
      const latency = result.latencyMs ?? performance.now() - started;
      return {
        status: 'up',
        critical: check.critical,
        latency_ms: Math.round(latency * 100) / 100,
        ...(result.details ? { details: result.details } : {}),
      };
    } catch (error) {
      return {
        status: 'down',
        critical: check.critical,
        latency_ms: Math.round((performance.now() - started) * 100) / 100,
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
    const status = down.some((r) => r.critical) ? 'unhealthy' : down.length > 0 ? 'degraded' : 'healthy';
    return { status, checked_at: new Date().toISOString(), dependencies };
  }
}
