// /health and /ready, answered the same way wherever they are asked: on an API process's HTTP
// port, and on every process's METRICS_PORT, the only port a worker or a scheduler has.
import { VERSION } from '../version.ts';
import type { DependencyReport, HealthRegistry, HealthReport } from './health.ts';
import type { Readiness, ReadinessState } from './readiness.ts';

export interface ProbeDeps {
  readonly instanceId: string;
  readonly startedAt: Date;
  readonly readiness: Readiness;
  readonly health: HealthRegistry;
  /** Dependencies /ready re-checks live on each probe (besides the start-up gates). */
  readonly readinessChecks: readonly string[];
}

export interface ProbeAnswer<T> {
  readonly status: 200 | 503;
  readonly body: T;
}

export type HealthBody = HealthReport & {
  readonly version: string;
  readonly instance: string;
  readonly uptime_s: number;
};

export type ReadyBody = ReadinessState & {
  readonly dependencies: Record<string, DependencyReport>;
};

/** Every dependency; 503 when a critical one is down. */
export async function answerHealth(deps: ProbeDeps): Promise<ProbeAnswer<HealthBody>> {
  const report = await deps.health.report();
  return {
    status: report.status === 'unhealthy' ? 503 : 200,
    body: {
      ...report,
      version: VERSION,
      instance: deps.instanceId,
      uptime_s: Math.floor((Date.now() - deps.startedAt.getTime()) / 1000),
    },
  };
}

/** 200 only when every start-up gate is open, the process is not stopping, and the live checks pass. */
export async function answerReady(deps: ProbeDeps): Promise<ProbeAnswer<ReadyBody>> {
  const state = deps.readiness.state();
  const live = state.ready ? await deps.health.report(deps.readinessChecks) : undefined;
  const ready = state.ready && live?.status !== 'unhealthy';
  return {
    status: ready ? 200 : 503,
    body: { ...state, ready, dependencies: live?.dependencies ?? {} },
  };
}
