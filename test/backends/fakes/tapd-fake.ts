// A loopback tapd REST gateway: HTTPS with a test certificate, the macaroon header checked on
// every request, grpc-gateway JSON (proto names, uint64 as strings, bytes as base64, enums by
// name) for the routes the real client calls. State is in memory.
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Faults } from './faults.ts';

interface FakeAsset {
  id: Buffer;
  name: string;
  amount: bigint;
  genesisPoint: string;
  groupKey?: Buffer;
  decimalDisplay: number;
}

const b64 = (b: Buffer) => b.toString('base64');

export class TapdFake {
  readonly faults = new Faults();
  readonly macaroonHex: string;
  readonly assets: FakeAsset[] = [];
  readonly transfers: Record<string, unknown>[] = [];
  readonly #pending: { name: string; amount: bigint; grouped: boolean; decimalDisplay: number }[] = [];
  #server: Server | undefined;
  #height = 100;
  /** What `channels/send-payment` answers: the final payment status. */
  paymentOutcome: 'SUCCEEDED' | 'FAILED' = 'SUCCEEDED';

  constructor(macaroonHex = randomBytes(32).toString('hex')) {
    this.macaroonHex = macaroonHex;
  }

  get address(): string {
    return `127.0.0.1:${(this.#server?.address() as AddressInfo).port}`;
  }

