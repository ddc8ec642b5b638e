// Do the asset amounts of a challenge's context do what the approved intent asked? Everything is
// a net flow per party and asset (what it receives minus what it spends in this Ark tx): the
// author loses exactly amount + fee (a transfer, a land), only the fee (a split), or gives its
// `give` + fee and receives its `receive` (a batch leg); the recipient gains exactly the amount;
// the gateway's `fee` outputs carry exactly the fee. Colours are conserved per asset.
import { addTo, formatSums, sameSums, type AssetSums } from '../amounts.ts';
import type { ChallengeContext } from '../challenge.ts';
import type { ApprovedIntent } from '../intents.ts';
import { Refusal } from './refusal.ts';

export interface FlowParties {
  readonly me: string;
  readonly gateway: string;
}

function sumsBy(
  items: readonly { owner: string; asset_id: string; amount: bigint }[],
  owner?: string,
): AssetSums {
  const sums: AssetSums = new Map();
  for (const item of items)
    if (owner === undefined || item.owner === owner) addTo(sums, item.asset_id, item.amount);
  return sums;
}

function net(ctx: ChallengeContext, owner: string): AssetSums {
  const sums = sumsBy(ctx.outputs, owner);
  for (const [asset, amount] of sumsBy(ctx.inputs, owner)) addTo(sums, asset, -amount);
  return sums;
}

function expectNet(ctx: ChallengeContext, owner: string, expected: AssetSums, who: string): void {
  const actual = net(ctx, owner);
  if (!sameSums(actual, expected)) {
    throw new Refusal(`${who} would change by ${formatSums(actual)} instead of ${formatSums(expected)}`);
  }
}

function sums(...entries: [string, bigint][]): AssetSums {
  const out: AssetSums = new Map();
  for (const [asset, amount] of entries) addTo(out, asset, amount);
  return out;
}

function onlyParties(ctx: ChallengeContext, allowed: readonly string[]): void {
  for (const item of [...ctx.inputs, ...ctx.outputs]) {
    if (!allowed.includes(item.owner))
      throw new Refusal(`the transaction involves ${item.owner}, a stranger to the intent`);
  }
}

/** The `fee` outputs: all to the gateway, in the fee asset only; their total. */
function feeOutputs(ctx: ChallengeContext, intent: ApprovedIntent, gateway: string): bigint {
  let total = 0n;
  for (const out of ctx.outputs.filter((o) => o.role === 'fee')) {
    if (out.owner !== gateway) throw new Refusal(`fee output ${out.vout} does not go to the gateway`);
    if (out.asset_id !== intent.fee.assetId)
      throw new Refusal(`fee output ${out.vout} is in ${out.asset_id}`);
    total += out.amount;
  }
  return total;
}

export function checkFlows(ctx: ChallengeContext, intent: ApprovedIntent, parties: FlowParties): void {
  const { me, gateway } = parties;
  if (!sameSums(sumsBy(ctx.inputs), sumsBy(ctx.outputs))) {
    throw new Refusal(
      `asset amounts are not conserved: inputs ${formatSums(sumsBy(ctx.inputs))}, outputs ${formatSums(sumsBy(ctx.outputs))}`,
    );
  }
  const fee: [string, bigint] = [intent.fee.assetId, intent.fee.amount];
  const negFee: [string, bigint] = [intent.fee.assetId, -intent.fee.amount];
  const fees = feeOutputs(ctx, intent, gateway);
  const t = intent.terms;
  switch (t.type) {
    case 'transfer:p2p': {
      onlyParties(ctx, [me, t.recipient, gateway]);
      expectNet(ctx, me, sums([t.assetId, -t.amount], negFee), 'this wallet');
      expectNet(ctx, t.recipient, sums([t.assetId, t.amount]), 'the recipient');
      expectNet(ctx, gateway, sums(fee), 'the gateway');
      break;
    }
    case 'lightning:land': {
      onlyParties(ctx, [me, gateway]);
      expectNet(ctx, me, sums([t.assetId, -t.amount], negFee), 'this wallet');
      expectNet(ctx, gateway, sums([t.assetId, t.amount], fee), 'the gateway');
      break;
    }
    case 'vtxo:split': {
      onlyParties(ctx, [me, gateway]);
      const split = ctx.inputs.find((i) => i.vtxo_id === t.vtxoId);
      if (!split || split.owner !== me)
        throw new Refusal(`the VTXO to split (${t.vtxoId}) is not an input of mine`);
      expectNet(ctx, me, sums(negFee), 'this wallet');
      expectNet(ctx, gateway, sums(fee), 'the gateway');
      const mine = ctx.outputs
        .filter((o) => o.owner === me && o.asset_id === split.asset_id)
        .map((o) => o.amount);
      for (const amount of t.amounts) {
        const at = mine.indexOf(amount);
        if (at < 0)
          throw new Refusal(`no output of ${amount} ${split.asset_id} to this wallet, as the split asked`);
        mine.splice(at, 1);
      }
      break;
    }
    case 'swap:atomic':
    case 'liquidity:add': {
      const expected = sums(negFee);
      for (const g of t.give) addTo(expected, g.assetId, -g.amount);
      for (const r of t.receive) addTo(expected, r.assetId, r.amount);
      expectNet(ctx, me, expected, 'this wallet');
      if (
        !ctx.inputs.some((i) => i.owner === t.counterparty) &&
        !ctx.outputs.some((o) => o.owner === t.counterparty)
      ) {
        throw new Refusal('the counterparty is not a party of this transaction');
      }
      // Every party pays its own fee: the fee outputs carry at least this wallet's.
      if (fees < intent.fee.amount)
        throw new Refusal(`fee outputs carry ${fees}, less than the fee ${intent.fee.amount}`);
      return;
    }
  }
  if (fees !== intent.fee.amount) {
    throw new Refusal(
      `fee outputs carry ${fees} ${intent.fee.assetId}, the intent's fee is ${intent.fee.amount}`,
    );
  }
}
