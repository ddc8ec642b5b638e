// The wallet's one-step (v1.1) challenge verifier against real PSBTs of the simulated Ark server:
// the honest challenge is accepted and its signatures — Ark tx and checkpoints at once — are what
// the gateway's own sighashes and the server accept; every lie the gateway could tell is refused
// (recipient, amounts, outputs, digests, payload_ref, inputs, checkpoints, signature slots, and the
// allocation commitment).
import { createHash } from 'node:crypto';
import { schnorr } from '@noble/curves/secp256k1.js';
import { hex } from '@scure/base';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BuiltTransfer } from '../../src/backends/ark/ark-backend.ts';
import { addSignatures, encodePsbt, parsePsbt } from '../../src/backends/ark/psbt.ts';
import { opReturnScript, type AllocationCommitment } from '../../src/domain/allocation-commitment.ts';
import { parseChallenge, type Challenge } from '../../src/wallet/challenge.ts';
import {
  approvedIntent,
  buildIntent,
  intentFee,
  splitParams,
  transferParams,
} from '../../src/wallet/intents.ts';
import {
  verifyChallenge,
  type KnownVtxo,
  type Signable,
  type Verdict,
  type VerifyEnv,
} from '../../src/wallet/verify/verifier.ts';
import {
  alice,
  aliceWallet,
  bob,
  buildTx,
  challengeJson,
  commitmentOf,
  fund,
  gateway,
  gatewaySighashes,
  mallory,
  outpoint,
  outputsFor,
  startSim,
  withPsbts,
  type ChallengeSpec,
  type CtxInput,
  type CtxOutput,
  type Sim,
} from './fixtures.ts';

let sim: Sim;
let v1: string; // alice's VTXO: 1000 gBTC in 2000 sats
let known: Map<string, KnownVtxo>;

beforeEach(async () => {
  sim = startSim();
  v1 = await fund(sim, alice, 2000n);
  known = new Map([[v1, { vtxoId: v1, assetId: 'gBTC', amount: 1000n, sats: 2000n }]]);
});
afterEach(() => sim.dispose());

const transfer = () =>
  buildIntent(
    {
      type: 'transfer:p2p',
      params: transferParams({ recipient: bob.pub, assetId: 'gBTC', amount: 600n }),
      fee: intentFee(),
      actionId: 'pay-bob',
    },
    gateway.pub,
    aliceWallet,
  );

const aliceInput = (): CtxInput => ({
  vtxo_id: v1,
  owner: alice.pub,
  asset_id: 'gBTC',
  amount: 1000n,
  sats: 2000n,
});
// 600 to Bob, 390 change, 10 fee; sats 1000 + 660 + 340 = 2000.
const honestOutputs = (): CtxOutput[] => [
  { owner: bob.pub, asset_id: 'gBTC', amount: 600n, sats: 1000n, role: 'recipient' },
  { owner: alice.pub, asset_id: 'gBTC', amount: 390n, sats: 660n, role: 'change' },
  { owner: gateway.pub, asset_id: 'gBTC', amount: 10n, sats: 340n, role: 'fee' },
];

function env(intent = transfer(), extra: Partial<VerifyEnv> = {}): VerifyEnv {
  return {
    me: alice.pub,
    gateway: gateway.pub,
    intent: approvedIntent(intent),
    intentEventId: intent.event.id,
    knownVtxo: (id) => known.get(id),
    now: Math.floor(Date.now() / 1000),
    ...extra,
  };
}

const spec = (
  inputs: CtxInput[],
  outputs: CtxOutput[],
  extra: Partial<ChallengeSpec> = {},
): ChallengeSpec => ({ intentActionId: 'pay-bob', server: sim.server, inputs, outputs, ...extra });

/** The Ark tx with the honest commitment of `psbtOutputs` (or the one given, or none). */
const build = (
  inputs: CtxInput[],
  psbtOutputs: CtxOutput[],
  commitment?: AllocationCommitment | null,
  actionId = 'pay-bob',
): Promise<BuiltTransfer> => buildTx(sim, inputs, psbtOutputs, actionId, commitment);

