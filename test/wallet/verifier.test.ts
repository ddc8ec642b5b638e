// The wallet's challenge verifier against real PSBTs of the simulated Ark server: the honest
// challenge is accepted and its signatures are what the server accepts; every lie the gateway
// could tell (recipient, amount, extra output, digest, payload_ref, inputs) is refused.
import { base64, hex } from '@scure/base';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BuiltTransfer } from '../../src/backends/ark/ark-backend.ts';
import { addSignatures, encodePsbt, parsePsbt } from '../../src/backends/ark/psbt.ts';
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
  type Verdict,
  type VerifyEnv,
} from '../../src/wallet/verify/verifier.ts';
import {
  alice,
  aliceWallet,
  arkChallengeJson,
  bob,
  checkpointChallengeJson,
  fund,
  gateway,
  mallory,
  outpoint,
  outputsFor,
  startSim,
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
    approvedArkTx: undefined,
    now: Math.floor(Date.now() / 1000),
    ...extra,
  };
}

const spec = (inputs: CtxInput[], outputs: CtxOutput[], actionId = 'pay-bob'): ChallengeSpec => ({
  intentActionId: actionId,
  server: sim.server,
  inputs,
  outputs,
});

async function build(inputs: CtxInput[], psbtOutputs: CtxOutput[]): Promise<BuiltTransfer> {
  return sim.ark.buildTransfer(
    inputs.map((i) => ({ outpoint: outpoint(i.vtxo_id), ownerPubkey: i.owner, amount: i.sats })),
    outputsFor(psbtOutputs),
  );
}

const parse = (json: Record<string, unknown>): Challenge => parseChallenge(JSON.stringify(json));

function refused(verdict: Verdict): string {
  expect(verdict.ok).toBe(false);
  return verdict.ok ? '' : verdict.reason;
}

/** The wallet's signatures attached to the PSBT the way the gateway will. */
function attach(psbt: string, verdict: Verdict): string {
  if (!verdict.ok) throw new Error('not accepted');
  const tx = parsePsbt(psbt);
  addSignatures(
    tx,
    alice.pub,
    verdict.toSign.map((s) => ({ inputIndex: s.inputIndex, sig: aliceWallet.signDigest(s.digest) })),
  );
  return encodePsbt(tx);
}

