// psbts[0], the Ark tx, against the context: its inputs are exactly context.inputs (the wallet's
// own ones VTXOs it knows, spent through its forfeit leaf from the checkpoint of that very VTXO,
// and no other input using its key), and its outputs are exactly context.outputs at the owners'
// default VTXO scripts, plus the allocation commitment and one anchor — nothing else.
import type { DefaultVtxo, Transaction } from '@arkade-os/sdk';
import { hex } from '@scure/base';
import type { ChallengeContext } from '../challenge.ts';
import {
  containsKey,
  defaultVtxoScript,
  expectedCheckpointId,
  isAnchor,
  leavesOf,
  outpointOf,
  prevout,
  recomputeSighash,
} from './psbt-facts.ts';
import { Refusal } from './refusal.ts';
import type { KnownVtxo } from './verifier.ts';

/** context.inputs: indexes 0..n-1 once each, distinct VTXOs, and its own ones known to it. */
export function checkInputsListed(
  ctx: ChallengeContext,
  me: string,
  knownVtxo: (vtxoId: string) => KnownVtxo | undefined,
): void {
  const ids = new Set<string>();
  ctx.inputs.forEach((input, i) => {
    if (input.input_index !== i) throw new Refusal('context.inputs are not listed in input order');
    if (ids.has(input.vtxo_id)) throw new Refusal(`${input.vtxo_id} is listed twice`);
    ids.add(input.vtxo_id);
    if (input.owner !== me) return;
    const known = knownVtxo(input.vtxo_id);
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

export function checkArkInputs(
  tx: Transaction,
  ctx: ChallengeContext,
  me: string,
  mine: DefaultVtxo.Script,
): void {
  if (tx.inputsLength !== ctx.inputs.length) {
    throw new Refusal(`the Ark tx has ${tx.inputsLength} inputs, the context lists ${ctx.inputs.length}`);
  }
  const myKey = hex.decode(me);
  ctx.inputs.forEach((input, i) => {
    const utxo = prevout(tx, i);
    if (utxo.amount !== input.sats)
      throw new Refusal(`input ${i} spends ${utxo.amount} sats, not ${input.sats}`);
    if (input.owner !== me) {
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
}

/**
 * Every output is a listed VTXO (its owner's default script, its sats), the commitment at
 * context.commitment.vout (checked on its own), or the one anchor; every listed one exists.
 */
export function checkArkOutputs(tx: Transaction, ctx: ChallengeContext): void {
  const listed = new Map(ctx.outputs.map((o) => [o.vout, o]));
  if (listed.size !== ctx.outputs.length) throw new Refusal('context.outputs lists a vout twice');
  if (listed.has(ctx.commitment.vout)) {
    throw new Refusal(`the commitment output ${ctx.commitment.vout} is listed as a VTXO`);
  }
  let anchors = 0;
  for (let vout = 0; vout < tx.outputsLength; vout++) {
    if (vout === ctx.commitment.vout) continue;
    const out = tx.getOutput(vout);
    if (isAnchor(out)) {
      anchors++;
      if (listed.has(vout)) throw new Refusal(`the anchor output ${vout} is listed as a VTXO`);
      continue;
    }
    const entry = listed.get(vout);
    if (!entry) throw new Refusal(`output ${vout} is not in the context`);
    listed.delete(vout);
    const expected = defaultVtxoScript(entry.owner, ctx.server_pubkey, ctx.unilateral_exit_delay);
    if (!out.script || hex.encode(out.script) !== hex.encode(expected.pkScript)) {
      throw new Refusal(`output ${vout} is not locked to ${entry.owner}'s VTXO script`);
    }
    if (out.amount !== entry.sats)
      throw new Refusal(`output ${vout} carries ${out.amount} sats, not ${entry.sats}`);
  }
  if (anchors !== 1) throw new Refusal(`the Ark tx has ${anchors} anchor outputs, not 1`);
  if (listed.size > 0) {
    throw new Refusal(`the context lists outputs the Ark tx lacks: ${[...listed.keys()].join(', ')}`);
  }
}