const parse = (json: Record<string, unknown>): Challenge => parseChallenge(JSON.stringify(json));
const verify = (json: Record<string, unknown>, e: VerifyEnv = env()) => verifyChallenge(parse(json), e);

async function honestChallenge(): Promise<{ built: BuiltTransfer; json: Record<string, unknown> }> {
  const built = await build([aliceInput()], honestOutputs());
  return { built, json: challengeJson(built, spec([aliceInput()], honestOutputs())) };
}

function refused(verdict: Verdict): string {
  expect(verdict.ok).toBe(false);
  return verdict.ok ? '' : verdict.reason;
}

/** The wallet's signatures for one PSBT, attached the way the gateway does. */
function attach(psbt: string, slots: readonly Signable[]): string {
  const tx = parsePsbt(psbt);
  addSignatures(
    tx,
    alice.pub,
    slots.map((s) => ({ inputIndex: s.inputIndex, sig: aliceWallet.signDigest(s.digest) })),
  );
  return encodePsbt(tx);
}

/** A PSBT with one more output (the tx changes; the wallet must notice). */
function plusOutput(psbt: string, script: Uint8Array, amount: bigint): string {
  const tx = parsePsbt(psbt);
  tx.addOutput({ script, amount });
  return encodePsbt(tx);
}

/** A commitment whose OP_RETURN matches its preimage text, whatever that text is. */
function commitmentOfText(preimage: string, vout = 3): AllocationCommitment {
  const hash = createHash('sha256').update(preimage, 'utf8').digest();
  const data = new Uint8Array([...new TextEncoder().encode('arkrelay'), 1, ...hash]);
  return { vout, hash: hash.toString('hex'), preimage, data };
}

const wire = (c: AllocationCommitment) => ({ vout: c.vout, hash: c.hash, preimage: c.preimage });

