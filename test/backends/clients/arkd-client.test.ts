import { Transaction } from '@arkade-os/sdk';
import { schnorr } from '@noble/curves/secp256k1.js';
import { base64, hex } from '@scure/base';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ArkTxEvent } from '../../../src/backends/ark/ark-backend.ts';
import { RealArk, maxOpReturnOutputsOf, relativeDelay } from '../../../src/backends/ark/client.ts';
import { addSignatures, sighashesFor } from '../../../src/backends/ark/psbt.ts';
import { BackendError } from '../../../src/backends/types.ts';
import type { DaemonEndpoint } from '../../../src/config.ts';
import { allocationCommitment, opReturnScript } from '../../../src/domain/allocation-commitment.ts';
import { key, walletSign, type TestKey } from '../sim/support.ts';
import { waitFor } from '../../support/wait.ts';
import { ArkdFake } from '../fakes/arkd-fake.ts';
import { ShiftedClock, captureLogger, fastResilience } from './support.ts';

const alice = key(1);
const bob = key(2);
const mallory = key(3);

describe('real arkd client against the arkd REST fake (backed by the Ark simulator)', () => {
  const fake = new ArkdFake();
  let clock: ShiftedClock;
  let client: RealArk;

  const endpoint = (overrides: Partial<DaemonEndpoint> = {}): DaemonEndpoint => ({
    mode: 'real',
    address: fake.url,
    tlsCert: undefined,
    macaroon: undefined,
    timeoutMs: 2_000,
    ...overrides,
  });
  const make = (overrides: Partial<DaemonEndpoint> = {}) =>
    new RealArk(endpoint(overrides), { logger: captureLogger().logger, resilience: fastResilience(clock) });

  beforeAll(() => fake.start());
  afterAll(() => fake.stop());
  beforeEach(() => {
    fake.faults.heal();
    fake.faults.calls.clear();
    fake.reportMaxOpReturnOutputs = true;
    clock = new ShiftedClock();
    client = make();
  });

  async function fund(owner: TestKey, amounts: bigint[]) {
    return (
      await fake.sim.createInventoryBatch({ ownerPubkey: owner.pub, ownerSecretKey: owner.priv, amounts })
    ).vtxos;
  }

  it('reads server info: x-only signer key, dust, delays', async () => {
    const sim = await fake.sim.getInfo();
    const info = await client.getInfo();
    expect(info).toMatchObject({
      signerPubkey: sim.signerPubkey,
      network: 'regtest',
      dust: 330n,
      unilateralExitDelay: { type: 'blocks', value: 144n },
      checkpointTapscript: sim.checkpointTapscript,
      vtxoMaxAmount: -1n,
    });
    expect(relativeDelay(1024n)).toEqual({ type: 'seconds', value: 1024n });
  });

  it('derives the same VTXO script and address as the server', async () => {
    expect(await client.vtxoScript(alice.pub)).toEqual(await fake.sim.vtxoScript(alice.pub));
  });

  it('builds, gets signed, submits, finalizes — and the stream and indexer see it', async () => {
    const [vtxo] = await fund(alice, [10_000n]);
    const events: ArkTxEvent[] = [];
    const stop = client.subscribeTransactions((e) => events.push(e));
    await new Promise((r) => setTimeout(r, 200));

    const aliceScript = (await client.vtxoScript(alice.pub)).pkScript;
    expect(
      (await client.listVtxos({ scripts: [aliceScript], spendableOnly: true })).map((v) => v.outpoint),
    ).toContainEqual(vtxo!.outpoint);

    const built = await client.buildTransfer(
      [{ outpoint: vtxo!.outpoint, ownerPubkey: alice.pub, amount: 10_000n }],
      [
        { ownerPubkey: bob.pub, amount: 6_000n },
        { ownerPubkey: alice.pub, amount: 4_000n },
      ],
    );
    expect(built.signatures).toEqual([
      { tx: 'ark', checkpoint: 0, inputIndex: 0, pubkey: alice.pub },
      { tx: 'checkpoint', checkpoint: 0, inputIndex: 0, pubkey: alice.pub },
    ]);
    const submitted = await client.submitTx(walletSign(built.arkPsbt, alice, [0]), built.checkpointPsbts);
    expect(submitted.arkTxid).toBe(built.arkTxid);

    // After a crash the gateway finds the submitted tx again.
    const pending = await client.getPendingTx(built.arkTxid, [vtxo!.outpoint]);
    expect(pending).toMatchObject({ state: 'pending', arkTxid: built.arkTxid });
    if (pending.state !== 'pending') throw new Error('unreachable');
    expect(pending.signedCheckpointPsbts).toHaveLength(1);

    await client.finalizeTx(
      built.arkTxid,
      submitted.signedCheckpointPsbts.map((c) => walletSign(c, alice, [0])),
    );
    expect(await client.getPendingTx(built.arkTxid, [vtxo!.outpoint])).toEqual({
      state: 'finalized',
      arkTxid: built.arkTxid,
    });

    const bobScript = (await client.vtxoScript(bob.pub)).pkScript;
    const bobs = await client.listVtxos({ scripts: [bobScript] });
    expect(bobs).toContainEqual(
      expect.objectContaining({ outpoint: { txid: built.arkTxid, vout: 0 }, amount: 6_000n, spent: false }),
    );
    const spent = await client.listVtxos({ outpoints: [vtxo!.outpoint] });
    expect(spent[0]).toMatchObject({ spent: true, spentBy: built.arkTxid });

    const event = await waitFor(() => events.find((e) => e.type === 'ark_tx' && e.txid === built.arkTxid));
    expect(event.spent).toEqual([vtxo!.outpoint]);
    expect(event.created.map((v) => v.amount)).toEqual([6_000n, 4_000n]);
    stop();
  });

  it('reads max_op_return_outputs from the wire and puts the commitment before the anchor', async () => {
    expect((await client.getInfo()).maxOpReturnOutputs).toBe(3);
    const [vtxo] = await fund(alice, [8_000n]);
    const events: ArkTxEvent[] = [];
    const stop = client.subscribeTransactions((e) => events.push(e));
    await new Promise((r) => setTimeout(r, 200));
    const outputs = [
      { ownerPubkey: bob.pub, amount: 5_000n },
      { ownerPubkey: alice.pub, amount: 3_000n },
    ];
    const { data } = allocationCommitment(
      ['action-1'],
      outputs.map((o, vout) => ({ vout, owner: o.ownerPubkey, assetId: 'b'.repeat(64), amount: o.amount })),
    );
    const built = await client.buildTransfer(
      [{ outpoint: vtxo!.outpoint, ownerPubkey: alice.pub, amount: 8_000n }],
      outputs,
      { opReturn: data },
    );
    expect(built.opReturnVout).toBe(2);
    expect(built.outputs.map((o) => o.vout)).toEqual([0, 1]);
    const tx = Transaction.fromPSBT(base64.decode(built.arkPsbt));
    expect(tx.outputsLength).toBe(4);
    expect(tx.getOutput(2)).toMatchObject({ amount: 0n, script: opReturnScript(data) });
    expect(hex.encode(tx.getOutput(3).script!)).toBe('51024e73');

    // arkd accepts it; until it is final the indexer names the tx holding the input.
    const submitted = await client.submitTx(walletSign(built.arkPsbt, alice, [0]), built.checkpointPsbts);
    expect((await client.listVtxos({ outpoints: [vtxo!.outpoint] }))[0]).toMatchObject({
      spent: false,
      pendingBy: built.arkTxid,
    });
    await client.finalizeTx(
      built.arkTxid,
      submitted.signedCheckpointPsbts.map((c) => walletSign(c, alice, [0])),
    );
    const [spent] = await client.listVtxos({ outpoints: [vtxo!.outpoint] });
    expect(spent).toMatchObject({ spent: true, spentBy: built.arkTxid });
    expect(spent!.pendingBy).toBeUndefined();
    // The OP_RETURN output is no VTXO: neither in the indexer nor on the stream.
    const created = await client.listVtxos({
      outpoints: [0, 1, 2, 3].map((vout) => ({ txid: built.arkTxid, vout })),
    });
    expect(created.map((v) => v.outpoint.vout).sort()).toEqual([0, 1]);
    const event = await waitFor(() => events.find((e) => e.type === 'ark_tx' && e.txid === built.arkTxid));
    expect(event.created.map((v) => v.outpoint.vout)).toEqual([0, 1]);
    stop();
  });

  it('an arkd that does not report max_op_return_outputs is too old for the allocation commitment', async () => {
    fake.reportMaxOpReturnOutputs = false;
    expect((await client.getInfo()).maxOpReturnOutputs).toBe(0);
    const [vtxo] = await fund(alice, [2_000n]);
    const inputs = [{ outpoint: vtxo!.outpoint, ownerPubkey: alice.pub, amount: 2_000n }];
    const outputs = [{ ownerPubkey: bob.pub, amount: 2_000n }];
    const error = (await client
      .buildTransfer(inputs, outputs, { opReturn: new Uint8Array(41).fill(1) })
      .catch((e: unknown) => e)) as BackendError;
    expect(error).toBeInstanceOf(BackendError);
    expect(error.kind).toBe('rejected');
    expect(error.message).toMatch(
      /too old for the gateway's allocation commitment.*max_op_return_outputs is 0 or absent/,
    );
    // Without a commitment it still builds.
    expect((await client.buildTransfer(inputs, outputs)).opReturnVout).toBeUndefined();
  });

  it('reads max_op_return_outputs as arkd writes it (int64: a string), else refuses the reply', () => {
    expect(maxOpReturnOutputsOf({ maxOpReturnOutputs: '3' })).toBe(3);
    expect(maxOpReturnOutputsOf({ maxOpReturnOutputs: 1 })).toBe(1);
    expect(maxOpReturnOutputsOf({})).toBe(0);
    for (const bad of ['-1', 'three', 2.5, true]) {
      expect(() => maxOpReturnOutputsOf({ maxOpReturnOutputs: bad })).toThrow(/^Invalid maxOpReturnOutputs/);
    }
  });

  it('a transfer signed by the wrong key is refused as invalid_signature (5001)', async () => {
    const [vtxo] = await fund(alice, [2_000n]);
    const built = await client.buildTransfer(
      [{ outpoint: vtxo!.outpoint, ownerPubkey: alice.pub, amount: 2_000n }],
      [{ ownerPubkey: bob.pub, amount: 2_000n }],
    );
    // Mallory signs the right digest and files it under Alice's key.
    const tx = Transaction.fromPSBT(base64.decode(built.arkPsbt));
    const [digest] = sighashesFor(tx, alice.pub);
    addSignatures(tx, alice.pub, [
      { inputIndex: 0, sig: hex.encode(schnorr.sign(hex.decode(digest!.digest), mallory.priv)) },
    ]);
    const error = (await client
      .submitTx(base64.encode(tx.toPSBT()), built.checkpointPsbts)
      .catch((e: unknown) => e)) as BackendError;
    expect(error).toBeInstanceOf(BackendError);
    expect(error).toMatchObject({
      backend: 'arkd',
      kind: 'invalid_signature',
      daemonCode: 'INVALID_SIGNATURE',
      retryable: false,
    });
    expect(error.toProtocolError().code).toBe(5001);
    expect(fake.faults.count('POST /v1/tx/submit')).toBe(1);
  });

  it('refuses to build on a spent input, and the server refuses a double spend', async () => {
    const [vtxo] = await fund(alice, [3_000n]);
    const input = [{ outpoint: vtxo!.outpoint, ownerPubkey: alice.pub, amount: 3_000n }];
    const first = await client.buildTransfer(input, [{ ownerPubkey: bob.pub, amount: 3_000n }]);
    const second = await client.buildTransfer(input, [{ ownerPubkey: mallory.pub, amount: 3_000n }]);
    await client.submitTx(walletSign(first.arkPsbt, alice, [0]), first.checkpointPsbts);
    const error = (await client
      .submitTx(walletSign(second.arkPsbt, alice, [0]), second.checkpointPsbts)
      .catch((e: unknown) => e)) as BackendError;
    expect(error.kind).toBe('already_spent');
    expect(error.toProtocolError().code).toBe(5001);
    const wrongAmount = (await client
      .buildTransfer([{ ...input[0]!, amount: 2_999n }], [{ ownerPubkey: bob.pub, amount: 2_999n }])
      .catch((e: unknown) => e)) as BackendError;
    expect(wrongAmount.kind).toBe('rejected');
    const belowDust = (await client
      .buildTransfer(input, [
        { ownerPubkey: bob.pub, amount: 2_900n },
        { ownerPubkey: bob.pub, amount: 100n },
      ])
      .catch((e: unknown) => e)) as BackendError;
    expect(belowDust.message).toMatch(/below dust/);
  });

  it('retries a 503 on reads; does not retry a submit that failed mid-call', async () => {
    fake.faults.failNext({ status: 503, message: 'starting' }, 3);
    expect((await client.getInfo()).network).toBe('regtest');
    // Each GetInfo attempt reads /v1/info twice (the SDK's mapping and the raw reply): the first
    // two attempts meet the 503s (the second one half of them), the third is answered.
    expect(fake.faults.count('GET /v1/info')).toBe(6);

    fake.faults.failNext({ status: 503, message: 'overloaded' });
    const error = (await client.submitTx('cHNidP8=', []).catch((e: unknown) => e)) as BackendError;
    expect(error.kind).toBe('unavailable');
    expect(error.toProtocolError().code).toBe(5004);
    expect(fake.faults.count('POST /v1/tx/submit')).toBe(1);
  });

  it('times out a slow reply', async () => {
    fake.faults.delayMs = 1_500;
    const quick = make({ timeoutMs: 200 });
    const error = (await quick.probe().catch((e: unknown) => e)) as BackendError;
    expect(error.kind).toBe('timeout');
    expect(error.toProtocolError().code).toBe(5004);
    fake.faults.delayMs = 0;
  });

  it('opens the breaker after 5 failures, refuses while open, half-opens after 60 s, closes on success', async () => {
    fake.faults.failAlways({ status: 503, message: 'down' });
    for (let i = 0; i < 5; i++) await client.probe().catch(() => undefined);
    expect(client.status()).toMatchObject({ name: 'arkd', mode: 'real', breaker: { state: 'open' } });
    const calls = fake.faults.count('GET /v1/info');
    const refused = (await client.getInfo().catch((e: unknown) => e)) as BackendError;
    expect(refused.kind).toBe('circuit_open');
    expect(fake.faults.count('GET /v1/info')).toBe(calls);
    fake.faults.heal();
    clock.shift(60_000);
    expect(client.status().breaker.state).toBe('half_open');
    await client.probe();
    expect(client.status().breaker.state).toBe('closed');
  });

  it('an arkd that is not listening is unavailable (5004); reconnect() resets the breaker', async () => {
    const down = make({ address: 'http://127.0.0.1:1' });
    const error = (await down.getInfo().catch((e: unknown) => e)) as BackendError;
    expect(error.kind).toBe('unavailable');
    expect(error.toProtocolError().code).toBe(5004);
    for (let i = 0; i < 5; i++) await down.probe().catch(() => undefined);
    expect(down.status().breaker.state).toBe('open');
    await down.reconnect();
    expect(down.status().breaker.state).toBe('closed');
  });

  it('tells the subscriber when the transaction stream breaks', async () => {
    const errors: Error[] = [];
    const stop = client.subscribeTransactions(
      () => undefined,
      (e) => errors.push(e),
    );
    await new Promise((r) => setTimeout(r, 200));
    fake.dropStreams();
    await waitFor(() => errors.length > 0, 5_000);
    expect(errors[0]).toBeInstanceOf(BackendError);
    stop();
  });
});
