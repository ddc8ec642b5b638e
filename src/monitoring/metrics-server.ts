// The Prometheus exporter: its own small HTTP server on METRICS_PORT, so scrapes never queue
// behind API traffic and the API port never exposes internals.
import { createServer, type Server } from 'node:http';
import type { Logger } from '../logging.ts';
import type { Metrics } from './metrics.ts';

export interface MetricsServer {
  readonly url: string;
  close(): Promise<void>;
}

export async function startMetricsServer(
  metrics: Metrics,
  host: string,
  port: number,
  logger: Logger,
): Promise<MetricsServer> {
  const server: Server = createServer((request, response) => {
    if (request.method !== 'GET' || (request.url ?? '').split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics\n');
      return;
    }
    metrics
      .exposition()
      .then(({ contentType, body }) => response.writeHead(200, { 'content-type': contentType }).end(body))
      .catch((error: unknown) => {
        logger.error({ err: error }, 'metrics exposition failed');
        response.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable\n');
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${bound}/metrics`;
  logger.info({ url }, 'metrics exporter listening');
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