describe('wallet challenge verifier: the honest challenge', () => {
  it('signs the Ark tx and its checkpoint at once; the gateway and the Ark server accept them', async () => {
    const { built, json } = await honestChallenge();
    // The Ark tx carries the commitment right after the VTXO outputs, then the anchor.
    const arkTx = parsePsbt(built.arkPsbt);
    expect(arkTx.outputsLength).toBe(5);
    expect(hex.encode(arkTx.getOutput(3).script!)).toMatch(/^6a29/);

    const verdict = verify(json);
    expect(verdict.ok).toBe(true);
    if (!verdict.ok) return;
    expect(verdict.toSign.map((s) => [s.psbtIndex, s.inputIndex])).toEqual([
      [0, 0],
      [1, 0],
    ]);
    // Each signature verifies (BIP-340) against the digest the gateway computes itself.
    const theirs = gatewaySighashes(json.psbts as string[], [aliceInput()], alice.pub);
    for (const slot of verdict.toSign) {
      const digest = theirs.find((s) => s.psbt_index === slot.psbtIndex && s.input_index === slot.inputIndex);
      const sig = aliceWallet.signDigest(slot.digest);
      expect(schnorr.verify(hex.decode(sig), hex.decode(digest!.digest), hex.decode(alice.pub))).toBe(true);
    }

    // The checkpoint signature, made before the server signed, is valid on the server-signed one.
    const arkSigned = attach(
      built.arkPsbt,
      verdict.toSign.filter((s) => s.psbtIndex === 0),
    );
    const submitted = await sim.ark.submitTx(arkSigned, built.checkpointPsbts);
    const checkpoints = submitted.signedCheckpointPsbts.map((psbt, i) =>
      attach(
        psbt,
        verdict.toSign.filter((s) => s.psbtIndex === 1 + i),
      ),
    );
    await sim.ark.finalizeTx(submitted.arkTxid, checkpoints);
    const [bobs] = await sim.ark.listVtxos({ outpoints: [{ txid: built.arkTxid, vout: 0 }] });
    expect(bobs?.spent).toBe(false);
    expect(bobs?.amount).toBe(1000n);
  });

  it('signs only its own slots in a tx with a gateway inventory input, and refuses to sign the gateway’s', async () => {
    const batch = await sim.ark.createInventoryBatch({
      ownerPubkey: gateway.pub,
      ownerSecretKey: gateway.priv,
      amounts: [1000n],
    });
    const g1 = batch.vtxos[0]!;
    const inventory: CtxInput = {
      vtxo_id: `${g1.outpoint.txid}:${g1.outpoint.vout}`,
      owner: gateway.pub,
      asset_id: 'gBTC',
      amount: 0n,
      sats: 1000n,
    };
    const inputs = [aliceInput(), inventory];
    const outputs: CtxOutput[] = [
      ...honestOutputs(),
      { owner: gateway.pub, asset_id: 'gBTC', amount: 0n, sats: 1000n, role: 'inventory' },
    ];
    const built = await build(inputs, outputs);
    const json = challengeJson(built, spec(inputs, outputs));
    const verdict = verify(json);
    expect(verdict.ok).toBe(true);
    expect(verdict.ok && verdict.toSign.map((s) => [s.psbtIndex, s.inputIndex])).toEqual([
      [0, 0],
      [1, 0],
    ]);

    // The gateway's own slots slipped into the wallet's list: Ark input 1, then checkpoint 1.
    const gatewaySlots = gatewaySighashes(json.psbts as string[], inputs, gateway.pub);
    const withArkSlot = { ...json, sighashes: [...(json.sighashes as object[]), gatewaySlots[0]] };
    expect(refused(verify(withArkSlot))).toMatch(/Ark-tx input 1 is not this wallet’s to sign/);
    const withCheckpointSlot = { ...json, sighashes: [...(json.sighashes as object[]), gatewaySlots[1]] };
    expect(refused(verify(withCheckpointSlot))).toMatch(/checkpoint 1 input 0 is not this wallet’s to sign/);
  });

  it('accepts a commitment that also names the other intents of its transaction', async () => {
    const both = commitmentOf(['other-leg', 'pay-bob'], honestOutputs());
    const built = await build([aliceInput()], honestOutputs(), both);
    expect(
      verify(challengeJson(built, spec([aliceInput()], honestOutputs(), { commitment: wire(both) }))).ok,
    ).toBe(true);
  });
});

