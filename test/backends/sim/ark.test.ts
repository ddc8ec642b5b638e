import { CSVMultisigTapscript, DefaultVtxo, Transaction, buildOffchainTx } from '@arkade-os/sdk';
import { schnorr } from '@noble/curves/secp256k1.js';
import { base64, hex } from '@scure/base';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type {
  ArkTxEvent,
  BuiltTransfer,
  TransferInput,
  TransferOutput,
} from '../../../src/backends/ark/ark-backend.ts';
import { addSignatures, sighashesFor } from '../../../src/backends/ark/psbt.ts';
import { ArkSimulator } from '../../../src/backends/ark/simulator.ts';
import type { TxOutput } from '../../../src/backends/sim/ark-outputs.ts';
import { BackendError } from '../../../src/backends/types.ts';
import {
  allocationCommitment,
  committedHash,
  opReturnScript,
} from '../../../src/domain/allocation-commitment.ts';
import { waitFor } from '../../support/wait.ts';
import { key, testWorld, walletSign, type TestKey, type TestWorld } from './support.ts';

const gateway = key(1);
const alice = key(2);
const bob = key(3);
const mallory = key(4);
const keys = new Map([gateway, alice, bob, mallory].map((k) => [k.pub, k]));

let t: TestWorld;
let ark: ArkSimulator;

beforeEach(() => {
  t = testWorld();
  ark = new ArkSimulator(t.world);
});
afterEach(() => t.dispose());

function signArk(built: BuiltTransfer, signers = keys): string {
  let psbt = built.arkPsbt;
  for (const slot of built.signatures.filter((s) => s.tx === 'ark')) {
    psbt = walletSign(psbt, signers.get(slot.pubkey)!, [slot.inputIndex]);
  }
  return psbt;
}

function signCheckpoints(built: BuiltTransfer, checkpoints: readonly string[], signers = keys): string[] {
  return checkpoints.map((psbt, i) => {
    const slot = built.signatures.find((s) => s.tx === 'checkpoint' && s.checkpoint === i)!;
    return walletSign(psbt, signers.get(slot.pubkey)!, [slot.inputIndex]);
  });
}

async function settle(inputs: TransferInput[], outputs: TransferOutput[]): Promise<BuiltTransfer> {
  const built = await ark.buildTransfer(inputs, outputs);
  const submitted = await ark.submitTx(signArk(built), built.checkpointPsbts);
  await ark.finalizeTx(submitted.arkTxid, signCheckpoints(built, submitted.signedCheckpointPsbts));
  return built;
}

async function expectRejected(
  promise: Promise<unknown>,
  kind: BackendError['kind'],
  message?: RegExp,
): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BackendError);
  expect((error as BackendError).kind).toBe(kind);
  if (message) expect((error as BackendError).message).toMatch(message);
}

/** Inventory of the gateway, then a lift-like transfer of `amount` sats from it to `to`. */
async function fund(to: TestKey, amount: bigint): Promise<TransferInput> {
  const batch = await ark.createInventoryBatch({
    ownerPubkey: gateway.pub,
    ownerSecretKey: gateway.priv,
    amounts: [amount],
  });
  const v = batch.vtxos[0]!;
  const built = await settle(
    [{ outpoint: v.outpoint, ownerPubkey: gateway.pub, amount }],
    [{ ownerPubkey: to.pub, amount }],
  );
  return { outpoint: { txid: built.arkTxid, vout: 0 }, ownerPubkey: to.pub, amount };
}

