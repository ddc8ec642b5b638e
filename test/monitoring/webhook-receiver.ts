// A stand-in for Alertmanager's POST /api/v2/alerts: a loopback HTTP server that keeps every
// alert it receives, with when it arrived, and can be told to refuse (answer 503).
import { createServer, type Server } from 'node:http';

export interface ReceivedAlert {
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly startsAt: string;
  readonly endsAt?: string;
  /** Unix ms the POST arrived. */
  readonly receivedAt: number;
}

export class WebhookReceiver {
  readonly alerts: ReceivedAlert[] = [];
  posts = 0;
  refusing = false;
  readonly #server: Server;

  constructor() {
    this.#server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        this.posts++;
        if (this.refusing) {
          response.writeHead(503).end();
          return;
        }
        const receivedAt = Date.now();
        for (const alert of JSON.parse(body) as Omit<ReceivedAlert, 'receivedAt'>[])
          this.alerts.push({ ...alert, receivedAt });
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    const { port } = this.#server.address() as { port: number };
    return `http://127.0.0.1:${port}/api/v2/alerts`;
  }

  /** The alerts received with this alertname (and labels), oldest first. */
  of(alertname: string, labels: Record<string, string> = {}): ReceivedAlert[] {
    return this.alerts.filter(
      (a) => a.labels.alertname === alertname && Object.entries(labels).every(([k, v]) => a.labels[k] === v),
    );
  }

  /** Whether an alert says it has ended (endsAt not in the future of when it was sent). */
  static resolved(alert: ReceivedAlert): boolean {
    return alert.endsAt !== undefined && Date.parse(alert.endsAt) <= alert.receivedAt;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