describe('wallet challenge verifier: the Ark tx', () => {
  it('refuses a PSBT paying someone else than the context says', async () => {
    const toMallory = honestOutputs().map((o, i) => (i === 0 ? { ...o, owner: mallory.pub } : o));
    const built = await build([aliceInput()], toMallory, commitmentOf(['pay-bob'], honestOutputs()));
    expect(refused(verify(challengeJson(built, spec([aliceInput()], honestOutputs()))))).toMatch(
      /output 0 is not locked to/,
    );
    // Telling the truth about it does not help: Mallory is not the intent's recipient.
    const honestAboutIt = await build([aliceInput()], toMallory);
    expect(refused(verify(challengeJson(honestAboutIt, spec([aliceInput()], toMallory))))).toMatch(
      /stranger/,
    );
  });

  it('refuses amounts other than the intent asked', async () => {
    const less = honestOutputs();
    less[0] = { ...less[0]!, amount: 500n };
    less[1] = { ...less[1]!, amount: 490n };
    const built = await build([aliceInput()], less);
    expect(refused(verify(challengeJson(built, spec([aliceInput()], less))))).toMatch(/would change by/);
    // A higher fee, taken from the change.
    const fee = honestOutputs();
    fee[1] = { ...fee[1]!, amount: 380n };
    fee[2] = { ...fee[2]!, amount: 20n };
    const feeBuilt = await build([aliceInput()], fee);
    expect(refused(verify(challengeJson(feeBuilt, spec([aliceInput()], fee))))).toMatch(/would change by/);
    // Sats in the PSBT other than the context states.
    const sats = honestOutputs();
    sats[0] = { ...sats[0]!, sats: 900n };
    sats[1] = { ...sats[1]!, sats: 760n };
    const other = await build([aliceInput()], sats);
    expect(refused(verify(challengeJson(other, spec([aliceInput()], honestOutputs()))))).toMatch(
      /carries 900 sats/,
    );
  });

  it('refuses an output the context does not list', async () => {
    const extra: CtxOutput[] = [
      ...honestOutputs().map((o, i) => (i === 1 ? { ...o, sats: 330n } : o)),
      { owner: mallory.pub, asset_id: 'gBTC', amount: 0n, sats: 330n, role: 'change' },
    ];
    // The commitment of all four, at vout 4: only the context leaves Mallory's output out.
    const all = commitmentOf(['pay-bob'], extra);
    const built = await build([aliceInput()], extra, all);
    const listed = extra.slice(0, 3);
    expect(
      refused(verify(challengeJson(built, spec([aliceInput()], listed, { commitment: wire(all) })))),
    ).toMatch(/output 3 is not in the context/);

    // A second zero-value OP_RETURN after the anchor, the rest honest.
    const { built: honest, json } = await honestChallenge();
    const arkPsbt = plusOutput(honest.arkPsbt, opReturnScript(new Uint8Array(8).fill(1)), 0n);
    const psbts = [arkPsbt, ...honest.checkpointPsbts];
    const lying = withPsbts(json, psbts, [aliceInput()]);
    const ctx = { ...(lying.context as object), ark_txid: parsePsbt(arkPsbt).id };
    expect(refused(verify({ ...lying, context: ctx }))).toMatch(/output 5 is not in the context/);
  });

  it('refuses a digest that is not the PSBT sighash, and a wrong payload_ref', async () => {
    const { json } = await honestChallenge();
    const sighashes = json.sighashes as { psbt_index: number; input_index: number; digest: string }[];
    // The digest of another tx the gateway would like signed instead.
    const toMallory = [{ ...honestOutputs()[0]!, owner: mallory.pub, sats: 2000n }];
    const other = challengeJson(await build([aliceInput()], toMallory), spec([aliceInput()], toMallory));
    const otherDigest = (other.sighashes as typeof sighashes)[0]!.digest;
    const wrongDigest = { ...json, sighashes: [{ ...sighashes[0]!, digest: otherDigest }, sighashes[1]] };
    expect(refused(verify(wrongDigest))).toMatch(/digest given for Ark-tx input 0 is not the sighash/);
    // (A checkpoint of the same VTXO is the same tx whatever the Ark tx pays: its digest would be
    // right. The Ark tx's digest in the checkpoint's slot is not.)
    const wrongCheckpointDigest = {
      ...json,
      sighashes: [sighashes[0], { ...sighashes[1]!, digest: sighashes[0]!.digest }],
    };
    expect(refused(verify(wrongCheckpointDigest))).toMatch(/digest given for checkpoint 0 input 0/);

    const wrongRef = { ...json, payload_ref: hex.encode(new Uint8Array(32).fill(7)) };
    expect(refused(verify(wrongRef))).toMatch(/payload_ref is not the hash of the PSBTs/);
    // v1.0's payload_ref (the Ark tx alone) is wrong too: it leaves the checkpoints unbound.
    const arkOnly = createHash('sha256')
      .update((json.psbts as string[])[0]!)
      .digest('hex');
    expect(refused(verify({ ...json, payload_ref: arkOnly }))).toMatch(/payload_ref/);
  });

  it('never signs with a tampered PSBT even when the context matches it', async () => {
    // The Ark tx's bytes changed after payload_ref was computed (an output amount edited).
    const { built, json } = await honestChallenge();
    const tx = parsePsbt(built.arkPsbt);
    tx.updateOutput(0, { amount: 999n });
    const tampered = { ...json, psbts: [encodePsbt(tx), ...built.checkpointPsbts] };
    expect(refused(verify(tampered))).toMatch(/payload_ref/);
  });

  it('refuses inputs it does not know or does not own listed as its own', async () => {
    // A VTXO of Alice's key the wallet does not know about (not synced, not expected).
    const v2 = await fund(sim, alice, 2000n);
    const unknown = { ...aliceInput(), vtxo_id: v2 };
    const built = await build([unknown], honestOutputs());
    expect(refused(verify(challengeJson(built, spec([unknown], honestOutputs()))))).toMatch(
      /not a VTXO this wallet knows/,
    );
    // A known VTXO with another amount than the wallet holds.
    const honest = await build([aliceInput()], honestOutputs());
    expect(
      refused(verify(challengeJson(honest, spec([{ ...aliceInput(), amount: 2000n }], honestOutputs())))),
    ).toMatch(/holds 1000 gBTC/);
    // Mallory's VTXO listed as Alice's (even one the wallet was told about): its leaf is not Alice's.
    const m1 = await fund(sim, mallory, 2000n);
    known.set(m1, { vtxoId: m1, assetId: 'gBTC', amount: 500n });
    const stolen = { vtxo_id: m1, owner: alice.pub, asset_id: 'gBTC', amount: 500n, sats: 2000n };
    const outputs = [
      ...honestOutputs(),
      { owner: alice.pub, asset_id: 'gBTC', amount: 500n, sats: 2000n, role: 'change' },
    ];
    const twoInputs = await sim.ark.buildTransfer(
      [
        { outpoint: outpoint(v1), ownerPubkey: alice.pub, amount: 2000n },
        { outpoint: outpoint(m1), ownerPubkey: mallory.pub, amount: 2000n },
      ],
      outputsFor(outputs),
      { opReturn: commitmentOf(['pay-bob'], outputs).data },
    );
    expect(refused(verify(challengeJson(twoInputs, spec([aliceInput(), stolen], outputs))))).toMatch(
      /input 1 does not spend this wallet's forfeit leaf/,
    );
  });

  it('refuses a challenge for an intent it never approved, from another intent event, or of v1.0', async () => {
    const { json } = await honestChallenge();
    expect(refused(verify(json, env(transfer(), { intent: undefined })))).toMatch(/no approved intent/);
    expect(refused(verify(json, env(transfer(), { intentEventId: 'ab'.repeat(32) })))).toMatch(
      /another intent event/,
    );
    expect(refused(verify(json, env(transfer(), { serverPubkey: mallory.pub })))).toMatch(/pinned/);
    expect(refused(verify({ ...json, step_total: 2 }))).toMatch(/one step/);
    // The v1.0 shapes are not even read.
    expect(() => parse({ ...json, type: 'sign_checkpoint_txs' })).toThrow(/sign_ark_tx/);
    expect(() => parse({ ...json, psbt: (json.psbts as string[])[0] })).toThrow(/psbt/);
    const { commitment: _dropped, ...noCommitment } = json.context as Record<string, unknown>;
    expect(() => parse({ ...json, context: noCommitment })).toThrow(/commitment/);
    const noIndex = (json.sighashes as Record<string, unknown>[]).map(
      ({ psbt_index: _i, ...rest }: Record<string, unknown>) => rest,
    );
    expect(() => parse({ ...json, sighashes: noIndex })).toThrow(/psbt_index/);
  });

  it('checks a split: outputs to itself with exactly the amounts, only the fee leaves', async () => {
    const split = buildIntent(
      {
        type: 'vtxo:split',
        params: splitParams({ vtxoId: v1, amounts: [400n, 590n] }),
        fee: intentFee(),
        actionId: 'split',
      },
      gateway.pub,
      aliceWallet,
    );
    const outputs = (a: bigint, b: bigint): CtxOutput[] => [
      { owner: alice.pub, asset_id: 'gBTC', amount: a, sats: 1000n, role: 'split' },
      { owner: alice.pub, asset_id: 'gBTC', amount: b, sats: 660n, role: 'split' },
      { owner: gateway.pub, asset_id: 'gBTC', amount: 10n, sats: 340n, role: 'fee' },
    ];
    const good = await build([aliceInput()], outputs(400n, 590n), undefined, 'split');
    const s = (o: CtxOutput[]) => spec([aliceInput()], o, { intentActionId: 'split' });
    expect(verify(challengeJson(good, s(outputs(400n, 590n))), env(split)).ok).toBe(true);
    const bad = await build([aliceInput()], outputs(450n, 540n), undefined, 'split');
    expect(refused(verify(challengeJson(bad, s(outputs(450n, 540n))), env(split)))).toMatch(
      /no output of 400 gBTC/,
    );
  });
});

