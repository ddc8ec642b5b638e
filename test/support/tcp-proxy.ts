// A TCP proxy on a free loopback port in front of a shared server (MariaDB), so a test can cut
// its own processes off that server — every open connection reset, new ones refused — and let
// them back, without touching the server other suites use.
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export class TcpProxy {
  readonly #upstream: { host: string; port: number };
  readonly #server: Server;
  readonly #open = new Set<Socket>();
  #cut = false;
  /** Connections reset or refused by cut(); a test checks the cut reached someone. */
  severed = 0;

  constructor(upstreamHost: string, upstreamPort: number) {
    this.#upstream = { host: upstreamHost, port: upstreamPort };
    this.#server = createServer((client) => this.#accept(client));
  }

  get port(): number {
    const address = this.#server.address();
    return typeof address === 'object' && address ? address.port : 0;
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(0, '127.0.0.1', () => resolve());
    });
  }

  #accept(client: Socket): void {
    if (this.#cut) {
      this.severed++;
      client.resetAndDestroy();
      return;
    }
    const upstream = createConnection(this.#upstream);
    for (const [a, b] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      this.#open.add(a);
      a.on('error', () => b.destroy());
      a.on('close', () => {
        this.#open.delete(a);
        b.destroy();
      });
      a.pipe(b);
    }
  }

  /** Resets every open connection and refuses new ones until restore(). */
  cut(): void {
    this.#cut = true;
    for (const socket of this.#open) {
      this.severed++;
      socket.resetAndDestroy();
    }
  }

  restore(): void {
    this.#cut = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
