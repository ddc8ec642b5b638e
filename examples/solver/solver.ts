// An example solver: a small DEX bot with its own funded wallet. It answers `quote` requests at a
// fixed rate, and for a `swap` checks the user's signed swap:atomic leg against the quote it gave,
// signs its own opposite leg and submits both with `submit_batch`. The gateway then runs one
// session per party; the solver's wallet (the reference wallet) verifies its challenge and signs,
// the user's wallet does the same, and the batch settles all-or-nothing in one Ark transaction.
import { randomUUID } from 'node:crypto';
import type { Event as NostrEvent } from 'nostr-tools';
import { ServiceError, toHexPubkey, type ArkRelayWallet } from '../../src/wallet/index.ts';
import { describeRate, quoteAmount, type FixedRate } from './pricing.ts';
import {
  SOLVER_KIND,
  SolverError,
  opened,
  sealed,
  type Quote,
  type QuoteParams,
  type SolverAnswer,
  type SolverRequest,
  type SwapParams,
  type SwapResult,
} from './protocol.ts';

export interface SolverOptions {
  readonly wallet: ArkRelayWallet;
  readonly rate: FixedRate;
  /** How long a quote holds, seconds (default 60). */
  readonly quoteTtlS?: number;
  /** The flat fee each leg pays (the gateway's `info().fees.intent`; default 10 gBTC). */
  readonly fee?: { asset_id: string; amount: bigint };
  readonly log?: (line: string) => void;
}

interface IssuedQuote {
  readonly quote: Quote;
  readonly user: string;
}

const now = () => Math.floor(Date.now() / 1000);

export class Solver {
  readonly #options: SolverOptions;
  readonly #quotes = new Map<string, IssuedQuote>();
  /** Swaps run one at a time: each spends the solver's own VTXOs. */
  #queue: Promise<unknown> = Promise.resolve();
  #stop: (() => void) | undefined;

  constructor(options: SolverOptions) {
    this.#options = options;
  }

  get pubkey(): string {
    return this.#options.wallet.pubkey;
  }

