// Which signatures the wallet gives: exactly the slots it owes — for each Ark input i it owns,
// input i of the Ark tx (psbt 0) and input 0 of its checkpoint (psbt 1 + i). A challenge that
// asks for any other slot (another owner's input, a slot twice) or leaves one out is refused.
// Every digest is recomputed from the PSBT; the one the gateway gave is only compared.
import type { Transaction } from '@arkade-os/sdk';
import { hex } from '@scure/base';
import type { ChallengeContext, SighashRequest } from '../challenge.ts';
import { recomputeSighash } from './psbt-facts.ts';
import { Refusal } from './refusal.ts';
import type { Signable } from './verifier.ts';

const slotName = (psbtIndex: number, inputIndex: number) =>
  psbtIndex === 0 ? `Ark-tx input ${inputIndex}` : `checkpoint ${psbtIndex - 1} input ${inputIndex}`;

/** The slots `me` owes, as "psbt:input" keys, in signing order. */
function owedSlots(ctx: ChallengeContext, me: string): string[] {
  const own = ctx.inputs.filter((input) => input.owner === me).map((input) => input.input_index);
  return [...own.map((i) => `0:${i}`), ...own.map((i) => `${1 + i}:0`)];
}

export function signables(
  requests: readonly SighashRequest[],
  ctx: ChallengeContext,
  me: string,
  psbts: readonly Transaction[],
  forfeitScript: string,
): Signable[] {
  const owed = owedSlots(ctx, me);
  if (owed.length === 0) throw new Refusal('none of the inputs is this wallet’s: nothing to sign');
  const asked = new Map<string, SighashRequest>();
  for (const request of requests) {
    const key = `${request.psbt_index}:${request.input_index}`;
    const name = slotName(request.psbt_index, request.input_index);
    if (asked.has(key)) throw new Refusal(`${name} is asked twice`);
    if (!owed.includes(key)) throw new Refusal(`${name} is not this wallet’s to sign`);
    asked.set(key, request);
  }
  return owed.map((key) => {
    const request = asked.get(key);
    const [psbtIndex, inputIndex] = key.split(':').map(Number) as [number, number];
    if (!request)
      throw new Refusal(
        `the challenge does not ask for ${slotName(psbtIndex, inputIndex)}, which this wallet owes`,
      );
    const digest = recomputeSighash(
      psbts[psbtIndex]!,
      inputIndex,
      forfeitScript,
      slotName(psbtIndex, inputIndex),
    );
    if (hex.encode(digest) !== request.digest) {
      throw new Refusal(
        `the digest given for ${slotName(psbtIndex, inputIndex)} is not the sighash of its PSBT`,
      );
    }
    return { psbtIndex, inputIndex, digest };
  });
}