describe('wallet challenge verifier', () => {
  it('accepts an honest transfer, and the server accepts its signatures in both steps', async () => {
    const built = await build([aliceInput()], honestOutputs());
    const s = spec([aliceInput()], honestOutputs());
    const step1 = verifyChallenge(parse(arkChallengeJson(built, s)), env());
    expect(step1.ok).toBe(true);
    if (!step1.ok) return;
    expect(step1.toSign.map((x) => x.inputIndex)).toEqual([0]);

    const submitted = await sim.ark.submitTx(attach(built.arkPsbt, step1), built.checkpointPsbts);
    const step2 = verifyChallenge(
      parse(checkpointChallengeJson(built.arkTxid, submitted.signedCheckpointPsbts, s)),
      env(transfer(), { approvedArkTx: step1.approvedArkTx }),
    );
    expect(step2.ok).toBe(true);
    if (!step2.ok) return;
    const signed = submitted.signedCheckpointPsbts.map((psbt, i) =>
      attach(psbt, { ok: true, toSign: step2.toSign.filter((x) => x.psbtIndex === i) }),
    );
    await sim.ark.finalizeTx(submitted.arkTxid, signed);
    const [bobs] = await sim.ark.listVtxos({ outpoints: [{ txid: built.arkTxid, vout: 0 }] });
    expect(bobs?.spent).toBe(false);
    expect(bobs?.amount).toBe(1000n);
  });

  it('refuses a PSBT paying someone else than the context says', async () => {
    const toMallory = honestOutputs().map((o, i) => (i === 0 ? { ...o, owner: mallory.pub } : o));
    const built = await build([aliceInput()], toMallory);
    const reason = refused(
      verifyChallenge(parse(arkChallengeJson(built, spec([aliceInput()], honestOutputs()))), env()),
    );
    expect(reason).toMatch(/output 0 is not locked to/);
    // Telling the truth about it does not help: Mallory is not the intent's recipient.
    expect(
      refused(verifyChallenge(parse(arkChallengeJson(built, spec([aliceInput()], toMallory))), env())),
    ).toMatch(/stranger/);
  });

  it('refuses amounts other than the intent asked', async () => {
    const less = honestOutputs();
    less[0] = { ...less[0]!, amount: 500n };
    less[1] = { ...less[1]!, amount: 490n };
    const built = await build([aliceInput()], less);
    expect(
      refused(verifyChallenge(parse(arkChallengeJson(built, spec([aliceInput()], less))), env())),
    ).toMatch(/would change by/);
    // A higher fee, taken from the change.
    const fee = honestOutputs();
    fee[1] = { ...fee[1]!, amount: 380n };
    fee[2] = { ...fee[2]!, amount: 20n };
    expect(
      refused(verifyChallenge(parse(arkChallengeJson(built, spec([aliceInput()], fee))), env())),
    ).toMatch(/would change by/);
    // Sats in the PSBT other than the context states.
    const sats = honestOutputs();
    sats[0] = { ...sats[0]!, sats: 900n };
    sats[1] = { ...sats[1]!, sats: 760n };
    const other = await build([aliceInput()], sats);
    expect(
      refused(verifyChallenge(parse(arkChallengeJson(other, spec([aliceInput()], honestOutputs()))), env())),
    ).toMatch(/carries 900 sats/);
  });

  it('refuses an output the context does not list', async () => {
    const extra: CtxOutput[] = [
      ...honestOutputs().map((o, i) => (i === 1 ? { ...o, sats: 330n } : o)),
      { owner: mallory.pub, asset_id: 'gBTC', amount: 0n, sats: 330n, role: 'change' },
    ];
    const built = await build([aliceInput()], extra);
    const listed = extra.slice(0, 3);
    expect(
      refused(verifyChallenge(parse(arkChallengeJson(built, spec([aliceInput()], listed))), env())),
    ).toMatch(/output 3 is not in the context/);
  });

  it('refuses a digest that is not the PSBT sighash, and a wrong payload_ref', async () => {
    const built = await build([aliceInput()], honestOutputs());
    const json = arkChallengeJson(built, spec([aliceInput()], honestOutputs()));
    const sighashes = json.sighashes as { input_index: number; digest: string }[];
    // The digest of another tx the gateway would like signed instead.
    const other = await build([aliceInput()], [{ ...honestOutputs()[0]!, owner: mallory.pub, sats: 2000n }]);
    const otherDigest = (
      arkChallengeJson(other, spec([aliceInput()], honestOutputs())).sighashes as typeof sighashes
    )[0]!.digest;
    const wrongDigest = { ...json, sighashes: [{ ...sighashes[0]!, digest: otherDigest }] };
    expect(refused(verifyChallenge(parse(wrongDigest), env()))).toMatch(/not the sighash of the PSBT/);
    const wrongRef = { ...json, payload_ref: hex.encode(new Uint8Array(32).fill(7)) };
    expect(refused(verifyChallenge(parse(wrongRef), env()))).toMatch(/payload_ref/);
  });

  it('refuses inputs it does not know or does not own listed as its own', async () => {
    // A VTXO of Alice's key the wallet does not know about (not synced, not expected).
    const v2 = await fund(sim, alice, 2000n);
    const unknown = { ...aliceInput(), vtxo_id: v2 };
    const built = await build([unknown], honestOutputs());
    expect(
      refused(verifyChallenge(parse(arkChallengeJson(built, spec([unknown], honestOutputs()))), env())),
    ).toMatch(/not a VTXO this wallet knows/);
    // A known VTXO with another amount than the wallet holds.
    expect(
      refused(
        verifyChallenge(
          parse(
            arkChallengeJson(
              await build([aliceInput()], honestOutputs()),
              spec([{ ...aliceInput(), amount: 2000n }], honestOutputs()),
            ),
          ),
          env(),
        ),
      ),
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
    );
    expect(
      refused(
        verifyChallenge(parse(arkChallengeJson(twoInputs, spec([aliceInput(), stolen], outputs))), env()),
      ),
    ).toMatch(/input 1 does not spend this wallet's forfeit leaf/);
  });

  it('refuses a challenge for an intent it never approved, or from another intent event', async () => {
    const built = await build([aliceInput()], honestOutputs());
    const json = arkChallengeJson(built, spec([aliceInput()], honestOutputs()));
    expect(refused(verifyChallenge(parse(json), env(transfer(), { intent: undefined })))).toMatch(
      /no approved intent/,
    );
    expect(
      refused(verifyChallenge(parse(json), env(transfer(), { intentEventId: 'ab'.repeat(32) }))),
    ).toMatch(/another intent event/);
    expect(refused(verifyChallenge(parse(json), env(transfer(), { serverPubkey: mallory.pub })))).toMatch(
      /pinned/,
    );
  });

  it('binds checkpoints to the approved Ark tx', async () => {
    const s = spec([aliceInput()], honestOutputs());
    const built = await build([aliceInput()], honestOutputs());
    const step1 = verifyChallenge(parse(arkChallengeJson(built, s)), env());
    if (!step1.ok) throw new Error(step1.reason);
    const submitted = await sim.ark.submitTx(attach(built.arkPsbt, step1), built.checkpointPsbts);
    const honest = checkpointChallengeJson(built.arkTxid, submitted.signedCheckpointPsbts, s);
    // Without step 1 in memory the wallet cannot tell what the checkpoints lead to.
    expect(refused(verifyChallenge(parse(honest), env()))).toMatch(/no Ark tx of this session/);
    // Checkpoints of another transaction spending another VTXO of Alice's.
    const v2 = await fund(sim, alice, 2000n);
    known.set(v2, { vtxoId: v2, assetId: 'gBTC', amount: 1000n, sats: 2000n });
    const elsewhere = await build([{ ...aliceInput(), vtxo_id: v2 }], honestOutputs());
    const swapped = checkpointChallengeJson(built.arkTxid, elsewhere.checkpointPsbts, s);
    expect(
      refused(verifyChallenge(parse(swapped), env(transfer(), { approvedArkTx: step1.approvedArkTx }))),
    ).toMatch(/does not spend/);
    expect(verifyChallenge(parse(honest), env(transfer(), { approvedArkTx: step1.approvedArkTx })).ok).toBe(
      true,
    );
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
      { owner: alice.pub, asset_id: 'gBTC', amount: a, sats: 1000n, role: 'change' },
      { owner: alice.pub, asset_id: 'gBTC', amount: b, sats: 660n, role: 'change' },
      { owner: gateway.pub, asset_id: 'gBTC', amount: 10n, sats: 340n, role: 'fee' },
    ];
    const built = await build([aliceInput()], outputs(400n, 590n));
    expect(
      verifyChallenge(
        parse(arkChallengeJson(built, spec([aliceInput()], outputs(400n, 590n), 'split'))),
        env(split),
      ).ok,
    ).toBe(true);
    expect(
      refused(
        verifyChallenge(
          parse(arkChallengeJson(built, spec([aliceInput()], outputs(450n, 540n), 'split'))),
          env(split),
        ),
      ),
    ).toMatch(/no output of 400 gBTC/);
  });

  it('never signs with a tampered PSBT even when the context matches it', async () => {
    // The PSBT's bytes changed after payload_ref was computed (an output amount edited).
    const built = await build([aliceInput()], honestOutputs());
    const json = arkChallengeJson(built, spec([aliceInput()], honestOutputs()));
    const tx = parsePsbt(built.arkPsbt);
    tx.updateOutput(0, { amount: 999n });
    const tampered = { ...json, psbt: base64.encode(tx.toPSBT()) };
    expect(refused(verifyChallenge(parse(tampered), env()))).toMatch(/payload_ref|ark_txid/);
  });
});
