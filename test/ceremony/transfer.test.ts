// A p2p transfer end to end on the embedded relay and the simulator: intent → two challenges →
// settled, with the ledger and the confirmation agreeing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/app.ts';
import { VtxoStore } from '../../src/ledger/vtxo-store.ts';
import { createStack, startTestGateway, Wallet, type SharedStack } from '../nostr/support.ts';
import { waitFor } from '../support/wait.ts';
import { challenges, response } from './naive-signer.ts';
import { fund, intentEvent, readyToTransfer } from './support.ts';

describe('transfer:p2p', () => {
  let stack: SharedStack;
  let gateway: Gateway;
  let url: string;
  let gw: string;

  beforeAll(async () => {
    stack = await createStack();
    gateway = await startTestGateway({ stack });
    await readyToTransfer(gateway, 20);
    url = gateway.nostr!.embeddedRelayUrl!;
    gw = gateway.nostr!.core.keys.active.pubkey;
  }, 60_000);
  afterAll(async () => {
    await gateway?.stop();
    await stack?.drop();
  });

  it('settles a transfer after both steps are signed', async () => {
    const alice = new Wallet();
    const bob = new Wallet();
    await fund(gateway, alice.pubkey, 1_000n);
    const intent = intentEvent(alice, gw, {
      type: 'transfer:p2p',
      params: { recipient: bob.pubkey, asset_id: 'gBTC', amount: 400 },
    });
    await alice.publish(url, intent);
    const step1 = await waitFor(
      async () => (await challenges(url, alice)).find((c) => c.body.step === 1),
      15_000,
      'step 1',
    );
    await alice.publish(url, response(alice, gw, step1));
    const step2 = await waitFor(
      async () => (await challenges(url, alice)).find((c) => c.body.step === 2),
      15_000,
      'step 2',
    );
    await alice.publish(url, response(alice, gw, step2));
    const store = new VtxoStore(gateway.database);
    await waitFor(
      async () => ((await store.balances(bob.pubkey))[0]?.available === 400n ? true : undefined),
      15_000,
      'bob credited',
    );
    expect(await store.balances(alice.pubkey)).toMatchObject([
      { assetId: 'gBTC', available: 590n, pending: 0n },
    ]);
  }, 60_000);
});
