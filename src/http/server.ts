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
import { HTTP_ERROR, HttpError, type ErrorBody, type HttpErrorCode } from './errors.ts';

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

export interface HttpServerOptions {
  /** Request counts and durations per route go here when given. */
  readonly metrics?: Metrics;
}

export async function createHttpServer(
  logger: Logger,
  routes: readonly RoutePlugin[],
  options: HttpServerOptions = {},
): Promise<HttpServer> {
  const app = Fastify({
    loggerInstance: logger.child({ component: 'http' }) as FastifyBaseLogger,
    // Probes hit /health and /ready every few seconds: per-request lines would drown the log.
    // Failures are still logged by the error handler below.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

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

  app.setErrorHandler((error: FastifyError, request, reply) => {
    let body: ErrorBody;
    if (error instanceof HttpError) {
      body = { error: { code: error.code, message: error.message } };
    } else if (error.validation) {
      body = { error: { code: 'validation_failed', message: error.message } };
    } else {
      const status = error.statusCode ?? 500;
      const code = codeForStatus(status);
      // Internal details stay in the log; the client gets a stable code and a plain message.
      body = { error: { code, message: status >= 500 ? 'internal error' : error.message } };
    }
    const status = HTTP_ERROR[body.error.code];
    if (status >= 500) request.log.error({ err: error, url: request.url }, 'request failed');
    void reply.status(status).send(body);
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
