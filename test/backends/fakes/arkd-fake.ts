// A loopback arkd REST API (node:http) backed by the in-process Ark simulator: the real client
// talks HTTP + JSON (camelCase, int64 as strings, errors as grpc-gateway bodies carrying
// ark.v1.ErrorDetails) and SSE on /v1/txs, exactly as to arkd, while the simulator builds,
// verifies and co-signs the PSBTs behind it (and judges the outputs by arkd's rules, OP_RETURN
// outputs included). The indexer names on an unspent VTXO the pending tx that holds it.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Transaction, getNetwork } from '@arkade-os/sdk';
import { base64, hex } from '@scure/base';
import { p2tr } from '@scure/btc-signer';
import type { ArkVtxo, ArkTxEvent } from '../../../src/backends/ark/ark-backend.ts';
import { ArkSimulator } from '../../../src/backends/ark/simulator.ts';
import { SimWorld } from '../../../src/backends/sim/world.ts';
import { BackendError } from '../../../src/backends/types.ts';
import { Faults } from './faults.ts';

const ERROR_NAMES: Record<string, [number, string]> = {
  invalid_signature: [3, 'INVALID_SIGNATURE'],
  already_spent: [9, 'VTXO_ALREADY_SPENT'],
  not_found: [5, 'TX_NOT_FOUND'],
  rejected: [3, 'INVALID_PSBT_INPUT'],
};

export class ArkdFake {
  readonly faults = new Faults();
  readonly world = new SimWorld({ dataDir: undefined, seed: 'arkd-fake' });
  readonly sim = new ArkSimulator(this.world);
  #server: Server | undefined;
  readonly #sse = new Set<ServerResponse>();
  /**
   * Intents registered (`RegisterIntent`) and deleted (`DeleteIntent`), as sent. The fake does
   * not run arkd's batch protocol (tree nonces and signatures, forfeits): it records the intent
   * and refuses it with UNIMPLEMENTED, as an arkd without rounds would.
   */
  readonly intents: { proof: string; message: string }[] = [];
  readonly deletedIntents: { proof: string; message: string }[] = [];
  /** False: /v1/info leaves out maxOpReturnOutputs, as an arkd older than OP_RETURN support. */
  reportMaxOpReturnOutputs = true;

  get url(): string {
    return `http://127.0.0.1:${(this.#server?.address() as AddressInfo).port}`;
  }

  async start(): Promise<void> {
    this.#server = createServer((req, res) => void this.#handle(req, res));
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    for (const s of this.#sse) s.destroy();
    const server = this.#server;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    this.world.close();
  }

  /** Ends every open transaction stream, as an arkd restart would. */
  dropStreams(): void {
    for (const s of this.#sse) s.destroy();
    this.#sse.clear();
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const route = `${req.method} ${url.pathname}`;
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const failure = await this.faults.enter(route.replace(/\/[0-9a-f]{64}(,[0-9a-f]{64})*$/, '/{txids}'));
    if (this.faults.hangUp) return void req.socket.destroy();
    if (failure)
      return send(failure.status, { code: failure.grpcCode ?? 14, message: failure.message, details: [] });
    const body = chunks.length
      ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>)
      : {};
    try {
      if (route === 'GET /v1/txs') return this.#stream(res);
      if (route === 'GET /v1/batch/events') return this.#idleStream(res);
      if (route === 'POST /v1/batch/registerIntent' || route === 'POST /v1/batch/deleteIntent') {
        const intent = body.intent as { proof: string; message: string };
        (route.endsWith('registerIntent') ? this.intents : this.deletedIntents).push(intent);
        if (route.endsWith('deleteIntent')) return send(200, {});
        return send(501, { code: 12, message: 'batches are not implemented by the arkd fake', details: [] });
      }
      const reply = await this.#route(route, url, body);
      if (reply === undefined) return send(404, { code: 5, message: 'Not Found', details: [] });
      send(200, reply);
    } catch (error) {
      if (error instanceof BackendError) {
        const [code, name] = ERROR_NAMES[error.kind] ?? [13, 'INTERNAL_ERROR'];
        return send(code === 13 ? 500 : 400, {
          code,
          message: `${name} (${code}): ${error.message}`,
          details: [
            {
              '@type': 'type.googleapis.com/ark.v1.ErrorDetails',
              code,
              name,
              message: error.message,
              metadata: {},
            },
          ],
        });
      }
      send(500, { code: 2, message: (error as Error).message, details: [] });
    }
  }

  #wireVtxo(v: ArkVtxo) {
    const arkTxid = v.spentBy ?? v.pendingBy ?? '';
    return {
      outpoint: v.outpoint,
      amount: v.amount.toString(),
      script: v.script,
      createdAt: String(v.createdAt),
      expiresAt: String(v.expiresAt),
      commitmentTxids: [v.createdBy],
      isPreconfirmed: v.preconfirmed,
      isSwept: v.swept,
      isUnrolled: false,
      isSpent: v.spent,
      spentBy: v.spent ? arkTxid : '',
      settledBy: '',
      arkTxid,
    };
  }