describe('Ark simulator', () => {
  it('publishes server info with its own key and a checkpoint script', async () => {
    const info = await ark.getInfo();
    expect(info.signerPubkey).toBe(t.world.keys.arkServer.xOnlyHex);
    expect(info.network).toBe('regtest');
    expect(info.dust).toBe(330n);
    expect(info.checkpointTapscript).toMatch(/^[0-9a-f]+$/);
    const script = await ark.vtxoScript(alice.pub);
    expect(script.pkScript).toMatch(/^5120[0-9a-f]{64}$/);
    expect(script.address).toMatch(/^tark1/);
  });

  it('creates inventory in a mined commitment and lists it by script and outpoint', async () => {
    const before = await ark.getChainTip();
    const batch = await ark.createInventoryBatch({
      ownerPubkey: gateway.pub,
      ownerSecretKey: gateway.priv,
      amounts: [1000n, 2000n, 3000n],
    });
    expect(batch.vtxos.map((v) => v.amount)).toEqual([1000n, 2000n, 3000n]);
    expect((await ark.getChainTip()).height).toBe(before.height + 1);
    expect(await ark.getCommitmentAnchor()).toEqual({
      txid: batch.commitmentTxid,
      blockHeight: before.height + 1,
    });
    const { pkScript } = await ark.vtxoScript(gateway.pub);
    expect(await ark.listVtxos({ scripts: [pkScript] })).toHaveLength(3);
    const [one] = await ark.listVtxos({ outpoints: [batch.vtxos[1]!.outpoint] });
    expect(one).toMatchObject({
      amount: 2000n,
      spent: false,
      preconfirmed: false,
      createdBy: batch.commitmentTxid,
    });
    const inventory = { ownerPubkey: gateway.pub, ownerSecretKey: gateway.priv };
    await expectRejected(ark.createInventoryBatch({ ...inventory, amounts: [100n] }), 'rejected');
    // The secret must be the owner key's: another key's secret, or no valid secret, is refused
    // before anything is created.
    const height = (await ark.getChainTip()).height;
    for (const ownerSecretKey of [alice.priv, new Uint8Array(32), new Uint8Array(31).fill(1)]) {
      await expectRejected(
        ark.createInventoryBatch({ ...inventory, ownerSecretKey, amounts: [1000n] }),
        'rejected',
      );
    }
    expect((await ark.getChainTip()).height).toBe(height);
  });

  it('settles a correctly signed transfer and its outputs are spendable', async () => {
    const events: ArkTxEvent[] = [];
    const stop = ark.subscribeTransactions((e) => events.push(e));
    const input = await fund(alice, 10_000n);
    const started = performance.now();
    const built = await settle(
      [input],
      [
        { ownerPubkey: bob.pub, amount: 6_000n },
        { ownerPubkey: alice.pub, amount: 4_000n },
      ],
    );
    const ms = performance.now() - started;
    const bobScript = (await ark.vtxoScript(bob.pub)).pkScript;
    const [bobs] = await ark.listVtxos({ scripts: [bobScript], spendableOnly: true });
    expect(bobs).toMatchObject({
      outpoint: { txid: built.arkTxid, vout: 0 },
      amount: 6_000n,
      preconfirmed: true,
    });
    const [spent] = await ark.listVtxos({ outpoints: [input.outpoint] });
    expect(spent).toMatchObject({ spent: true, spentBy: built.arkTxid });
    // Bob spends what he received: the output is a real, spendable VTXO.
    const onward = await settle(
      [{ outpoint: bobs!.outpoint, ownerPubkey: bob.pub, amount: 6_000n }],
      [{ ownerPubkey: mallory.pub, amount: 6_000n }],
    );
    expect((await ark.listVtxos({ outpoints: [{ txid: onward.arkTxid, vout: 0 }] }))[0]?.spent).toBe(false);
    await waitFor(() => events.some((e) => e.txid === built.arkTxid), 2_000, 'the ark_tx event');
    const event = events.find((e) => e.txid === built.arkTxid)!;
    expect(event.type).toBe('ark_tx');
    expect(event.spent).toEqual([input.outpoint]);
    expect(event.created.map((v) => v.amount)).toEqual([6_000n, 4_000n]);
    stop();
    console.log(`one transfer built, signed, submitted and finalized in ${ms.toFixed(1)} ms`);
  });

  it('accepts signatures a wallet makes over the digests the gateway recomputes', async () => {
    const input = await fund(alice, 5_000n);
    const built = await ark.buildTransfer([input], [{ ownerPubkey: bob.pub, amount: 5_000n }]);
    const tx = Transaction.fromPSBT(base64.decode(built.arkPsbt));
    const digests = sighashesFor(tx, alice.pub);
    expect(digests.map((d) => d.inputIndex)).toEqual([0]);
    addSignatures(
      tx,
      alice.pub,
      digests.map((d) => ({
        inputIndex: d.inputIndex,
        sig: hex.encode(schnorr.sign(hex.decode(d.digest), alice.priv)),
      })),
    );
    const submitted = await ark.submitTx(base64.encode(tx.toPSBT()), built.checkpointPsbts);
    expect(submitted.arkTxid).toBe(built.arkTxid);
  });

  it('rejects an Ark tx signed by the wrong key and locks nothing', async () => {
    const input = await fund(alice, 5_000n);
    const built = await ark.buildTransfer([input], [{ ownerPubkey: mallory.pub, amount: 5_000n }]);
    // Mallory signs the right digest and files it under Alice's key.
    const tx = Transaction.fromPSBT(base64.decode(built.arkPsbt));
    const [digest] = sighashesFor(tx, alice.pub);
    addSignatures(tx, alice.pub, [
      { inputIndex: 0, sig: hex.encode(schnorr.sign(hex.decode(digest!.digest), mallory.priv)) },
    ]);
    await expectRejected(
      ark.submitTx(base64.encode(tx.toPSBT()), built.checkpointPsbts),
      'invalid_signature',
    );
    // Unsigned is refused as well.
    await expectRejected(ark.submitTx(built.arkPsbt, built.checkpointPsbts), 'invalid_signature');
    // Nothing was locked: Alice's own transfer still goes through.
    await settle([input], [{ ownerPubkey: bob.pub, amount: 5_000n }]);
  });

  it('rejects a signed Ark tx whose outputs were changed afterwards', async () => {
    const input = await fund(alice, 5_000n);
    const approved = await ark.buildTransfer([input], [{ ownerPubkey: bob.pub, amount: 5_000n }]);
    const signature = Transaction.fromPSBT(base64.decode(signArk(approved))).getInput(0).tapScriptSig!;
    // The same input and signature, but the outputs now pay Mallory (all, or a part).
    for (const outputs of [
      [{ ownerPubkey: mallory.pub, amount: 5_000n }],
      [
        { ownerPubkey: bob.pub, amount: 1_000n },
        { ownerPubkey: mallory.pub, amount: 4_000n },
      ],
    ]) {
      const tampered = await ark.buildTransfer([input], outputs);
      const tx = Transaction.fromPSBT(base64.decode(tampered.arkPsbt));
      tx.updateInput(0, { tapScriptSig: signature });
      await expectRejected(
        ark.submitTx(base64.encode(tx.toPSBT()), tampered.checkpointPsbts),
        'invalid_signature',
      );
    }
    // The checkpoints must be the ones of this tx too.
    const other = await fund(alice, 5_000n);
    const elsewhere = await ark.buildTransfer([other], [{ ownerPubkey: bob.pub, amount: 5_000n }]);
    await expectRejected(ark.submitTx(signArk(approved), elsewhere.checkpointPsbts), 'rejected');
  });

  it('rejects a double spend, pending or finalized', async () => {
    const input = await fund(alice, 5_000n);
    const toBob = await ark.buildTransfer([input], [{ ownerPubkey: bob.pub, amount: 5_000n }]);
    const toMallory = await ark.buildTransfer([input], [{ ownerPubkey: mallory.pub, amount: 5_000n }]);
    const submitted = await ark.submitTx(signArk(toBob), toBob.checkpointPsbts);
    await expectRejected(ark.submitTx(signArk(toMallory), toMallory.checkpointPsbts), 'already_spent');
    await ark.finalizeTx(submitted.arkTxid, signCheckpoints(toBob, submitted.signedCheckpointPsbts));
    await expectRejected(ark.submitTx(signArk(toMallory), toMallory.checkpointPsbts), 'already_spent');
    await expectRejected(
      ark.buildTransfer([input], [{ ownerPubkey: mallory.pub, amount: 5_000n }]),
      'already_spent',
    );
  });

  it('many concurrent submits of one VTXO: exactly one wins', async () => {
    const input = await fund(alice, 5_000n);
    const recipients = Array.from({ length: 10 }, (_, i) => key(20 + i));
    const built = await Promise.all(
      recipients.map((r) => ark.buildTransfer([input], [{ ownerPubkey: r.pub, amount: 5_000n }])),
    );
    const results = await Promise.allSettled(built.map((b) => ark.submitTx(signArk(b), b.checkpointPsbts)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });

  it('finalizes only with every owner checkpoint signature', async () => {
    const input = await fund(alice, 5_000n);
    const built = await ark.buildTransfer([input], [{ ownerPubkey: bob.pub, amount: 5_000n }]);
    const submitted = await ark.submitTx(signArk(built), built.checkpointPsbts);
    await expectRejected(
      ark.finalizeTx(submitted.arkTxid, submitted.signedCheckpointPsbts),
      'invalid_signature',
    );
    const byMallory = submitted.signedCheckpointPsbts.map((p) => {
      const tx = Transaction.fromPSBT(base64.decode(p));
      const [d] = sighashesFor(tx, alice.pub);
      addSignatures(tx, alice.pub, [
        { inputIndex: 0, sig: hex.encode(schnorr.sign(hex.decode(d!.digest), mallory.priv)) },
      ]);
      return base64.encode(tx.toPSBT());
    });
    await expectRejected(ark.finalizeTx(submitted.arkTxid, byMallory), 'invalid_signature');
    expect((await ark.listVtxos({ outpoints: [input.outpoint] }))[0]?.spent).toBe(false);
    await ark.finalizeTx(submitted.arkTxid, signCheckpoints(built, submitted.signedCheckpointPsbts));
    // Idempotent: a second finalize after a lost reply changes nothing.
    await ark.finalizeTx(submitted.arkTxid, signCheckpoints(built, submitted.signedCheckpointPsbts));
    expect(await ark.listVtxos({ outpoints: [{ txid: built.arkTxid, vout: 0 }] })).toHaveLength(1);
  });

  it('keeps a submitted tx recoverable across a restart', async () => {
    const input = await fund(alice, 5_000n);
    const built = await ark.buildTransfer([input], [{ ownerPubkey: bob.pub, amount: 5_000n }]);
    const submitted = await ark.submitTx(signArk(built), built.checkpointPsbts);
    // Crash before the reply was stored: a new process finds the tx again.
    ark = new ArkSimulator(t.reopen());
    expect(await ark.getPendingTx('00'.repeat(32), [input.outpoint])).toMatchObject({
      state: 'pending',
      arkTxid: built.arkTxid,
    });
    const pending = await ark.getPendingTx(built.arkTxid, []);
    expect(pending).toEqual({ state: 'pending', ...submitted });
    if (pending.state !== 'pending') throw new Error('unreachable');
    await ark.finalizeTx(built.arkTxid, signCheckpoints(built, pending.signedCheckpointPsbts));
    expect(await ark.getPendingTx(built.arkTxid, [])).toEqual({ state: 'finalized', arkTxid: built.arkTxid });
    expect(await ark.getPendingTx('11'.repeat(32), [])).toEqual({ state: 'unknown' });
  });

  it('refuses transfers that do not balance or go below dust', async () => {
    const input = await fund(alice, 5_000n);
    await expectRejected(ark.buildTransfer([input], [{ ownerPubkey: bob.pub, amount: 4_000n }]), 'rejected');
    await expectRejected(
      ark.buildTransfer(
        [input],
        [
          { ownerPubkey: bob.pub, amount: 4_900n },
          { ownerPubkey: alice.pub, amount: 100n },
        ],
      ),
      'rejected',
    );
    await expectRejected(
      ark.buildTransfer([{ ...input, ownerPubkey: bob.pub }], [{ ownerPubkey: bob.pub, amount: 5_000n }]),
      'rejected',
    );
    await expectRejected(
      ark.buildTransfer(
        [{ ...input, outpoint: { txid: 'ab'.repeat(32), vout: 0 } }],
        [{ ownerPubkey: bob.pub, amount: 5_000n }],
      ),
      'not_found',
    );
  });
});

const ANCHOR = '51024e73';
const opReturn = (text: string): Uint8Array => opReturnScript(new TextEncoder().encode(text));
const p2tr = async (owner: TestKey): Promise<Uint8Array> =>
  hex.decode((await ark.vtxoScript(owner.pub)).pkScript);

/**
 * An Ark tx over `input` built by a client of its own (the SDK's builder, which appends the
 * anchor), its outputs edited afterwards by `edit`, signed by the input's owner.
 */
async function craft(input: TransferInput, outputs: TxOutput[], edit?: (tx: Transaction) => void) {
  const info = await ark.getInfo();
  const script = new DefaultVtxo.Script({
    pubKey: hex.decode(input.ownerPubkey),
    serverPubKey: hex.decode(info.signerPubkey),
    csvTimelock: info.unilateralExitDelay,
  });
  const { arkTx, checkpoints } = buildOffchainTx(
    [
      {
        ...input.outpoint,
        value: Number(input.amount),
        tapLeafScript: script.forfeit(),
        tapTree: script.encode(),
      },
    ],
    outputs,
    CSVMultisigTapscript.decode(hex.decode(info.checkpointTapscript)),
  );
  edit?.(arkTx);
  return {
    arkPsbt: walletSign(base64.encode(arkTx.toPSBT()), keys.get(input.ownerPubkey)!, [0]),
    checkpointPsbts: checkpoints.map((c) => base64.encode(c.toPSBT())),
  };
}

describe('Ark simulator: OP_RETURN outputs (the allocation commitment)', () => {
  it('reports the OP_RETURN limit of arkd', async () => {
    expect((await ark.getInfo()).maxOpReturnOutputs).toBe(3);
  });

  it('carries the commitment as a zero-value output that never becomes a VTXO', async () => {
    const events: ArkTxEvent[] = [];
    const stop = ark.subscribeTransactions((e) => events.push(e));
    const input = await fund(alice, 10_000n);
    const outputs = [
      { ownerPubkey: bob.pub, amount: 6_000n },
      { ownerPubkey: alice.pub, amount: 4_000n },
    ];
    const commitment = allocationCommitment(
      ['action-1'],
      outputs.map((o, vout) => ({ vout, owner: o.ownerPubkey, assetId: 'a'.repeat(64), amount: o.amount })),
    );
    const built = await ark.buildTransfer([input], outputs, { opReturn: commitment.data });
    expect(built.opReturnVout).toBe(2);
    expect(built.outputs.map((o) => o.vout)).toEqual([0, 1]);
    const tx = Transaction.fromPSBT(base64.decode(built.arkPsbt));
    expect(tx.outputsLength).toBe(4);
    expect(tx.getOutput(2)).toMatchObject({ amount: 0n, script: opReturnScript(commitment.data) });
    expect(committedHash(tx.getOutput(2).script!)).toBe(commitment.hash);
    expect(hex.encode(tx.getOutput(3).script!)).toBe(ANCHOR);

    const submitted = await ark.submitTx(signArk(built), built.checkpointPsbts);
    // Held by the pending tx: still unspent, named as pendingBy, not spendable.
    expect((await ark.listVtxos({ outpoints: [input.outpoint] }))[0]).toMatchObject({
      spent: false,
      pendingBy: built.arkTxid,
    });
    expect(await ark.listVtxos({ outpoints: [input.outpoint], spendableOnly: true })).toEqual([]);
    const final = Transaction.fromPSBT(base64.decode(submitted.finalArkPsbt));
    expect(final.getOutput(2)).toMatchObject({ amount: 0n, script: opReturnScript(commitment.data) });

    await ark.finalizeTx(submitted.arkTxid, signCheckpoints(built, submitted.signedCheckpointPsbts));
    const [spent] = await ark.listVtxos({ outpoints: [input.outpoint] });
    expect(spent).toMatchObject({ spent: true, spentBy: built.arkTxid });
    expect(spent!.pendingBy).toBeUndefined();
    const created = await ark.listVtxos({
      outpoints: [0, 1, 2, 3].map((vout) => ({ txid: built.arkTxid, vout })),
    });
    expect(created.map((v) => [v.outpoint.vout, v.amount])).toEqual([
      [0, 6_000n],
      [1, 4_000n],
    ]);
    expect(await ark.listVtxos({ scripts: [hex.encode(opReturnScript(commitment.data))] })).toEqual([]);
    await waitFor(() => events.find((e) => e.txid === built.arkTxid), 2_000, 'the ark_tx event');
    const event = events.find((e) => e.txid === built.arkTxid)!;
    expect(event.created.map((v) => v.outpoint.vout)).toEqual([0, 1]);
    stop();
  });

  it('refuses OP_RETURN data it cannot carry as a plain zero-value output', async () => {
    const input = await fund(alice, 5_000n);
    const toBob = [{ ownerPubkey: bob.pub, amount: 5_000n }];
    const ark3 = new TextEncoder().encode('ARK-not-ours');
    await expectRejected(ark.buildTransfer([input], toBob, { opReturn: ark3 }), 'rejected', /extension/);
    await expectRejected(
      ark.buildTransfer([input], toBob, { opReturn: new Uint8Array(32).fill(7) }),
      'rejected',
      /sub-dust/,
    );
    await expectRejected(ark.buildTransfer([input], toBob, { opReturn: new Uint8Array(0) }), 'rejected');
    await expectRejected(ark.buildTransfer([input], toBob, { opReturn: new Uint8Array(76) }), 'rejected');
  });

  it("SubmitTx judges a client's own Ark tx by arkd's output rules, and locks nothing when it refuses", async () => {
    const input = await fund(alice, 5_000n);
    const bobScript = await p2tr(bob);
    const anchor = { script: hex.decode(ANCHOR), amount: 0n };
    const refusals: [string, TxOutput[], ((tx: Transaction) => void) | undefined, RegExp][] = [
      [
        'a non-zero OP_RETURN',
        [
          { script: bobScript, amount: 4_000n },
          { script: opReturn('paid'), amount: 1_000n },
        ],
        undefined,
        /OP_RETURN output 1 has non-zero value \(1000\)/,
      ],
      [
        'more OP_RETURN outputs than allowed',
        [
          { script: bobScript, amount: 5_000n },
          { script: opReturn('one'), amount: 0n },
          { script: opReturn('two'), amount: 0n },
        ],
        (tx) => {
          tx.addOutput({ script: opReturn('three'), amount: 0n });
          tx.addOutput({ script: opReturn('four'), amount: 0n });
        },
        /tx has 4 OP_RETURN outputs, max 3 are allowed/,
      ],
      [
        'an arkd extension',
        [
          { script: bobScript, amount: 5_000n },
          { script: opReturn('ARK packet'), amount: 0n },
        ],
        undefined,
        /extension/,
      ],
      [
        'a sub-dust VTXO',
        [
          { script: bobScript, amount: 4_900n },
          { script: opReturnScript(new Uint8Array(32).fill(1)), amount: 100n },
        ],
        undefined,
        /sub-dust/,
      ],
      [
        'an output below dust',
        [
          { script: bobScript, amount: 4_900n },
          { script: await p2tr(alice), amount: 100n },
        ],
        undefined,
        /below dust/,
      ],
      [
        'a non-taproot output',
        [{ script: hex.decode(`0014${'11'.repeat(20)}`), amount: 5_000n }],
        undefined,
        /not a taproot output/,
      ],
      ['two anchors', [{ script: bobScript, amount: 5_000n }, anchor], undefined, /several anchor outputs/],
      [
        'no anchor',
        [{ script: bobScript, amount: 5_000n }],
        (tx) => tx.updateOutput(1, { script: opReturn('was the anchor') }),
        /no anchor output/,
      ],
    ];
    for (const [what, outputs, edit, message] of refusals) {
      const tx = await craft(input, outputs, edit);
      await expectRejected(ark.submitTx(tx.arkPsbt, tx.checkpointPsbts), 'rejected', message).catch(
        (error: unknown) => {
          throw new Error(`${what}: ${(error as Error).message}`);
        },
      );
    }
    // The limit itself is accepted: three OP_RETURN outputs (placed before the anchor, as the
    // server builds it), and none of them becomes a VTXO.
    const three = await craft(
      input,
      [{ script: bobScript, amount: 5_000n }, { script: opReturn('one'), amount: 0n }, anchor, anchor],
      (tx) => {
        tx.updateOutput(2, { script: opReturn('two') });
        tx.updateOutput(3, { script: opReturn('three') });
      },
    );
    const submitted = await ark.submitTx(three.arkPsbt, three.checkpointPsbts);
    await ark.finalizeTx(
      submitted.arkTxid,
      submitted.signedCheckpointPsbts.map((c) => walletSign(c, alice, [0])),
    );
    const created = await ark.listVtxos({
      outpoints: [0, 1, 2, 3, 4].map((vout) => ({ txid: submitted.arkTxid, vout })),
    });
    expect(created.map((v) => v.outpoint.vout)).toEqual([0]);
  });
});
