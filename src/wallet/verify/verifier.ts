// The wallet's check of a 31511 challenge against the intent it approved, before it signs
// anything. It trusts nothing the gateway computed: every digest is recomputed from the PSBT
// (the given one is only compared), every output script is derived from the owner key and the
// server's key and exit delay, its own inputs must be VTXOs it knows, with the asset and amount
// it knows, and the asset amounts must be what its intent asked. Any doubt is a refusal.
import type { Transaction } from '@arkade-os/sdk';
import { hex } from '@scure/base';
import type { Challenge, ContextInput } from '../challenge.ts';
import type { ApprovedIntent } from '../intents.ts';
import { checkFlows } from './flows.ts';
import {
  defaultVtxoScript,
  expectedCheckpointId,
  isAnchor,
  outpointOf,
  parsePsbt,
  payloadRefOfPsbt,
  payloadRefOfPsbts,
  prevout,
  recomputeSighash,
  leavesOf,
  containsKey,
} from './psbt-facts.ts';
import { Refusal } from './refusal.ts';

/** A VTXO the wallet knows it owns (from sync_state, a confirmation, or told by the app). */
export interface KnownVtxo {
  readonly vtxoId: string;
  readonly assetId: string;
  readonly amount: bigint;
  readonly sats?: bigint;
}

/** What step 1 approved, kept to check step 2 against. */
export interface ApprovedArkTx {
  readonly sessionId: string;
  readonly arkTx: Transaction;
  readonly inputs: readonly ContextInput[];
}

export interface VerifyEnv {
  readonly me: string;
  readonly gateway: string;
  /** The intent the challenge's context.action_id names, if this wallet approved one. */
  readonly intent: ApprovedIntent | undefined;
  /** The intent event id the challenge e-tags. */
  readonly intentEventId: string | undefined;
  readonly knownVtxo: (vtxoId: string) => KnownVtxo | undefined;
  /** The Ark tx this wallet signed in step 1 of the same session. */
  readonly approvedArkTx: ApprovedArkTx | undefined;
  /** Pinned Ark server key; the context's must equal it when set. */
  readonly serverPubkey?: string;
  /** Unix seconds. */
  readonly now: number;
}

export interface Signable {
  readonly psbtIndex: number;
  readonly inputIndex: number;
  /** Recomputed by the wallet from the PSBT. */
  readonly digest: Uint8Array;
}

export type Verdict =
  | { readonly ok: true; readonly toSign: readonly Signable[]; readonly approvedArkTx?: ApprovedArkTx }
  | { readonly ok: false; readonly reason: string };

export function verifyChallenge(challenge: Challenge, env: VerifyEnv): Verdict {
  try {
    return { ok: true, ...check(challenge, env) };
  } catch (error) {
    if (error instanceof Refusal) return { ok: false, reason: error.message };
    return { ok: false, reason: `cannot verify: ${(error as Error).message}` };
  }
}

function check(challenge: Challenge, env: VerifyEnv): { toSign: Signable[]; approvedArkTx?: ApprovedArkTx } {
  const ctx = challenge.context;
  const intent = env.intent;
  if (!intent || intent.actionId !== ctx.action_id) throw new Refusal(`no approved intent ${ctx.action_id}`);
  if (intent.author !== env.me) throw new Refusal('the intent is not this wallet’s');
  if (env.intentEventId !== undefined && env.intentEventId !== intent.eventId) {
    throw new Refusal('the challenge refers to another intent event');
  }
  if (challenge.expires_at <= env.now) throw new Refusal('the challenge has expired');
  if (env.serverPubkey !== undefined && ctx.server_pubkey !== env.serverPubkey) {
    throw new Refusal(`the Ark server key ${ctx.server_pubkey} is not the pinned one`);
  }
  if (challenge.sighashes.length === 0) throw new Refusal('nothing to sign');
  checkInputsListed(challenge, env);
  if (challenge.type === 'sign_ark_tx') return checkArkTx(challenge, env, intent);
  if (challenge.type === 'sign_checkpoint_txs') return { toSign: checkCheckpoints(challenge, env) };
  throw new Refusal('sign_payload challenges are not part of this wallet’s flows');
}

/** context.inputs: indexes 0..n-1 once each, distinct VTXOs, and its own ones known to it. */
function checkInputsListed(challenge: Challenge, env: VerifyEnv): void {
  const inputs = challenge.context.inputs;
  const ids = new Set<string>();
  inputs.forEach((input, i) => {
    if (input.input_index !== i) throw new Refusal('context.inputs are not listed in input order');
    if (ids.has(input.vtxo_id)) throw new Refusal(`${input.vtxo_id} is listed twice`);
    ids.add(input.vtxo_id);
    if (input.owner !== env.me) return;
    const known = env.knownVtxo(input.vtxo_id);
    if (!known) throw new Refusal(`input ${i} (${input.vtxo_id}) is not a VTXO this wallet knows it owns`);
    if (known.assetId !== input.asset_id || known.amount !== input.amount) {
      throw new Refusal(
        `input ${i} (${input.vtxo_id}) holds ${known.amount} ${known.assetId}, not ${input.amount} ${input.asset_id}`,
      );
    }
    if (known.sats !== undefined && known.sats !== input.sats) {
      throw new Refusal(`input ${i} (${input.vtxo_id}) holds ${known.sats} sats, not ${input.sats}`);
    }
  });
}