  async #route(route: string, url: URL, body: Record<string, unknown>): Promise<unknown> {
    if (route === 'GET /v1/info') {
      const info = await this.sim.getInfo();
      return {
        version: info.version,
        signerPubkey: `02${info.signerPubkey}`,
        forfeitPubkey: `02${info.signerPubkey}`,
        forfeitAddress: p2tr(hex.decode(info.signerPubkey), undefined, getNetwork('regtest')).address,
        checkpointTapscript: info.checkpointTapscript,
        network: info.network,
        sessionDuration: '10',
        unilateralExitDelay: info.unilateralExitDelay.value.toString(),
        boardingExitDelay: info.boardingExitDelay.value.toString(),
        utxoMinAmount: '330',
        utxoMaxAmount: '-1',
        vtxoMinAmount: info.vtxoMinAmount.toString(),
        vtxoMaxAmount: info.vtxoMaxAmount.toString(),
        dust: info.dust.toString(),
        fees: {
          intentFee: { offchainInput: '', offchainOutput: '', onchainInput: '', onchainOutput: '' },
          txFeeRate: '',
        },
        deprecatedSigners: [],
        serviceStatus: {},
        digest: 'fake-digest',
        // int64: a string on the wire, as grpc-gateway writes it.
        ...(this.reportMaxOpReturnOutputs ? { maxOpReturnOutputs: String(info.maxOpReturnOutputs) } : {}),
      };
    }
    if (route === 'POST /v1/tx/submit') {
      const r = await this.sim.submitTx(String(body.signedArkTx), body.checkpointTxs as string[]);
      return { arkTxid: r.arkTxid, finalArkTx: r.finalArkPsbt, signedCheckpointTxs: r.signedCheckpointPsbts };
    }
    if (route === 'POST /v1/tx/finalize') {
      await this.sim.finalizeTx(String(body.arkTxid), body.finalCheckpointTxs as string[]);
      return {};
    }
    if (route === 'GET /v1/indexer/vtxos') {
      const outpoints = url.searchParams.getAll('outpoints').map((o) => {
        const [txid, vout] = o.split(':');
        return { txid: txid!, vout: Number(vout) };
      });
      const scripts = url.searchParams.getAll('scripts');
      const vtxos = await this.sim.listVtxos({
        ...(scripts.length ? { scripts } : {}),
        ...(outpoints.length ? { outpoints } : {}),
        spendableOnly: url.searchParams.get('spendableOnly') === 'true',
      });
      return { vtxos: vtxos.map((v) => this.#wireVtxo(v)), page: { current: 0, next: 0, total: 1 } };
    }
    if (route.startsWith('GET /v1/indexer/virtualTx/')) {
      const wanted = url.pathname.split('/').at(-1)!.split(',');
      const txs: string[] = [];
      for (const row of this.world.all('SELECT final_ark_psbt, checkpoints FROM ark_txs')) {
        const psbts = [String(row.final_ark_psbt), ...(JSON.parse(String(row.checkpoints)) as string[])];
        for (const psbt of psbts) {
          const id = Transaction.fromPSBT(base64.decode(psbt), { allowUnknown: true }).id;
          if (wanted.includes(id)) txs.push(psbt);
        }
      }
      return { txs, page: { current: 0, next: 0, total: 1 } };
    }
    return undefined;
  }

  /** The batch event stream: open, with nothing to say (no rounds run here). */
  #idleStream(res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write(': connected\n\n');
    this.#sse.add(res);
    res.on('close', () => this.#sse.delete(res));
  }

  #stream(res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    res.write(': connected\n\n');
    this.#sse.add(res);
    const toWire = (e: ArkTxEvent) => ({
      txid: e.txid,
      tx: '',
      spentVtxos: e.spent.map((o) => ({
        outpoint: o,
        amount: '0',
        script: '',
        createdAt: '0',
        expiresAt: null,
        commitmentTxids: [],
        isPreconfirmed: false,
        isSwept: false,
        isUnrolled: false,
        isSpent: true,
        spentBy: '',
      })),
      spendableVtxos: e.created.map((v) => this.#wireVtxo(v)),
      checkpointTxs: {},
    });
    const stop = this.sim.subscribeTransactions((event) => {
      const key = event.type === 'ark_tx' ? 'arkTx' : 'commitmentTx';
      res.write(`data: ${JSON.stringify({ [key]: toWire(event) })}\n\n`);
    });
    res.on('close', () => {
      stop();
      this.#sse.delete(res);
    });
  }
}
