// Process-level endpoints: identity, readiness for load balancers, dependency health.
import { Type } from 'typebox';
import { answerHealth, answerReady, type ProbeDeps } from '../../monitoring/probes.ts';
import { NAME, VERSION } from '../../version.ts';
import type { HttpServer, RoutePlugin } from '../server.ts';

export interface SystemDeps extends ProbeDeps {
  readonly roles: readonly string[];
  readonly mode: Record<string, string>;
}

const Dependency = Type.Object({
  /** `simulated`: an in-process simulator answers in place of the daemon (DAEMON_MODE=sim). */
  status: Type.Union([Type.Literal('up'), Type.Literal('down'), Type.Literal('simulated')]),
  critical: Type.Boolean(),
  latency_ms: Type.Number(),
  error: Type.Optional(Type.String()),
  details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
});

const HealthBody = Type.Object({
  status: Type.Union([Type.Literal('healthy'), Type.Literal('degraded'), Type.Literal('unhealthy')]),
  version: Type.String(),
  instance: Type.String(),
  uptime_s: Type.Integer(),
  checked_at: Type.String({ format: 'date-time' }),
  dependencies: Type.Record(Type.String(), Dependency),
});

const ReadyBody = Type.Object({
  ready: Type.Boolean(),
  shutting_down: Type.Boolean(),
  gates: Type.Record(
    Type.String(),
    Type.Object({ open: Type.Boolean(), reason: Type.Optional(Type.String()) }),
  ),
  dependencies: Type.Record(Type.String(), Dependency),
});

export function systemRoutes(deps: SystemDeps): RoutePlugin {
  return async (app: HttpServer) => {
    app.get(
      '/',
      {
        schema: {
          summary: 'Name, version and mode of this gateway',
          tags: ['system'],
          response: {
            200: Type.Object({
              name: Type.String(),
              version: Type.String(),
              instance: Type.String(),
              roles: Type.Array(Type.String()),
              started_at: Type.String({ format: 'date-time' }),
              mode: Type.Record(Type.String(), Type.String()),
            }),
          },
        },
      },
      async () => ({
        name: NAME,
        version: VERSION,
        instance: deps.instanceId,
        roles: [...deps.roles],
        started_at: deps.startedAt.toISOString(),
        mode: deps.mode,
      }),
    );

    app.get(
      '/ready',
      {
        schema: {
          summary: 'Readiness gate: 200 only when the database, queue and intake are up',
          tags: ['system'],
          response: { 200: ReadyBody, 503: ReadyBody },
        },
      },
      async (_request, reply) => {
        const { status, body } = await answerReady(deps);
        return reply.status(status).send(body);
      },
    );

    app.get(
      '/health',
      {
        schema: {
          summary:
            'Each dependency with status and latency; 503 when a critical one is down; degraded when a non-critical one is, or a daemon is simulated in production',
          tags: ['system'],
          response: { 200: HealthBody, 503: HealthBody },
        },
      },
      async (_request, reply) => {
        const { status, body } = await answerHealth(deps);
        return reply.status(status).send(body);
      },
    );
  };
}
