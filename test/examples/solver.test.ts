// The example solver against a real gateway: a fixed-rate quote over encrypted Nostr, the user's
// signed leg plus the solver's own submitted as one batch, both wallets verifying and answering
// their challenges, one settlement for both. A leg that does not match its quote is refused and
// nothing is submitted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/app.ts';
import { VtxoStore } from '../../src/ledger/vtxo-store.ts';
import { ArkRelayWallet } from '../../src/wallet/index.ts';
import { requestQuote, swapWith } from '../../examples/solver/client.ts';
import { callSolver, SolverError } from '../../examples/solver/protocol.ts';
import { quoteAmount } from '../../examples/solver/pricing.ts';
import { Solver } from '../../examples/solver/solver.ts';
import { addTestDollar, fund, readyToTransfer } from '../ceremony/support.ts';
import { createStack, startTestGateway, type SharedStack } from '../nostr/support.ts';
import { expectLedgerConsistent } from '../support/ledger.ts';

const RATE = { base: 'gBTC', quote: 'gUSD', numerator: 1n, denominator: 10n };

describe('fixed-rate pricing', () => {
  it('quotes both directions in integers, rounding down, less the spread', () => {
    expect(quoteAmount(RATE, 'gBTC', 10_005n, 'gUSD')).toBe(1_000n);
    expect(quoteAmount(RATE, 'gUSD', 1_000n, 'gBTC')).toBe(10_000n);
    expect(quoteAmount({ ...RATE, spreadBps: 100n }, 'gBTC', 10_000n, 'gUSD')).toBe(990n);
    expect(quoteAmount(RATE, 'gBTC', 10_000n, 'gXYZ')).toBeUndefined();
  });
});

describe('example solver', () => {
  let stack: SharedStack;
  let gateway: Gateway;
  let store: VtxoStore;
  let solver: Solver;
  const wallets: ArkRelayWallet[] = [];

  const connect = async () => {
    const w = await ArkRelayWallet.connect({
      gatewayPubkey: gateway.nostr!.core.keys.active.pubkey,
      relays: [gateway.nostr!.embeddedRelayUrl!],
    });
    wallets.push(w);
    return w;
  };
  const holding = async (pubkey: string, asset: string) =>
    (await store.balances(pubkey)).find((b) => b.assetId === asset)?.available ?? 0n;

  beforeAll(async () => {
    stack = await createStack();
    gateway = await startTestGateway({ stack, roles: ['api', 'worker', 'scheduler'] });
    await readyToTransfer(gateway, 40);
    store = new VtxoStore(gateway.database);
    await addTestDollar(gateway);
    const solverWallet = await connect();
    await fund(gateway, solverWallet.pubkey, 100n); // its fees
    await fund(gateway, solverWallet.pubkey, 5_000n, 'gUSD');
    solver = new Solver({ wallet: solverWallet, rate: RATE });
    solver.start();
  }, 90_000);
  afterAll(async () => {
    solver?.stop();
    for (const w of wallets) w.close();
    await gateway?.stop();
    await stack?.drop();
  });

  it('settles a quoted swap as one batch: both legs in one Ark transaction', async () => {
    const user = await connect();
    await fund(gateway, user.pubkey, 3_000n);
    const quote = await requestQuote(user, solver.pubkey, { asset_id: 'gBTC', amount: 2_000n }, 'gUSD');
    expect(quote).toMatchObject({ give: { amount: '2000' }, receive: { asset_id: 'gUSD', amount: '200' } });

    const solverSigned: string[] = [];
    wallets[0]!.on('responded', ({ challenge }) =>
      solverSigned.push(`${challenge.type} ${challenge.step}/${challenge.step_total}`),
    );
    const done = await swapWith(user, quote, { timeoutMs: 30_000 });
    expect(done.outcome.status).toBe('settled');
    expect(done.batch.sessions).toHaveLength(2);
    // The solver's own wallet verified and signed its one challenge (v1.1: one step).
    expect(solverSigned).toEqual(['sign_ark_tx 1/1']);
    const confirmation = done.outcome.status === 'settled' ? done.outcome.confirmation : undefined;
    expect(confirmation?.action_ids).toHaveLength(2);
    // One Ark tx, one allocation commitment naming both legs.
    const committed = JSON.parse(confirmation?.commitment?.preimage ?? '{}') as { action_ids?: string[] };
    expect(committed.action_ids).toEqual(confirmation?.action_ids);
    expect([await holding(user.pubkey, 'gBTC'), await holding(user.pubkey, 'gUSD')]).toEqual([990n, 200n]);
    expect([await holding(solver.pubkey, 'gBTC'), await holding(solver.pubkey, 'gUSD')]).toEqual([
      2_090n,
      4_800n,
    ]);
    await expectLedgerConsistent(gateway.database);
  }, 60_000);

  it('refuses a leg that does not match the quote, and submits nothing', async () => {
    const user = await connect();
    await fund(gateway, user.pubkey, 3_000n);
    const quote = await requestQuote(user, solver.pubkey, { asset_id: 'gBTC', amount: 1_000n }, 'gUSD');
    // Asks for more gUSD than quoted.
    const greedy = user.legIntent({
      give: [{ asset_id: 'gBTC', amount: 1_000n }],
      receive: [{ asset_id: 'gUSD', amount: 150n }],
      counterparty: solver.pubkey,
    });
    const refused = callSolver(user.key, user.pool, solver.pubkey, {
      id: 'greedy',
      method: 'swap',
      params: { quote_id: quote.quote_id, leg: greedy.event },
    });
    await expect(refused).rejects.toThrow(SolverError);
    await expect(refused).rejects.toThrow('does not match the quote');
    const sessions = await gateway.database.db
      .selectFrom('signing_sessions')
      .select('session_id')
      .where('action_id', '=', greedy.content.action_id)
      .execute();
    expect(sessions).toEqual([]);
    expect(await holding(user.pubkey, 'gBTC')).toBe(3_000n);
  }, 30_000);
});
