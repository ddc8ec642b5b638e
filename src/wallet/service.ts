// 31500 service requests and their 31501 responses: the request is NIP-44 to the gateway with a
// fresh request_id; the wallet subscribes to `{kinds:[31501], #e:[request id], #p:[own key]}`
// before publishing, so the answer cannot slip past, and accepts it only from a gateway key.
import { KIND, type NostrEvent } from '../domain/nostr-protocol.ts';
import type { WalletKey } from './keys.ts';
import type { RelayPool } from './relays.ts';

export class ServiceError extends Error {
  readonly code: number;
  readonly action: string;
  constructor(action: string, code: number, message: string) {
    super(`${action}: ${code} ${message}`);
    this.name = 'ServiceError';
    this.code = code;
    this.action = action;
  }
}

export class ServiceTimeoutError extends Error {
  constructor(action: string, timeoutMs: number) {
    super(`${action}: no response within ${timeoutMs} ms`);
    this.name = 'ServiceTimeoutError';
  }
}

export interface ServiceDeps {
  readonly key: WalletKey;
  readonly pool: RelayPool;
  /** Gateway keys whose answers count (the active one first). */
  readonly gateways: () => readonly string[];
}

export interface RequestOptions {
  readonly timeoutMs?: number;
  readonly requestId?: string;
}

export interface SentRequest {
  readonly event: NostrEvent;
  readonly requestId: string;
  readonly result: Promise<unknown>;
}

/** Publishes one request; `result` resolves with the `result` of an ok answer, rejects on error. */
export async function sendRequest(
  deps: ServiceDeps,
  action: string,
  params: Record<string, unknown>,
  options: RequestOptions = {},
): Promise<SentRequest> {
  const gateway = deps.gateways()[0]!;
  const requestId = options.requestId ?? `req-${globalThis.crypto.randomUUID()}`;
  const timeoutMs = options.timeoutMs ?? 15_000;
  const event = deps.key.signEvent({
    kind: KIND.SERVICE_REQUEST,
    created_at: Math.floor(Date.now() / 1000),
    tags: [
      ['p', gateway],
      ['d', requestId],
    ],
    content: deps.key.encrypt(gateway, JSON.stringify({ request_id: requestId, action, params })),
  });
  let stop: () => void = () => undefined;
  const result = new Promise<unknown>((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new ServiceTimeoutError(action, timeoutMs));
    }, timeoutMs);
    stop = deps.pool.subscribe(
      [{ kinds: [KIND.SERVICE_RESPONSE], '#e': [event.id], '#p': [deps.key.pubkey] }],
      (reply) => {
        if (!deps.gateways().includes(reply.pubkey)) return;
        let body: {
          request_id?: unknown;
          status?: unknown;
          result?: unknown;
          error?: { code?: unknown; message?: unknown };
        };
        try {
          body = JSON.parse(deps.key.decrypt(reply.pubkey, reply.content)) as typeof body;
        } catch {
          return; // not for us or not readable: keep waiting for a real answer
        }
        if (body.request_id !== requestId) return;
        clearTimeout(timer);
        stop();
        if (body.status === 'ok') resolve(body.result);
        else
          reject(
            new ServiceError(action, Number(body.error?.code ?? 0), String(body.error?.message ?? 'error')),
          );
      },
    );
  });
  result.catch(() => undefined); // the caller awaits it; never an unhandled rejection here
  try {
    await deps.pool.publish(event);
  } catch (error) {
    stop();
    throw error;
  }
  return { event, requestId, result };
}

export async function request(
  deps: ServiceDeps,
  action: string,
  params: Record<string, unknown> = {},
  options: RequestOptions = {},
): Promise<unknown> {
  const sent = await sendRequest(deps, action, params, options);
  return sent.result;
}