function checkArkTx(
  challenge: Challenge,
  env: VerifyEnv,
  intent: ApprovedIntent,
): { toSign: Signable[]; approvedArkTx: ApprovedArkTx } {
  const ctx = challenge.context;
  if (challenge.psbt === undefined) throw new Refusal('sign_ark_tx without a psbt');
  const { tx, bytes } = parsePsbt(challenge.psbt, 'the Ark tx');
  if (payloadRefOfPsbt(bytes) !== challenge.payload_ref)
    throw new Refusal('payload_ref is not the hash of the PSBT');
  if (ctx.ark_txid !== undefined && ctx.ark_txid !== tx.id)
    throw new Refusal('context.ark_txid is not the PSBT’s txid');
  if (tx.inputsLength !== ctx.inputs.length) {
    throw new Refusal(`the PSBT has ${tx.inputsLength} inputs, the context lists ${ctx.inputs.length}`);
  }
  const delay = ctx.unilateral_exit_delay;
  const mine = defaultVtxoScript(env.me, ctx.server_pubkey, delay);
  const myKey = hex.decode(env.me);

  // Inputs: each of mine spends the checkpoint of a VTXO it knows, through its forfeit leaf; no
  // other input may name its key.
  ctx.inputs.forEach((input, i) => {
    const utxo = prevout(tx, i);
    if (utxo.amount !== input.sats)
      throw new Refusal(`input ${i} spends ${utxo.amount} sats, not ${input.sats}`);
    if (input.owner !== env.me) {
      if (leavesOf(tx, i).some((leaf) => containsKey(leaf.script, myKey))) {
        throw new Refusal(`input ${i} is spent with this wallet's key but is listed as ${input.owner}'s`);
      }
      return;
    }
    recomputeSighash(tx, i, mine.forfeitScript); // throws unless it spends exactly the forfeit leaf
    const checkpointId = expectedCheckpointId(tx, i, input.vtxo_id, input.sats, mine, ctx.server_pubkey);
    if (outpointOf(tx, i) !== `${checkpointId}:0`) {
      throw new Refusal(`input ${i} does not spend the checkpoint of ${input.vtxo_id}`);
    }
  });

  // Outputs: every one but the anchor is listed, to its owner's default VTXO script, with its sats.
  const listed = new Map(ctx.outputs.map((o) => [o.vout, o]));
  if (listed.size !== ctx.outputs.length) throw new Refusal('context.outputs lists a vout twice');
  let anchors = 0;
  for (let vout = 0; vout < tx.outputsLength; vout++) {
    const out = tx.getOutput(vout);
    if (isAnchor(out)) {
      anchors++;
      if (listed.has(vout)) throw new Refusal(`the anchor output ${vout} is listed as a VTXO`);
      continue;
    }
    const entry = listed.get(vout);
    if (!entry) throw new Refusal(`output ${vout} is not in the context`);
    listed.delete(vout);
    const expected = defaultVtxoScript(entry.owner, ctx.server_pubkey, delay);
    if (!out.script || hex.encode(out.script) !== hex.encode(expected.pkScript)) {
      throw new Refusal(`output ${vout} is not locked to ${entry.owner}'s VTXO script`);
    }
    if (out.amount !== entry.sats)
      throw new Refusal(`output ${vout} carries ${out.amount} sats, not ${entry.sats}`);
  }
  if (anchors !== 1) throw new Refusal(`the Ark tx has ${anchors} anchor outputs, not 1`);
  if (listed.size > 0)
    throw new Refusal(`the context lists outputs the PSBT lacks: ${[...listed.keys()].join(', ')}`);

  checkFlows(ctx, intent, { me: env.me, gateway: env.gateway });

  const toSign = challenge.sighashes.map((s) => {
    if ((s.psbt_index ?? 0) !== 0) throw new Refusal('sign_ark_tx has one PSBT; psbt_index must be 0');
    return signable(tx, 0, s.input_index, s.digest, ctx.inputs, env.me, mine.forfeitScript);
  });
  return { toSign, approvedArkTx: { sessionId: challenge.session_id, arkTx: tx, inputs: ctx.inputs } };
}

