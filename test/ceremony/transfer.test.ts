// A p2p transfer end to end on the embedded relay and the simulator: intent → one challenge →
// settled, with the ledger, the confirmation and the Ark transaction's commitment agreeing.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/app.ts';
import { parsePsbt } from '../../src/backends/ark/psbt.ts';
import { committedHash } from '../../src/domain/allocation-commitment.ts';
import { VtxoStore } from '../../src/ledger/vtxo-store.ts';
import { createStack, startTestGateway, Wallet, type SharedStack } from '../nostr/support.ts';
import { queryRelay } from '../support/relay-query.ts';
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

  it('settles a transfer after its one step is signed, the Ark tx committing to the allocation', async () => {
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
    expect(step1.body).toMatchObject({ step: 1, step_total: 1, type: 'sign_ark_tx' });
    // The Ark tx, then one checkpoint per input; alice signs her Ark input and its checkpoint.
    const inputs = step1.body.context.inputs as { owner: string }[];
    expect(step1.body.psbts).toHaveLength(1 + inputs.length);
    const mine = inputs.flatMap((input, i) => (input.owner === alice.pubkey ? [i] : []));
    expect(step1.body.sighashes.map((s) => [s.psbt_index, s.input_index])).toEqual([
      ...mine.map((i) => [0, i]),
      ...mine.map((i) => [1 + i, 0]),
    ]);
    await alice.publish(url, response(alice, gw, step1));
    const store = new VtxoStore(gateway.database);
    await waitFor(
      async () => ((await store.balances(bob.pubkey))[0]?.available === 400n ? true : undefined),
      15_000,
      'bob credited',
    );
    expect(await store.balances(alice.pubkey)).toMatchObject([
      { assetId: 'gBTC', available: 590n, pending: 0n },
    ]);
    // The confirmation carries the commitment; the Ark tx has it as a zero-value OP_RETURN.
    const [confirmation] = await queryRelay(url, { kinds: [31340], '#e': [intent.id] });
    const content = JSON.parse(confirmation!.content) as {
      ark_txid: string;
      created: { vtxo_id: string; owner: string; asset_id: string; amount: string }[];
      commitment: { vout: number; hash: string; preimage: string };
    };
    const { commitment } = content;
    expect(createHash('sha256').update(commitment.preimage).digest('hex')).toBe(commitment.hash);
    const preimage = JSON.parse(commitment.preimage) as {
      action_ids: string[];
      outputs: { vout: number; owner: string; asset_id: string; amount: string }[];
    };
    expect(preimage.action_ids).toEqual([JSON.parse(intent.content).action_id]);
    for (const created of content.created) {
      const vout = Number(created.vtxo_id.split(':')[1]);
      expect(preimage.outputs).toContainEqual({
        vout,
        owner: created.owner,
        asset_id: created.asset_id,
        amount: created.amount,
      });
    }
    const row = await gateway.ceremony!.engine.records.arkTx(content.ark_txid);
    const out = parsePsbt(row!.psbt).getOutput(commitment.vout);
    expect(out.amount).toBe(0n);
    expect(committedHash(out.script!)).toBe(commitment.hash);
  }, 60_000);
});
