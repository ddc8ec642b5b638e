// The process's own small HTTP server on METRICS_PORT: the Prometheus exporter (GET /metrics),
// and the probes GET /health and GET /ready, answered as on the API port. Scrapes and probes
// never queue behind API traffic, the API port never exposes internals, and a worker or a
// scheduler, which has no API port, can still be probed by an orchestrator.
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '../logging.ts';
import type { Metrics } from './metrics.ts';
import { answerHealth, answerReady, type ProbeAnswer, type ProbeDeps } from './probes.ts';

export interface MetricsServer {
  /** Where it listens, e.g. http://127.0.0.1:8080 (/metrics, /health, /ready below it). */
  readonly base: string;
  /** The exporter's address, e.g. http://127.0.0.1:8080/metrics. */
  readonly url: string;
  close(): Promise<void>;
}

export interface MetricsServerOptions {
  /** Unset: ENABLE_METRICS=false, the server only answers the probes. */
  readonly metrics: Metrics | undefined;
  readonly probes: ProbeDeps;
  readonly host: string;
  readonly port: number;
  readonly logger: Logger;
}

function sendJson(response: ServerResponse, answer: ProbeAnswer<unknown>): void {
  response.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
}

export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const { metrics, probes, logger } = options;
  const routes: Record<string, (response: ServerResponse) => Promise<void>> = {
    '/health': async (response) => sendJson(response, await answerHealth(probes)),
    '/ready': async (response) => sendJson(response, await answerReady(probes)),
    '/metrics': async (response) => {
      if (!metrics) {
        response
          .writeHead(404, { 'content-type': 'text/plain' })
          .end('metrics are off (ENABLE_METRICS=false)\n');
        return;
      }
      const { contentType, body } = await metrics.exposition();
      response.writeHead(200, { 'content-type': contentType }).end(body);
    },
  };
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0] ?? '';
    const route = Object.hasOwn(routes, path) ? routes[path] : undefined;
    if (request.method !== 'GET' || !route) {
      response
        .writeHead(404, { 'content-type': 'text/plain' })
        .end('not found: GET /metrics, /health or /ready\n');
      return;
    }
    route(response).catch((error: unknown) => {
      logger.error({ err: error, path }, 'metrics server request failed');
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain' });
      response.end('unavailable\n');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : options.port;
  const base = `http://${options.host === '0.0.0.0' ? '127.0.0.1' : options.host}:${bound}`;
  logger.info({ url: base, metrics: Boolean(metrics) }, 'metrics and probe server listening');
  return {
    base,
    url: `${base}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