function checkCheckpoints(challenge: Challenge, env: VerifyEnv): Signable[] {
  const ctx = challenge.context;
  const prior = env.approvedArkTx;
  if (!prior || prior.sessionId !== challenge.session_id) {
    throw new Refusal('no Ark tx of this session was approved by this wallet');
  }
  const arkTx = prior.arkTx;
  if (ctx.ark_txid !== undefined && ctx.ark_txid !== arkTx.id)
    throw new Refusal('context.ark_txid is not the approved Ark tx');
  const psbts = challenge.psbts;
  if (!psbts) throw new Refusal('sign_checkpoint_txs without psbts');
  if (payloadRefOfPsbts(psbts) !== challenge.payload_ref)
    throw new Refusal('payload_ref is not the hash of the PSBTs');
  if (psbts.length !== arkTx.inputsLength) {
    throw new Refusal(`${psbts.length} checkpoints for an Ark tx of ${arkTx.inputsLength} inputs`);
  }
  if (
    ctx.inputs.length !== prior.inputs.length ||
    ctx.inputs.some(
      (input, i) => input.vtxo_id !== prior.inputs[i]!.vtxo_id || input.owner !== prior.inputs[i]!.owner,
    )
  ) {
    throw new Refusal('the inputs differ from the Ark tx this wallet approved');
  }
  const mine = defaultVtxoScript(env.me, ctx.server_pubkey, ctx.unilateral_exit_delay);
  const checkpoints = psbts.map((psbt, i) => {
    const { tx } = parsePsbt(psbt, `checkpoint ${i}`);
    const input = ctx.inputs[i]!;
    if (tx.inputsLength !== 1) throw new Refusal(`checkpoint ${i} has ${tx.inputsLength} inputs`);
    if (outpointOf(tx, 0) !== input.vtxo_id)
      throw new Refusal(`checkpoint ${i} does not spend ${input.vtxo_id}`);
    if (outpointOf(arkTx, i) !== `${tx.id}:0`)
      throw new Refusal(`Ark-tx input ${i} does not spend checkpoint ${i}`);
    const out = tx.getOutput(0);
    const spent = prevout(arkTx, i);
    if (!out.script || hex.encode(out.script) !== hex.encode(spent.script) || out.amount !== spent.amount) {
      throw new Refusal(`checkpoint ${i}'s output 0 is not what Ark-tx input ${i} spends`);
    }
    for (let vout = 1; vout < tx.outputsLength; vout++) {
      if (!isAnchor(tx.getOutput(vout))) throw new Refusal(`checkpoint ${i} has an extra output ${vout}`);
    }
    if (input.owner === env.me) {
      const utxo = prevout(tx, 0);
      if (hex.encode(utxo.script) !== hex.encode(mine.pkScript) || utxo.amount !== input.sats) {
        throw new Refusal(
          `checkpoint ${i} spends a VTXO that is not ${input.vtxo_id} as this wallet holds it`,
        );
      }
    }
    return tx;
  });
  const seen = new Set<number>();
  return challenge.sighashes.map((s) => {
    const index = s.psbt_index ?? 0;
    if (seen.has(index)) throw new Refusal(`checkpoint ${index} is asked twice`);
    seen.add(index);
    const tx = checkpoints[index];
    if (!tx) throw new Refusal(`there is no checkpoint ${index}`);
    if (s.input_index !== 0) throw new Refusal('a checkpoint has only input 0');
    // Ownership is the checkpoint's VTXO: that of Ark-tx input `index`.
    const owner = ctx.inputs[index]!.owner;
    if (owner !== env.me) throw new Refusal(`checkpoint ${index} spends ${owner}'s VTXO, not this wallet's`);
    return { psbtIndex: index, inputIndex: 0, digest: checkedDigest(tx, 0, s.digest, mine.forfeitScript) };
  });
}

function signable(
  tx: Transaction,
  psbtIndex: number,
  inputIndex: number,
  given: string,
  inputs: readonly ContextInput[],
  me: string,
  forfeitScript: string,
): Signable {
  const input = inputs[inputIndex];
  if (!input) throw new Refusal(`there is no input ${inputIndex}`);
  if (input.owner !== me) throw new Refusal(`input ${inputIndex} is ${input.owner}'s, not this wallet's`);
  return { psbtIndex, inputIndex, digest: checkedDigest(tx, inputIndex, given, forfeitScript) };
}

/** The digest recomputed from the PSBT; the one the gateway gave must be the same. */
function checkedDigest(
  tx: Transaction,
  inputIndex: number,
  given: string,
  forfeitScript: string,
): Uint8Array {
  const digest = recomputeSighash(tx, inputIndex, forfeitScript);
  if (hex.encode(digest) !== given) {
    throw new Refusal(`the digest given for input ${inputIndex} is not the sighash of the PSBT`);
  }
  return digest;
}
