// The solver's little protocol, between a user's wallet and the solver, over Nostr: NIP-44
// encrypted request/answer events of two ephemeral kinds (relays forward them, store nothing).
// A request p-tags the solver; its answer p-tags the user and e-tags the request. See README.md.
import { verifyEvent } from 'nostr-tools/pure';
import type { Event as NostrEvent } from 'nostr-tools';
import type { RelayPool, WalletKey } from '../../src/wallet/index.ts';

export const SOLVER_KIND = { REQUEST: 25500, ANSWER: 25501 } as const;

export interface AssetAmount {
  readonly asset_id: string;
  /** Base units, as a decimal string. */
  readonly amount: string;
}

export interface QuoteParams {
  readonly give: AssetAmount;
  readonly receive_asset: string;
}

export interface Quote {
  readonly quote_id: string;
  /** What the user gives and receives (the solver the opposite). */
  readonly give: AssetAmount;
  readonly receive: AssetAmount;
  /** The solver's key: the user's leg names it as counterparty. */
  readonly counterparty: string;
  /** The gateway the legs must be addressed to. */
  readonly gateway: string;
  /** Unix seconds. */
  readonly expires_at: number;
  /** Human text, e.g. "1 gBTC = 0.1 gUSD". */
  readonly rate: string;
}

export interface SwapParams {
  readonly quote_id: string;
  /** The user's signed swap:atomic intent (31510) matching the quote. */
  readonly leg: NostrEvent;
}

export interface SwapResult {
  readonly batch_id: string;
  readonly sessions: readonly { action_id: string; session_id: string; author: string }[];
}

export type SolverRequest =
  | { readonly id: string; readonly method: 'quote'; readonly params: QuoteParams }
  | { readonly id: string; readonly method: 'swap'; readonly params: SwapParams };

export type SolverAnswer =
  | { readonly id: string; readonly status: 'ok'; readonly result: unknown }
  | { readonly id: string; readonly status: 'error'; readonly error: { message: string; code?: number } };

export class SolverError extends Error {
  readonly code: number | undefined;
  constructor(message: string, code?: number) {
    super(message);
    this.name = 'SolverError';
    this.code = code;
  }
}

const now = () => Math.floor(Date.now() / 1000);

/** A signed, encrypted event of `kind` from `key` to `to`. */
export function sealed(
  key: WalletKey,
  kind: number,
  to: string,
  body: unknown,
  tags: string[][] = [],
): NostrEvent {
  return key.signEvent({
    kind,
    created_at: now(),
    tags: [['p', to], ...tags],
    content: key.encrypt(to, JSON.stringify(body)),
  });
}

/** Decrypts an event addressed to `key`; undefined when it is not valid or not readable. */
export function opened<T>(key: WalletKey, event: NostrEvent): T | undefined {
  if (!verifyEvent(event)) return undefined;
  try {
    return JSON.parse(key.decrypt(event.pubkey, event.content)) as T;
  } catch {
    return undefined;
  }
}

/** Sends one request to the solver and waits for its answer (subscribing first). */
export async function callSolver(
  key: WalletKey,
  pool: RelayPool,
  solver: string,
  request: SolverRequest,
  timeoutMs = 30_000,
): Promise<unknown> {
  const event = sealed(key, SOLVER_KIND.REQUEST, solver, request, [['expiration', String(now() + 120)]]);
  let stop: () => void = () => undefined;
  const answer = new Promise<unknown>((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new SolverError(`the solver did not answer ${request.method} within ${timeoutMs} ms`));
    }, timeoutMs);
    stop = pool.subscribe(
      [{ kinds: [SOLVER_KIND.ANSWER], '#p': [key.pubkey], '#e': [event.id] }],
      (reply) => {
        if (reply.pubkey !== solver) return;
        const body = opened<SolverAnswer>(key, reply);
        if (!body || body.id !== request.id) return;
        clearTimeout(timer);
        stop();
        if (body.status === 'ok') resolve(body.result);
        else reject(new SolverError(body.error.message, body.error.code));
      },
    );
  });
  answer.catch(() => undefined);
  await pool.publish(event);
  return answer;
}
