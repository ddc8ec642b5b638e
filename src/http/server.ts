// The Fastify application: schema-first routes (TypeBox), one plugin per route group, one
// error shape for every failure, and the OpenAPI document generated from the route schemas.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
} from 'fastify';
import type { Logger } from '../logging.ts';
import type { Metrics } from '../monitoring/metrics.ts';
import { NAME, VERSION } from '../version.ts';
import { FailureLog, FailureLogs } from '../failure-log.ts';
import { HTTP_ERROR, httpAnswer, type ErrorBody, type HttpAnswer, type HttpErrorCode } from './errors.ts';
import { refuseNonFiniteNumbers } from './numbers.ts';

export type HttpServer = FastifyInstance<
  Server,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

export type RoutePlugin = (app: HttpServer) => Promise<void>;

function codeForStatus(status: number): HttpErrorCode {
  const match = Object.entries(HTTP_ERROR).find(([, s]) => s === status);
  return (
    (match?.[0] as HttpErrorCode | undefined) ?? (status >= 500 ? 'internal_error' : 'validation_failed')
  );
}

/** Fastify's own refusals (a body too large, an unsupported content type…): its status, our code. */
function fastifyAnswer(error: FastifyError): HttpAnswer | undefined {
  if (typeof error.code !== 'string' || !error.code.startsWith('FST_') || error.statusCode === undefined)
    return undefined;
  const status = error.statusCode;
  return { code: codeForStatus(status), message: status >= 500 ? 'internal error' : error.message };
}

export interface HttpServerOptions {
  /** Request counts and durations per route go here when given. */
  readonly metrics?: Metrics;
  /** Hides secrets in request URLs before routing, so no log or audit row ever holds them. */
  readonly redactUrl?: (url: string) => string;
}

/** The URL a request is routed, validated and logged by, secrets hidden (Fastify's rewriteUrl). */
function redactedUrl(raw: IncomingMessage & { originalUrl?: string }, redact: (url: string) => string) {
  const url = redact(raw.url ?? '/');
  // Fastify keeps the URL as received in originalUrl: that copy must not hold the secret either.
  raw.originalUrl = url;
  return url;
}

export async function createHttpServer(
  logger: Logger,
  routes: readonly RoutePlugin[],
  options: HttpServerOptions = {},
): Promise<HttpServer> {
  const redactUrl = options.redactUrl;
  const app = Fastify({
    loggerInstance: logger.child({ component: 'http' }) as FastifyBaseLogger,
    // Probes hit /health and /ready every few seconds: per-request lines would drown the log.
    // Failures are still logged by the error handler below.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } },
    ...(redactUrl ? { rewriteUrl: (raw: IncomingMessage) => redactedUrl(raw, redactUrl) } : {}),
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.addHook('preHandler', refuseNonFiniteNumbers);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'ArkRelay',
        version: VERSION,
        description: `${NAME} HTTP API: reads and operator actions. State changes by users go through Nostr.`,
      },
      components: {
        securitySchemes: { adminKey: { type: 'apiKey', in: 'header', name: 'X-Admin-Key' } },
      },
    },
  });

  // An outage fails every request that needs the dependency: one line per interval, with a count.
  const outages = new FailureLogs(
    (dependency) => new FailureLog({ logger: app.log as Logger, what: `requests needing ${dependency}` }),
  );
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const answer = error.validation
      ? { code: 'validation_failed' as const, message: error.message }
      : (fastifyAnswer(error) ?? httpAnswer(error));
    if (answer.dependency) {
      // The dependency's own message may name internal hosts: the log has it, the client does not.
      outages.get(answer.dependency).failed(error, {
        dependency: answer.dependency,
        route: request.routeOptions.url,
      });
      void reply.header('retry-after', '5');
    }
    const status = HTTP_ERROR[answer.code];
    if (status >= 500 && !answer.dependency)
      request.log.error({ err: error, url: request.url }, 'request failed');
    void reply.status(status).send({ error: answer } satisfies ErrorBody);
  });

  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({
      error: { code: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` },
    });
  });

  const metrics = options.metrics;
  if (metrics) {
    app.addHook('onResponse', async (request, reply) => {
      // The route pattern, not the URL: /sessions/{id} must stay one series.
      const route = request.routeOptions.url ?? 'unmatched';
      metrics.httpRequests.inc({ method: request.method, route, status: String(reply.statusCode) });
      metrics.httpSeconds.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    });
  }

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  for (const route of routes) await app.register(route);
  return app;
}
