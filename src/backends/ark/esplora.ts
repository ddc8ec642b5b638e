// The Bitcoin chain under arkd, read from an Esplora REST API (ARKD_ESPLORA_URL): arkd publishes
// neither its chain tip nor when its commitment txs confirmed. Plain fetch with the guard's
// abort signal, behind a guard of its own, so an explorer outage never opens arkd's breaker.
import type { Classified } from '../resilience/errors.ts';
import { classifyTransportError } from '../resilience/errors.ts';
import type { DaemonGuard } from '../resilience/guard.ts';
import type { ChainTip } from './ark-backend.ts';

export type TxConfirmation =
  | { readonly confirmed: false }
  | {
      readonly confirmed: true;
      readonly blockHeight: number;
      readonly blockHash: string;
      readonly blockTime: number;
    };

/** A non-2xx answer of the explorer. */
export class EsploraHttpError extends Error {
  readonly status: number;
  constructor(status: number, path: string, body: string) {
    super(`esplora ${path}: HTTP ${status}${body ? ` ${body.slice(0, 200)}` : ''}`);
    this.name = 'EsploraHttpError';
    this.status = status;
  }
}

export function classifyEsplora(error: unknown): Classified {
  if (error instanceof EsploraHttpError) {
    const daemonCode = `HTTP ${error.status}`;
    if ([429, 502, 503, 504].includes(error.status))
      return { kind: 'unavailable', message: error.message, daemonCode };
    if (error.status === 404) return { kind: 'not_found', message: error.message, daemonCode };
    if (error.status >= 500) return { kind: 'internal', message: error.message, daemonCode };
    return { kind: 'rejected', message: error.message, daemonCode };
  }
  const transport = classifyTransportError(error);
  if (transport) return { ...transport, message: `esplora: ${transport.message}` };
  return { kind: 'internal', message: `esplora: ${error instanceof Error ? error.message : String(error)}` };
}

const HASH = /^[0-9a-f]{64}$/;

export class EsploraClient {
  readonly url: string;
  readonly #guard: DaemonGuard;

  constructor(url: string, guard: DaemonGuard) {
    this.url = url.replace(/\/+$/, '');
    this.#guard = guard;
  }

  async #get(path: string, signal: AbortSignal): Promise<string> {
    const response = await fetch(`${this.url}${path}`, { signal });
    const body = await response.text();
    if (!response.ok) throw new EsploraHttpError(response.status, path, body.trim());
    return body;
  }

  /** The best block: its hash first, then that block's height and time (one consistent block). */
  tip(): Promise<ChainTip> {
    return this.#guard.call('Esplora.tip', async (signal) => {
      const hash = (await this.#get('/blocks/tip/hash', signal)).trim();
      if (!HASH.test(hash)) throw new Error(`/blocks/tip/hash answered "${hash.slice(0, 80)}"`);
      const block = JSON.parse(await this.#get(`/block/${hash}`, signal)) as Record<string, unknown>;
      const { height, timestamp } = block;
      if (!Number.isSafeInteger(height) || !Number.isSafeInteger(timestamp))
        throw new Error(`/block/${hash} has no height or timestamp`);
      return { height: height as number, hash, time: timestamp as number };
    });
  }

  /** Whether a tx is confirmed and in which block; `not_found` when the explorer does not know it. */
  txStatus(txid: string): Promise<TxConfirmation> {
    return this.#guard.call('Esplora.txStatus', async (signal) => {
      if (!HASH.test(txid)) throw new EsploraHttpError(400, '/tx/…/status', 'not a txid');
      const status = JSON.parse(await this.#get(`/tx/${txid}/status`, signal)) as Record<string, unknown>;
      if (status.confirmed !== true) return { confirmed: false };
      const { block_height: height, block_hash: hash, block_time: time } = status;
      if (!Number.isSafeInteger(height) || typeof hash !== 'string' || !Number.isSafeInteger(time))
        throw new Error(`/tx/${txid}/status is confirmed without its block`);
      return { confirmed: true, blockHeight: height as number, blockHash: hash, blockTime: time as number };
    });
  }
}
