// psbts[1 + i], the checkpoint of Ark input i, signed in the same step as the Ark tx (v1.1). Each
// must be the one tx between the VTXO context.inputs[i] and the Ark tx: it spends exactly that
// VTXO (for the wallet's own, its default VTXO script with the sats it knows), its output 0 is
// exactly what Ark-tx input i spends, and it has nothing else but the anchor. A checkpoint that
// spent another VTXO, or paid anything out, would be signed away with the Ark tx.
import type { DefaultVtxo, Transaction } from '@arkade-os/sdk';
import { hex } from '@scure/base';
import type { ChallengeContext } from '../challenge.ts';
import { containsKey, isAnchor, leavesOf, outpointOf, parsePsbt, prevout } from './psbt-facts.ts';
import { Refusal } from './refusal.ts';

const sameBytes = (a: Uint8Array | undefined, b: Uint8Array) =>
  a !== undefined && hex.encode(a) === hex.encode(b);

/** The checkpoints, parsed and checked, in Ark-input order. */
export function checkCheckpoints(
  psbts: readonly string[],
  arkTx: Transaction,
  ctx: ChallengeContext,
  me: string,
  mine: DefaultVtxo.Script,
): Transaction[] {
  const checkpoints = psbts.slice(1);
  if (checkpoints.length !== arkTx.inputsLength) {
    throw new Refusal(`${checkpoints.length} checkpoints for an Ark tx of ${arkTx.inputsLength} inputs`);
  }
  const myKey = hex.decode(me);
  return checkpoints.map((psbt, i) => {
    const { tx } = parsePsbt(psbt, `checkpoint ${i}`);
    const input = ctx.inputs[i]!;
    if (tx.inputsLength !== 1) throw new Refusal(`checkpoint ${i} has ${tx.inputsLength} inputs, not 1`);
    if (outpointOf(tx, 0) !== input.vtxo_id)
      throw new Refusal(`checkpoint ${i} does not spend ${input.vtxo_id}`);
    for (let vout = 1; vout < tx.outputsLength; vout++) {
      if (vout > 1 || !isAnchor(tx.getOutput(vout)))
        throw new Refusal(`checkpoint ${i} has an extra output ${vout}`);
    }
    const out = tx.getOutput(0);
    const spent = prevout(arkTx, i);
    if (!sameBytes(out.script, spent.script) || out.amount !== spent.amount) {
      throw new Refusal(`checkpoint ${i}'s output 0 is not what Ark-tx input ${i} spends`);
    }
    if (outpointOf(arkTx, i) !== `${tx.id}:0`)
      throw new Refusal(`Ark-tx input ${i} does not spend checkpoint ${i}`);
    if (input.owner === me) {
      const utxo = prevout(tx, 0);
      if (!sameBytes(utxo.script, mine.pkScript) || utxo.amount !== input.sats) {
        throw new Refusal(
          `checkpoint ${i} spends a VTXO that is not ${input.vtxo_id} as this wallet holds it`,
        );
      }
    } else if (leavesOf(tx, 0).some((leaf) => containsKey(leaf.script, myKey))) {
      throw new Refusal(`checkpoint ${i} is spent with this wallet's key but is listed as ${input.owner}'s`);
    }
    return tx;
  });
}
