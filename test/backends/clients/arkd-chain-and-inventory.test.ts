// The real arkd client's chain view (Esplora at ARKD_ESPLORA_URL: chain tip, commitment
// confirmation) and its inventory batch (an SDK wallet holding the inventory key settles its
// boarding funds), against the arkd REST fake and an Esplora fake over the same simulated world.
// The arkd fake does not run the batch protocol (MuSig2 tree signing, forfeits): the batch is
// followed up to RegisterIntent, whose intent the fake checks and refuses; a committed batch
// against a live arkd is not covered here.
import { Transaction } from '@arkade-os/sdk';
import { base64, hex } from '@scure/base';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RealArk } from '../../../src/backends/ark/client.ts';
import { BackendError } from '../../../src/backends/types.ts';
import type { DaemonEndpoint } from '../../../src/config.ts';
import { waitFor } from '../../support/wait.ts';
import { ArkdFake } from '../fakes/arkd-fake.ts';
import { EsploraFake } from '../fakes/esplora-fake.ts';
import { key } from '../sim/support.ts';
import { ShiftedClock, captureLogger, fastResilience } from './support.ts';

const inventory = key(7);
const other = key(8);

describe('real arkd client: chain view and inventory batches', () => {
  const fake = new ArkdFake();
  const esplora = new EsploraFake(fake.world);
  const logs = captureLogger();
  const clients: RealArk[] = [];

  const make = (overrides: Partial<DaemonEndpoint> = {}) => {
    const client = new RealArk(
      {
        mode: 'real',
        address: fake.url,
        tlsCert: undefined,
        macaroon: undefined,
        timeoutMs: 5_000,
        esploraUrl: esplora.url,
        ...overrides,
      },
      { logger: logs.logger, resilience: fastResilience(new ShiftedClock()) },
    );
    clients.push(client);
    return client;
  };
  const failure = async (p: Promise<unknown>) =>
    (await p.then(
      () => undefined,
      (e: unknown) => e,
    )) as BackendError;

  beforeAll(async () => {
    await fake.start();
    await esplora.start();
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await esplora.stop();
    await fake.stop();
  });
  beforeEach(() => {
    fake.faults.heal();
    esplora.faults.heal();
    esplora.utxos.clear();
    fake.intents.length = 0;
    fake.deletedIntents.length = 0;
  });

  it('reads the chain tip from Esplora; without ARKD_ESPLORA_URL says so', async () => {
    await fake.sim.createInventoryBatch({
      ownerPubkey: other.pub,
      ownerSecretKey: other.priv,
      amounts: [1_000n],
    }); // mines a block
    expect(await make().getChainTip()).toEqual(await fake.sim.getChainTip());
    const error = await failure(make({ esploraUrl: undefined }).getChainTip());
    expect(error).toBeInstanceOf(BackendError);
    expect(error.message).toMatch(/ARKD_ESPLORA_URL/);
    expect(error.toProtocolError().code).toBe(5004);
  });

  it('an explorer outage is unavailable (5004) and never opens arkd’s breaker', async () => {
    const client = make();
    esplora.faults.failAlways({ status: 503, message: 'overloaded' });
    for (let i = 0; i < 6; i++) {
      const error = await failure(client.getChainTip());
      expect(error.kind === 'unavailable' || error.kind === 'circuit_open').toBe(true);
    }
    expect(client.status().breaker.state).toBe('closed');
    expect((await client.getInfo()).network).toBe('regtest');
  });

  it('anchors the latest commitment seen on the stream at its confirmed height', async () => {
    const client = make();
    // First call: nothing seen yet; it starts the client's own stream.
    expect(await client.getCommitmentAnchor()).toBeUndefined();
    await new Promise((r) => setTimeout(r, 200));
    const batch = await fake.sim.createInventoryBatch({
      ownerPubkey: other.pub,
      ownerSecretKey: other.priv,
      amounts: [2_000n],
    });
    const anchor = await waitFor(() => client.getCommitmentAnchor(), 5_000);
    expect(anchor).toEqual(await fake.sim.getCommitmentAnchor());
    expect(anchor!.txid).toBe(batch.commitmentTxid);
    // A commitment the explorer does not know is skipped, not reported.
    esplora.faults.failNext({ status: 404, message: 'Transaction not found' });
    expect(await client.getCommitmentAnchor()).toBeUndefined();
  });

  it('refuses an inventory batch whose secret is not the owner key’s, or below dust, before any call', async () => {
    const client = make();
    const wrongKey = await failure(
      client.createInventoryBatch({
        ownerPubkey: inventory.pub,
        ownerSecretKey: other.priv,
        amounts: [1_000n],
      }),
    );
    expect(wrongKey).toMatchObject({ kind: 'rejected' });
    expect(wrongKey.message).toMatch(/does not belong/);
    const dust = await failure(
      client.createInventoryBatch({
        ownerPubkey: inventory.pub,
        ownerSecretKey: inventory.priv,
        amounts: [10n],
      }),
    );
    expect(dust.message).toMatch(/outside the server's limits/);
    expect(fake.intents).toHaveLength(0);
    // The secret never reaches a log line.
    expect(logs.lines.join('\n')).not.toContain(hex.encode(inventory.priv));
  });

  it('without ARKD_ESPLORA_URL the inventory wallet cannot see its funds, and says so', async () => {
    const error = await failure(
      make({ esploraUrl: undefined }).createInventoryBatch({
        ownerPubkey: inventory.pub,
        ownerSecretKey: inventory.priv,
        amounts: [1_000n],
      }),
    );
    expect(error.kind).toBe('rejected');
    expect(error.message).toMatch(/ARKD_ESPLORA_URL/);
  });

  it('without confirmed boarding funds nothing is registered; with them the signed intent asks for the amounts plus change', async () => {
    const client = make();
    const request = { ownerPubkey: inventory.pub, ownerSecretKey: inventory.priv, amounts: [1_000n, 2_000n] };
    const empty = await failure(client.createInventoryBatch(request));
    expect(empty.kind).toBe('rejected');
    const boardingAddress = /boarding funds at the inventory wallet's address (\S+)/.exec(empty.message)?.[1];
    expect(boardingAddress).toMatch(/^bcrt1p/);
    expect(fake.intents).toHaveLength(0);

    // Unconfirmed funds do not count either.
    const funding = { txid: 'ab'.repeat(32), vout: 1, value: 10_000 };
    esplora.utxos.set(boardingAddress!, [funding]);
    expect((await failure(client.createInventoryBatch(request))).message).toMatch(
      /no confirmed boarding funds/,
    );

    // Confirmed: the wallet registers an intent spending them, then the fake refuses the batch.
    esplora.utxos.set(boardingAddress!, [{ ...funding, height: fake.world.tip()!.height }]);
    const refused = await failure(client.createInventoryBatch(request));
    expect(refused).toBeInstanceOf(BackendError);
    // grpc-gateway answers UNIMPLEMENTED with HTTP 501, which the SDK reports as the server
    // being unavailable (5004); a batch is never retried blindly: one intent only.
    expect(refused).toMatchObject({ kind: 'unavailable', retryable: false });
    expect(refused.message).toMatch(/501/);
    expect(fake.intents).toHaveLength(1);

    const proof = Transaction.fromPSBT(base64.decode(fake.intents[0]!.proof), { allowUnknown: true });
    const inventoryScript = (await client.vtxoScript(inventory.pub)).pkScript;
    const spent = Array.from({ length: proof.inputsLength }, (_, i) => proof.getInput(i));
    // Input 0 is the intent's message commitment (BIP-322 style); the others are the coins.
    expect(spent.slice(1).map((i) => [hex.encode(i.txid!), i.index])).toEqual([[funding.txid, funding.vout]]);
    expect(spent[1]!.tapScriptSig?.[0]?.[0].pubKey).toEqual(hex.decode(inventory.pub));
    const outputs = Array.from({ length: proof.outputsLength }, (_, i) => proof.getOutput(i));
    // No fees on the fake: 10 000 sats become 1 000 + 2 000 and 7 000 of change, all to the inventory key.
    expect(outputs.map((o) => o.amount)).toEqual([1_000n, 2_000n, 7_000n]);
    for (const o of outputs) expect(hex.encode(o.script!)).toBe(inventoryScript);
    expect(JSON.parse(fake.intents[0]!.message)).toMatchObject({ type: 'register' });
    // After the refusal the SDK withdraws its intent.
    expect(fake.deletedIntents).toHaveLength(1);
  });
});