describe('wallet challenge verifier: checkpoints', () => {
  it('refuses a checkpoint that spends another VTXO, even one of its own', async () => {
    const v2 = await fund(sim, alice, 2000n);
    known.set(v2, { vtxoId: v2, assetId: 'gBTC', amount: 1000n, sats: 2000n });
    const { built, json } = await honestChallenge();
    const elsewhere = await build([{ ...aliceInput(), vtxo_id: v2 }], honestOutputs());
    const swapped = withPsbts(json, [built.arkPsbt, elsewhere.checkpointPsbts[0]!], [aliceInput()]);
    expect(refused(verify(swapped))).toMatch(new RegExp(`checkpoint 0 does not spend ${v1}`));
  });

  it('refuses a checkpoint with an extra output, and one missing', async () => {
    const { built, json } = await honestChallenge();
    const mallorys = sim.ark.vtxoScript(mallory.pub);
    const paysOut = plusOutput(built.checkpointPsbts[0]!, hex.decode((await mallorys).pkScript), 330n);
    expect(refused(verify(withPsbts(json, [built.arkPsbt, paysOut], [aliceInput()])))).toMatch(
      /checkpoint 0 has an extra output 2/,
    );
    expect(refused(verify(withPsbts(json, [built.arkPsbt], [aliceInput()])))).toMatch(
      /0 checkpoints for an Ark tx of 1 inputs/,
    );
  });
});