  async start(cert: { certPem: string; keyPem: string }, port = 0): Promise<void> {
    this.#server = createServer(
      { cert: cert.certPem, key: cert.keyPem },
      (req, res) => void this.#handle(req, res),
    );
    await new Promise<void>((resolve) => this.#server!.listen(port, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://fake');
    const route = `${req.method} ${url.pathname}`;
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    const failure = await this.faults.enter(route);
    if (this.faults.hangUp) return void req.socket.destroy();
    if (failure)
      return send(failure.status, { code: failure.grpcCode ?? 2, message: failure.message, details: [] });
    if (req.headers['grpc-metadata-macaroon'] !== this.macaroonHex) {
      return send(500, {
        code: 2,
        message: 'verification failed: signature mismatch after caveat verification',
        details: [],
      });
    }
    let body: Record<string, unknown>;
    try {
      body = chunks.length
        ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>)
        : {};
    } catch {
      return send(400, { code: 3, message: 'invalid JSON', details: [] });
    }
    try {
      const reply = this.#route(route, url, body);
      if (reply === undefined) return send(404, { code: 5, message: 'Not Found', details: [] });
      if (Array.isArray(reply)) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(reply.map((r) => JSON.stringify({ result: r })).join('\n') + '\n');
        return;
      }
      send(200, reply);
    } catch (error) {
      send(500, { code: 2, message: (error as Error).message, details: [] });
    }
  }

  #assetJson(a: FakeAsset) {
    return {
      version: 'ASSET_VERSION_V0',
      asset_genesis: {
        genesis_point: a.genesisPoint,
        name: a.name,
        meta_hash: '',
        asset_id: b64(a.id),
        asset_type: 'NORMAL',
        output_index: 0,
      },
      amount: a.amount.toString(),
      asset_group: a.groupKey ? { raw_group_key: b64(a.groupKey), tweaked_group_key: b64(a.groupKey) } : null,
      is_spent: false,
      decimal_display: { decimal_display: a.decimalDisplay },
    };
  }

  #route(route: string, url: URL, body: Record<string, unknown>): unknown {
    if (route === 'GET /v1/taproot-assets/getinfo') {
      return {
        version: '0.7.0-fake',
        lnd_version: '0.19.0-fake',
        network: 'regtest',
        lnd_identity_pubkey: '02' + '11'.repeat(32),
        node_alias: 'fake',
        block_height: this.#height,
        block_hash: '00'.repeat(32),
        sync_to_chain: true,
      };
    }
    if (route === 'GET /v1/taproot-assets/assets') {
      return {
        assets: this.assets.map((a) => this.#assetJson(a)),
        unconfirmed_transfers: '0',
        unconfirmed_mints: '0',
      };
    }
    if (route.startsWith('GET /v1/taproot-assets/universe/leaves/asset-id/')) {
      const id = url.pathname.split('/').at(-1);
      if (url.searchParams.get('id.proof_type') !== 'PROOF_TYPE_ISSUANCE')
        throw new Error('proof type required');
      const asset = this.assets.find((a) => a.id.toString('hex') === id);
      if (!asset) return { leaves: [] };
      return { leaves: [{ asset: this.#assetJson(asset), proof: '' }] };
    }
    if (route === 'GET /v1/taproot-assets/assets/balance') {
      if (url.searchParams.get('asset_id') !== 'true') throw new Error('group_by required');
      const balances: Record<string, unknown> = {};
      for (const a of this.assets) {
        balances[a.id.toString('hex')] = {
          asset_genesis: this.#assetJson(a).asset_genesis,
          balance: a.amount.toString(),
          group_key: '',
        };
      }
      return { asset_balances: balances, asset_group_balances: {}, unconfirmed_transfers: '0' };
    }
    if (route === 'POST /v1/taproot-assets/assets') {
      const asset = body.asset as Record<string, unknown>;
      if (!asset?.name || !/^\d+$/.test(String(asset.amount)) || BigInt(String(asset.amount)) <= 0n) {
        throw new Error('asset amount must be positive');
      }
      this.#pending.push({
        name: String(asset.name),
        amount: BigInt(String(asset.amount)),
        grouped: Boolean(asset.new_grouped_asset),
        decimalDisplay: Number(asset.decimal_display ?? 0),
      });
      return {
        pending_batch: {
          batch_key: b64(randomBytes(33)),
          batch_txid: '',
          state: 'BATCH_STATE_PENDING',
          assets: [],
        },
      };
    }
    if (route === 'POST /v1/taproot-assets/assets/mint/finalize') {
      if (this.#pending.length === 0) throw new Error('no pending batch');
      const txid = randomBytes(32).toString('hex');
      this.#pending.splice(0).forEach((p, i) =>
        this.assets.push({
          id: createHash('sha256').update(`${txid}:${i}:${p.name}`).digest(),
          name: p.name,
          amount: p.amount,
          genesisPoint: `${txid}:${i}`,
          decimalDisplay: p.decimalDisplay,
          ...(p.grouped ? { groupKey: Buffer.concat([Buffer.from([2]), randomBytes(32)]) } : {}),
        }),
      );
      this.#height++;
      return {
        batch: {
          batch_key: b64(randomBytes(33)),
          batch_txid: txid,
          state: 'BATCH_STATE_BROADCAST',
          assets: [],
        },
      };
    }
    if (route === 'POST /v1/taproot-assets/addrs') {
      const id = Buffer.from(String(body.asset_id), 'base64');
      if (!this.assets.some((a) => a.id.equals(id))) throw new Error('asset not found');
      return {
        encoded: 'taprt1' + randomBytes(20).toString('hex'),
        asset_id: b64(id),
        asset_type: 'NORMAL',
        amount: String(body.amt),
        script_key: b64(randomBytes(33)),
      };
    }
    if (route === 'POST /v1/taproot-assets/send') {
      const addrs = body.tap_addrs as string[];
      if (!Array.isArray(addrs) || addrs.length === 0) throw new Error('at least one address required');
      const asset = this.assets[0];
      if (!asset) throw new Error('insufficient asset balance');
      const transfer = {
        transfer_timestamp: String(Math.floor(Date.now() / 1000)),
        anchor_tx_hash: b64(randomBytes(32)),
        outputs: addrs.map(() => ({
          script_key: b64(randomBytes(33)),
          amount: '1',
          asset_id: b64(asset.id),
          proof_delivery_status: 'PROOF_DELIVERY_STATUS_PENDING',
        })),
      };
      this.transfers.push(transfer);
      return { transfer };
    }
    if (route === 'GET /v1/taproot-assets/assets/transfers') return { transfers: this.transfers };
    if (route === 'POST /v1/taproot-assets/channels/invoice') {
      const preimage = randomBytes(32);
      return {
        accepted_buy_quote: { peer: '02' + '22'.repeat(32) },
        invoice_result: {
          r_hash: b64(createHash('sha256').update(preimage).digest()),
          payment_request: 'lnbcrt1fake' + randomBytes(8).toString('hex'),
          add_index: '7',
          payment_addr: b64(randomBytes(32)),
        },
      };
    }
    if (route === 'POST /v1/taproot-assets/channels/send-payment') {
      const preimage = randomBytes(32);
      const hash = createHash('sha256').update(preimage).digest('hex');
      const base = {
        payment_hash: hash,
        value_msat: '1000000',
        fee_msat: '1000',
        creation_time_ns: '1700000000000000000',
      };
      const final =
        this.paymentOutcome === 'SUCCEEDED'
          ? {
              ...base,
              status: 'SUCCEEDED',
              payment_preimage: preimage.toString('hex'),
              failure_reason: 'FAILURE_REASON_NONE',
            }
          : { ...base, status: 'FAILED', payment_preimage: '', failure_reason: 'FAILURE_REASON_NO_ROUTE' };
      return [
        { accepted_sell_order: { peer: '02' + '22'.repeat(32) } },
        { payment_result: { ...base, status: 'IN_FLIGHT' } },
        { payment_result: final },
      ];
    }
    return undefined;
  }
}
