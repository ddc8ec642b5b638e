// The user's side of a swap with the solver, on the reference wallet: ask for a quote, sign a
// swap:atomic leg that matches it exactly, hand the leg to the solver, and wait for the gateway's
// outcome. The user's wallet verifies its own challenge before it signs: the leg it approved is
// the one the challenge must carry out.
import type { ArkRelayWallet, Fee, Outcome } from '../../src/wallet/index.ts';
import { callSolver, type Quote, type SwapResult } from './protocol.ts';

export interface SwapDone {
  readonly quote: Quote;
  readonly batch: SwapResult;
  readonly actionId: string;
  readonly outcome: Outcome;
}

export function requestQuote(
  wallet: ArkRelayWallet,
  solver: string,
  give: { asset_id: string; amount: bigint },
  receiveAsset: string,
): Promise<Quote> {
  return callSolver(wallet.key, wallet.pool, solver, {
    id: globalThis.crypto.randomUUID(),
    method: 'quote',
    params: {
      give: { asset_id: give.asset_id, amount: give.amount.toString() },
      receive_asset: receiveAsset,
    },
  }) as Promise<Quote>;
}

/** Signs the leg for `quote`, sends it to the solver, waits until the batch settles or fails. */
export async function swapWith(
  wallet: ArkRelayWallet,
  quote: Quote,
  options: { fee?: Fee; timeoutMs?: number } = {},
): Promise<SwapDone> {
  if (quote.gateway !== wallet.gatewayPubkey) throw new Error('the quote is for another gateway');
  await wallet.syncState(); // the VTXOs this wallet will agree to sign for
  const leg = wallet.legIntent({
    give: [{ asset_id: quote.give.asset_id, amount: BigInt(quote.give.amount) }],
    receive: [{ asset_id: quote.receive.asset_id, amount: BigInt(quote.receive.amount) }],
    counterparty: quote.counterparty,
    ...(options.fee ? { fee: options.fee } : {}),
  });
  const batch = (await callSolver(wallet.key, wallet.pool, quote.counterparty, {
    id: globalThis.crypto.randomUUID(),
    method: 'swap',
    params: { quote_id: quote.quote_id, leg: leg.event },
  })) as SwapResult;
  const outcome = await wallet.outcome(leg.content.action_id, options.timeoutMs ?? 120_000);
  return { quote, batch, actionId: leg.content.action_id, outcome };
}