  #log(line: string): void {
    this.#options.log?.(`solver: ${line}`);
  }

  /** Listens for requests on the wallet's relays (only new ones: quotes are live). */
  start(): void {
    const { wallet } = this.#options;
    this.#stop = wallet.pool.subscribe(
      [{ kinds: [SOLVER_KIND.REQUEST], '#p': [wallet.pubkey], since: now() - 5 }],
      (event) => void this.#onRequest(event),
    );
    this.#log(`quoting ${describeRate(this.#options.rate)} as ${wallet.npub}`);
  }

  stop(): void {
    this.#stop?.();
    this.#stop = undefined;
  }

  async #onRequest(event: NostrEvent): Promise<void> {
    const { wallet } = this.#options;
    const request = opened<SolverRequest>(wallet.key, event);
    if (!request || typeof request.id !== 'string') return;
    let answer: SolverAnswer;
    try {
      const result =
        request.method === 'quote'
          ? this.quote(event.pubkey, request.params)
          : request.method === 'swap'
            ? await this.#serial(() => this.swap(event.pubkey, request.params))
            : (() => {
                throw new SolverError(`unknown method ${String((request as { method?: unknown }).method)}`);
              })();
      answer = { id: request.id, status: 'ok', result };
    } catch (error) {
      const code = error instanceof ServiceError || error instanceof SolverError ? error.code : undefined;
      answer = {
        id: request.id,
        status: 'error',
        error: { message: (error as Error).message, ...(code !== undefined ? { code } : {}) },
      };
      this.#log(`${request.method} from ${event.pubkey.slice(0, 8)} refused: ${(error as Error).message}`);
    }
    await wallet.pool
      .publish(sealed(wallet.key, SOLVER_KIND.ANSWER, event.pubkey, answer, [['e', event.id]]))
      .catch((error: Error) => this.#log(`could not answer: ${error.message}`));
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work, work);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** A fixed-rate quote for this user, held for quoteTtlS. */
  quote(user: string, params: QuoteParams): Quote {
    const amount = wholeAmount(params?.give?.amount);
    const giveAsset = String(params?.give?.asset_id);
    const receiveAsset = String(params?.receive_asset);
    const receive = quoteAmount(this.#options.rate, giveAsset, amount, receiveAsset);
    if (receive === undefined) throw new SolverError(`no market for ${giveAsset} → ${receiveAsset}`);
    if (receive <= 0n) throw new SolverError('amount too small for this rate');
    const quote: Quote = {
      quote_id: randomUUID(),
      give: { asset_id: giveAsset, amount: amount.toString() },
      receive: { asset_id: receiveAsset, amount: receive.toString() },
      counterparty: this.pubkey,
      gateway: this.#options.wallet.gatewayPubkey,
      expires_at: now() + (this.#options.quoteTtlS ?? 60),
      rate: describeRate(this.#options.rate),
    };
    this.#quotes.set(quote.quote_id, { quote, user });
    this.#log(`quote ${quote.quote_id.slice(0, 8)}: ${amount} ${giveAsset} → ${receive} ${receiveAsset}`);
    return quote;
  }

  /** Checks the user's leg against the quote, adds the solver's leg and submits the batch. */
  async swap(user: string, params: SwapParams): Promise<SwapResult> {
    const issued = this.#quotes.get(String(params?.quote_id));
    if (!issued || issued.user !== user) throw new SolverError('unknown quote');
    const { quote } = issued;
    if (quote.expires_at < now()) throw new SolverError('the quote expired; ask again');
    checkLeg(params.leg, user, quote);
    this.#quotes.delete(quote.quote_id); // one swap per quote
    const { wallet } = this.#options;
    await wallet.syncState(); // the VTXOs the solver's wallet will sign for
    const own = wallet.legIntent({
      give: [{ asset_id: quote.receive.asset_id, amount: BigInt(quote.receive.amount) }],
      receive: [{ asset_id: quote.give.asset_id, amount: BigInt(quote.give.amount) }],
      counterparty: user,
      ...(this.#options.fee ? { fee: this.#options.fee } : {}),
    });
    const batchId = `swap-${quote.quote_id}`;
    const result = (await wallet.submitBatch(batchId, [params.leg, own])) as SwapResult;
    this.#log(`batch ${batchId.slice(0, 13)} submitted: ${result.sessions.length} sessions`);
    void wallet.outcome(own.content.action_id, 120_000).then(
      (outcome) =>
        this.#log(
          `batch ${batchId.slice(0, 13)} ${outcome.status === 'settled' ? `settled in Ark tx ${outcome.confirmation.ark_txid.slice(0, 12)}` : `failed: ${outcome.code} ${outcome.message}`}`,
        ),
      (error: Error) => this.#log(`batch ${batchId.slice(0, 13)}: ${error.message}`),
    );
    return { batch_id: batchId, sessions: result.sessions };
  }
}

function wholeAmount(value: unknown): bigint {
  if (typeof value === 'string' && /^[1-9]\d{0,29}$/.test(value)) return BigInt(value);
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return BigInt(value);
  throw new SolverError('amount must be a positive whole number');
}

interface LegContent {
  type?: unknown;
  params?: { give?: unknown; receive?: unknown; counterparty?: unknown };
  expires_at?: unknown;
}

/** The leg must be the user's own swap:atomic intent to this gateway, exactly as quoted. */
function checkLeg(leg: NostrEvent, user: string, quote: Quote): void {
  if (leg?.kind !== 31510 || leg.pubkey !== user)
    throw new SolverError('the leg must be your own 31510 intent');
  if (!leg.tags.some((t) => t[0] === 'p' && t[1] === quote.gateway)) {
    throw new SolverError('the leg is not addressed to the quoted gateway');
  }
  let content: LegContent;
  try {
    content = JSON.parse(leg.content) as LegContent;
  } catch {
    throw new SolverError('the leg content is not JSON');
  }
  const same = (list: unknown, want: { asset_id: string; amount: string }) =>
    Array.isArray(list) &&
    list.length === 1 &&
    list[0]?.asset_id === want.asset_id &&
    String(list[0]?.amount) === want.amount;
  if (content.type !== 'swap:atomic') throw new SolverError('the leg must be a swap:atomic intent');
  if (!same(content.params?.give, quote.give) || !same(content.params?.receive, quote.receive)) {
    throw new SolverError('the leg does not match the quote');
  }
  const counterparty = (() => {
    try {
      return toHexPubkey(String(content.params?.counterparty));
    } catch {
      return undefined;
    }
  })();
  if (counterparty !== quote.counterparty)
    throw new SolverError('the leg must name the solver as counterparty');
}
