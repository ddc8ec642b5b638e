// A loopback Esplora REST API (node:http) over the simulated world's chain: the blocks and the
// txs mined into it (commitments, anchors), plus UTXOs a test places at an address (boarding
// funds). Only the endpoints the arkd client and the SDK's EsploraProvider call.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SimWorld } from '../../../src/backends/sim/world.ts';
import { Faults } from './faults.ts';

export interface FakeUtxo {
  readonly txid: string;
  readonly vout: number;
  readonly value: number;
  /** Mined at this height of the world's chain; undefined: in the mempool. */
  readonly height?: number;
}

export class EsploraFake {
  readonly faults = new Faults();
  /** UTXOs by address, as a test funds them. */
  readonly utxos = new Map<string, FakeUtxo[]>();
  readonly #world: SimWorld;
  #server: Server | undefined;

  constructor(world: SimWorld) {
    this.#world = world;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server?.address() as AddressInfo).port}`;
  }

  async start(): Promise<void> {
    this.#server = createServer((req, res) => void this.#handle(req, res));
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #block(height: number) {
    const row = this.#world.get('SELECT height, hash, time FROM blocks WHERE height = ?', height);
    return row ? { height: Number(row.height), hash: String(row.hash), time: Number(row.time) } : undefined;
  }

  #status(height: number | undefined) {
    const block = height === undefined ? undefined : this.#block(height);
    return block
      ? { confirmed: true, block_height: block.height, block_hash: block.hash, block_time: block.time }
      : { confirmed: false };
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    const route = path.replace(/\/[0-9a-f]{64}/g, '/{id}').replace(/^\/address\/[^/]+/, '/address/{address}');
    const failure = await this.faults.enter(`${req.method} ${route}`);
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json' });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    if (failure) return send(failure.status, failure.message);
    const tip = this.#world.tip()!;
    let m: RegExpExecArray | null;
    if (path === '/blocks/tip/hash') return send(200, tip.hash);
    if (path === '/blocks/tip/height') return send(200, String(tip.height));
    if ((m = /^\/block\/([0-9a-f]{64})$/.exec(path))) {
      const row = this.#world.get('SELECT height, hash, time FROM blocks WHERE hash = ?', m[1]!);
      if (!row) return send(404, 'Block not found');
      return send(200, { id: row.hash, height: Number(row.height), timestamp: Number(row.time) });
    }
    if ((m = /^\/tx\/([0-9a-f]{64})\/status$/.exec(path))) {
      const row = this.#world.get('SELECT height FROM chain_txs WHERE txid = ?', m[1]!);
      if (!row) return send(404, 'Transaction not found');
      return send(200, this.#status(Number(row.height)));
    }
    if ((m = /^\/address\/([^/]+)\/utxo$/.exec(path))) {
      const list = this.utxos.get(decodeURIComponent(m[1]!)) ?? [];
      return send(
        200,
        list.map((u) => ({ txid: u.txid, vout: u.vout, value: u.value, status: this.#status(u.height) })),
      );
    }
    if (/^\/address\/[^/]+\/txs$/.test(path)) return send(200, []);
    send(404, 'Not found');
  }
}
