// Asset flows of a batch leg: this wallet gives its `give` plus the fee and receives its
// `receive`, whatever else the shared Ark tx does for the other parties.
import { describe, expect, it } from 'vitest';
import type { ChallengeContext, ContextInput, ContextOutput } from '../../src/wallet/challenge.ts';
import { approvedIntent, buildIntent, intentFee, legParams } from '../../src/wallet/intents.ts';
import { checkFlows } from '../../src/wallet/verify/flows.ts';
import { Refusal } from '../../src/wallet/verify/refusal.ts';
import { alice, aliceWallet, bob, gateway } from './fixtures.ts';

const leg = approvedIntent(
  buildIntent(
    {
      type: 'swap:atomic',
      params: legParams({
        give: [{ asset_id: 'gBTC', amount: 100n }],
        receive: [{ asset_id: 'USDT', amount: 5000n }],
        counterparty: bob.pub,
      }),
      fee: intentFee(),
    },
    gateway.pub,
    aliceWallet,
  ),
);

const input = (owner: string, asset: string, amount: bigint, i: number): ContextInput => ({
  input_index: i,
  vtxo_id: `${String(i).repeat(64).slice(0, 64)}:0`,
  owner,
  asset_id: asset,
  amount,
  sats: 1000n,
});
const output = (
  owner: string,
  asset: string,
  amount: bigint,
  vout: number,
  role = 'recipient',
): ContextOutput => ({
  vout,
  owner,
  asset_id: asset,
  amount,
  sats: 1000n,
  role,
});

function ctx(outputs: ContextOutput[]): ChallengeContext {
  return {
    action_id: leg.actionId,
    server_pubkey: gateway.pub,
    unilateral_exit_delay: { type: 'blocks', value: 144n },
    inputs: [
      input(alice.pub, 'gBTC', 200n, 0),
      input(bob.pub, 'USDT', 8000n, 1),
      input(bob.pub, 'gBTC', 10n, 2),
    ],
    outputs,
    // Flows read only inputs and outputs; the commitment is checked elsewhere (verifier.test.ts).
    commitment: { vout: outputs.length, hash: '00'.repeat(32), preimage: '' },
    raw: {},
  };
}

const honest = () => [
  output(bob.pub, 'gBTC', 100n, 0),
  output(alice.pub, 'USDT', 5000n, 1),
  output(alice.pub, 'gBTC', 90n, 2, 'change'),
  output(bob.pub, 'USDT', 3000n, 3, 'change'),
  output(gateway.pub, 'gBTC', 20n, 4, 'fee'),
];

describe('batch leg flows', () => {
  it('accepts a leg that gives, receives and pays exactly what was approved', () => {
    expect(() => checkFlows(ctx(honest()), leg, { me: alice.pub, gateway: gateway.pub })).not.toThrow();
  });

  it('refuses a leg that receives less or gives more', () => {
    const less = honest();
    less[1] = output(alice.pub, 'USDT', 4000n, 1);
    less[3] = output(bob.pub, 'USDT', 4000n, 3, 'change');
    expect(() => checkFlows(ctx(less), leg, { me: alice.pub, gateway: gateway.pub })).toThrow(Refusal);
    const more = honest();
    more[0] = output(bob.pub, 'gBTC', 150n, 0);
    more[2] = output(alice.pub, 'gBTC', 40n, 2, 'change');
    expect(() => checkFlows(ctx(more), leg, { me: alice.pub, gateway: gateway.pub })).toThrow(
      /this wallet would change/,
    );
  });

  it('refuses amounts that are not conserved', () => {
    const minted = honest();
    minted[3] = output(bob.pub, 'USDT', 9000n, 3, 'change');
    expect(() => checkFlows(ctx(minted), leg, { me: alice.pub, gateway: gateway.pub })).toThrow(
      /not conserved/,
    );
  });
});
