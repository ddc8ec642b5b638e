// The outputs of an Ark (offchain) tx as arkd's SubmitTx judges them (its
// validateOffchainTxOutputs), for the simulator: exactly one anchor; every OP_RETURN counts toward
// max_op_return_outputs; a plain OP_RETURN carries no value; every other output is a taproot
// VTXO of at least dust. arkd gives two OP_RETURN forms a meaning the simulator does not model, so
// it refuses them as unsupported rather than accept them half-way: an extension packet (first
// push starting with "ARK") and a sub-dust VTXO (OP_RETURN with a 32-byte push, value below dust).
// Pure: no I/O.
import { Script } from '@scure/btc-signer';
import { hex } from '@scure/base';

export const ANCHOR_SCRIPT = '51024e73';
export const ANCHOR_OUTPUT: TxOutput = { script: hex.decode(ANCHOR_SCRIPT), amount: 0n };
const OP_RETURN = 0x6a;
const EXTENSION_MAGIC = [0x41, 0x52, 0x4b]; // "ARK"

export interface TxOutput {
  readonly script: Uint8Array;
  readonly amount: bigint;
}

export interface OutputLimits {
  readonly dust: bigint;
  /** -1: unlimited. */
  readonly vtxoMaxAmount: bigint;
  readonly maxOpReturnOutputs: number;
}

export const isAnchor = (script: Uint8Array): boolean => hex.encode(script) === ANCHOR_SCRIPT;
export const isOpReturn = (script: Uint8Array): boolean => script[0] === OP_RETURN;
/** OP_1 <32 bytes>: the only script a VTXO output may have (arkd skips any other when it creates VTXOs). */
export const isP2tr = (script: Uint8Array): boolean =>
  script.length === 34 && script[0] === 0x51 && script[1] === 0x20;

/** The data of the push right after OP_RETURN, if there is one. */
function firstPush(script: Uint8Array): Uint8Array | undefined {
  try {
    const [op, data] = Script.decode(script);
    return op === 'RETURN' && data instanceof Uint8Array ? data : undefined;
  } catch {
    return undefined;
  }
}

const isExtension = (script: Uint8Array): boolean => {
  const data = firstPush(script);
  return data !== undefined && EXTENSION_MAGIC.every((byte, i) => data[i] === byte);
};

const isSubDust = (script: Uint8Array): boolean =>
  script.length === 34 && script[0] === OP_RETURN && script[1] === 0x20;

/** Why arkd (as simulated) refuses these outputs — all of the tx's, anchor included; else undefined. */
export function outputsProblem(outputs: readonly TxOutput[], limits: OutputLimits): string | undefined {
  let anchors = 0;
  let opReturns = 0;
  for (const [i, { script, amount }] of outputs.entries()) {
    if (isAnchor(script)) {
      if (++anchors > 1) return 'the tx has several anchor outputs';
      continue;
    }
    if (isOpReturn(script)) {
      opReturns++;
      if (isExtension(script))
        return `output ${i} is an arkd extension packet (OP_RETURN "ARK…"), which the simulator does not support`;
      if (isSubDust(script))
        return `output ${i} is a sub-dust VTXO (OP_RETURN with a 32-byte push), which the simulator does not support`;
      if (amount !== 0n) return `OP_RETURN output ${i} has non-zero value (${amount})`;
      continue;
    }
    if (limits.vtxoMaxAmount >= 0n && amount > limits.vtxoMaxAmount)
      return `output ${i} of ${amount} sats is above the max VTXO amount (${limits.vtxoMaxAmount})`;
    if (amount < limits.dust) return `output ${i} of ${amount} sats is below dust (${limits.dust})`;
    if (!isP2tr(script)) return `output ${i} is not a taproot output`;
  }
  if (anchors === 0) return 'the tx has no anchor output';
  if (opReturns > limits.maxOpReturnOutputs)
    return `tx has ${opReturns} OP_RETURN outputs, max ${limits.maxOpReturnOutputs} are allowed`;
  return undefined;
}
