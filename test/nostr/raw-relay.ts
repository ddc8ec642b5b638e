// A misbehaving relay for tests: it forwards every EVENT to every subscription without any
// check (wrong ids, wrong signatures, expired, oversized), so the gateway's own checks are the
// only line of defence.
import { WebSocketServer, type WebSocket } from 'ws';

export class RawRelay {
  readonly #server: WebSocketServer;
  readonly #subs = new Map<WebSocket, Set<string>>();

  private constructor(server: WebSocketServer) {
    this.#server = server;
    server.on('connection', (socket) => {
      this.#subs.set(socket, new Set());
      socket.on('message', (data) => {
        let message: unknown[];
        try {
          message = JSON.parse(data.toString()) as unknown[];
        } catch {
          return;
        }
        if (message[0] === 'REQ') {
          this.#subs.get(socket)?.add(String(message[1]));
          socket.send(JSON.stringify(['EOSE', message[1]]));
        } else if (message[0] === 'CLOSE') {
          this.#subs.get(socket)?.delete(String(message[1]));
        } else if (message[0] === 'EVENT') {
          const event = message[1] as { id?: unknown };
          socket.send(JSON.stringify(['OK', event.id, true, '']));
          this.deliver(event);
        }
      });
      socket.on('close', () => this.#subs.delete(socket));
    });
  }

  static async start(): Promise<RawRelay> {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 8 * 1024 * 1024 });
    await new Promise((resolve) => server.once('listening', resolve));
    return new RawRelay(server);
  }

  get url(): string {
    const address = this.#server.address();
    return `ws://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }

  get subscribers(): number {
    return [...this.#subs.values()].filter((s) => s.size > 0).length;
  }

  /** Sends the object as-is to every subscription. */
  deliver(event: unknown): void {
    for (const [socket, subs] of this.#subs) {
      for (const sub of subs) socket.send(JSON.stringify(['EVENT', sub, event]));
    }
  }

  async stop(): Promise<void> {
    for (const client of this.#server.clients) client.terminate();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}