describe('wallet challenge verifier: signature slots', () => {
  it('refuses a challenge that leaves out a slot it owes or asks one twice', async () => {
    const { json } = await honestChallenge();
    const [ark, checkpoint] = json.sighashes as object[];
    expect(refused(verify({ ...json, sighashes: [ark] }))).toMatch(
      /does not ask for checkpoint 0 input 0, which this wallet owes/,
    );
    expect(refused(verify({ ...json, sighashes: [checkpoint] }))).toMatch(/does not ask for Ark-tx input 0/);
    expect(refused(verify({ ...json, sighashes: [ark, checkpoint, ark] }))).toMatch(/asked twice/);
    expect(refused(verify({ ...json, sighashes: [] }))).toMatch(/does not ask for/);
  });
});

describe('wallet challenge verifier: the allocation commitment', () => {
  it('refuses a commitment whose preimage allocates other amounts than the context', async () => {
    const other = honestOutputs();
    other[0] = { ...other[0]!, amount: 500n };
    other[1] = { ...other[1]!, amount: 490n };
    // The Ark tx really commits to this preimage; only the context shows the honest amounts.
    const lie = commitmentOf(['pay-bob'], other);
    const built = await build([aliceInput()], honestOutputs(), lie);
    expect(
      refused(verify(challengeJson(built, spec([aliceInput()], honestOutputs(), { commitment: wire(lie) })))),
    ).toMatch(/commitment allocates 500 gBTC to .* at vout 0, the context 600 gBTC/);
    // An allocation with one output fewer (the fee left out).
    const fewer = commitmentOfText(commitmentOf(['pay-bob'], honestOutputs().slice(0, 2)).preimage);
    const builtFewer = await build([aliceInput()], honestOutputs(), fewer);
    expect(
      refused(
        verify(challengeJson(builtFewer, spec([aliceInput()], honestOutputs(), { commitment: wire(fewer) }))),
      ),
    ).toMatch(/allocates 2 outputs, the context lists 3/);
  });

  it('refuses a commitment output with another hash, and a hash that is not of the preimage', async () => {
    // The Ark tx commits to another allocation than the (honest) context commitment.
    const built = await build(
      [aliceInput()],
      honestOutputs(),
      commitmentOf(['pay-bob', 'x'], honestOutputs()),
    );
    expect(refused(verify(challengeJson(built, spec([aliceInput()], honestOutputs()))))).toMatch(
      /output 3 is not the allocation commitment/,
    );
    const { json } = await honestChallenge();
    const ctx = json.context as { commitment: { hash: string } };
    const badHash = {
      ...json,
      context: { ...ctx, commitment: { ...ctx.commitment, hash: 'ab'.repeat(32) } },
    };
    expect(refused(verify(badHash))).toMatch(/commitment.hash is not the sha256 of its preimage/);
    // The right script, but carrying sats (that would be burnt).
    const { built: honest } = await honestChallenge();
    const valued = parsePsbt(honest.arkPsbt);
    valued.updateOutput(3, { amount: 330n });
    const psbts = [encodePsbt(valued), ...honest.checkpointPsbts];
    const lying = withPsbts(json, psbts, [aliceInput()]);
    const withTxid = { ...lying, context: { ...(lying.context as object), ark_txid: valued.id } };
    expect(refused(verify(withTxid))).toMatch(/commitment output 3 carries 330 sats, not 0/);
  });

  it('refuses an Ark tx without the commitment output', async () => {
    const built = await build([aliceInput()], honestOutputs(), null);
    expect(refused(verify(challengeJson(built, spec([aliceInput()], honestOutputs()))))).toMatch(
      /output 3 is not the allocation commitment/,
    );
    const { json } = await honestChallenge();
    const ctx = json.context as { commitment: object };
    const beyond = { ...json, context: { ...ctx, commitment: { ...ctx.commitment, vout: 9 } } };
    expect(refused(verify(beyond))).toMatch(/no output 9 for the commitment/);
  });

  it('refuses a preimage that does not name its action id, or is not canonical', async () => {
    const elsewhere = commitmentOf(['someone-else'], honestOutputs());
    const built = await build([aliceInput()], honestOutputs(), elsewhere);
    expect(
      refused(
        verify(challengeJson(built, spec([aliceInput()], honestOutputs(), { commitment: wire(elsewhere) }))),
      ),
    ).toMatch(/does not name the action pay-bob/);
    // The same allocation, spaced out: its hash is in the tx, but it is not the canonical text.
    const spaced = commitmentOfText(
      JSON.stringify(JSON.parse(commitmentOf(['pay-bob'], honestOutputs()).preimage), null, 1),
    );
    const builtSpaced = await build([aliceInput()], honestOutputs(), spaced);
    expect(
      refused(
        verify(
          challengeJson(builtSpaced, spec([aliceInput()], honestOutputs(), { commitment: wire(spaced) })),
        ),
      ),
    ).toMatch(/not in canonical form/);
  });

  it('refuses a context that lists the commitment output as a VTXO', async () => {
    const { json } = await honestChallenge();
    const ctx = json.context as { outputs: object[] };
    const listed = {
      ...json,
      context: {
        ...ctx,
        outputs: [
          ...ctx.outputs,
          { vout: 3, owner: gateway.pub, asset_id: 'gBTC', amount: '0', sats: '0', role: 'fee' },
        ],
      },
    };
    expect(refused(verify(listed))).toMatch(/commitment output 3 is listed as a VTXO/);
  });
});
