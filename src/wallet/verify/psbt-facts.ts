// What the wallet reads out of a PSBT on its own, with the SDK and @scure/btc-signer only (never
// the gateway's helpers): the payload hash, the owner's default VTXO script, the anchor output,
// the BIP-341 script-path sighash of an input spending the owner's forfeit leaf, and the
// checkpoint tx that must sit between a VTXO and the Ark tx.
import {
  CSVMultisigTapscript,
  DefaultVtxo,
  Transaction,
  VtxoScript,
  VtxoTaprootTree,
  buildOffchainTx,
  getArkPsbtFields,
} from '@arkade-os/sdk';
import { sha256 } from '@noble/hashes/sha2.js';
import { base64, hex } from '@scure/base';
import { Refusal } from './refusal.ts';

const SIGHASH_DEFAULT = 0x00;
/** The pay-to-anchor output every Ark tx and checkpoint ends with (OP_1 <0x4e73>), 0 sats. */
export const ANCHOR_SCRIPT_HEX = '51024e73';

export interface ExitDelay {
  readonly type: 'blocks' | 'seconds';
  readonly value: bigint;
}

export function parsePsbt(psbtBase64: string, what: string): { tx: Transaction; bytes: Uint8Array } {
  try {
    const bytes = base64.decode(psbtBase64);
    return { tx: Transaction.fromPSBT(bytes), bytes };
  } catch {
    throw new Refusal(`${what} is not a valid base64 PSBT`);
  }
}

/** payload_ref of a challenge: sha256 of the UTF-8 text of its base64 PSBTs joined by "\n". */
export function payloadRefOfPsbts(psbts: readonly string[]): string {
  return hex.encode(sha256(new TextEncoder().encode(psbts.join('\n'))));
}

/** Deriving a script costs taproot tweaks; the same (owner, server, delay) is asked often. */
const scripts = new Map<string, DefaultVtxo.Script>();

export function defaultVtxoScript(owner: string, server: string, delay: ExitDelay): DefaultVtxo.Script {
  const key = `${owner}:${server}:${delay.type}:${delay.value}`;
  const known = scripts.get(key);
  if (known) return known;
  try {
    const script = new DefaultVtxo.Script({
      pubKey: hex.decode(owner),
      serverPubKey: hex.decode(server),
      csvTimelock: { type: delay.type, value: delay.value },
    });
    if (scripts.size >= 1_000) scripts.clear();
    scripts.set(key, script);
    return script;
  } catch (error) {
    throw new Refusal(`cannot derive the VTXO script of ${owner}: ${(error as Error).message}`);
  }
}

export const isAnchor = (out: { script?: Uint8Array; amount?: bigint }): boolean =>
  out.amount === 0n && out.script !== undefined && hex.encode(out.script) === ANCHOR_SCRIPT_HEX;

export function outpointOf(tx: Transaction, inputIndex: number): string {
  const input = tx.getInput(inputIndex);
  if (!input.txid || input.index === undefined) throw new Refusal(`input ${inputIndex} has no outpoint`);
  return `${hex.encode(input.txid)}:${input.index}`;
}

export function prevout(tx: Transaction, inputIndex: number): { script: Uint8Array; amount: bigint } {
  const utxo = tx.getInput(inputIndex).witnessUtxo;
  if (!utxo) throw new Refusal(`input ${inputIndex} has no witnessUtxo`);
  return utxo;
}

/** The tapscript leaves an input offers to spend, as [script hex, leaf version]. */
export function leavesOf(tx: Transaction, inputIndex: number): { script: Uint8Array; version: number }[] {
  return (tx.getInput(inputIndex).tapLeafScript ?? []).map(([, scriptWithVersion]) => ({
    script: scriptWithVersion.subarray(0, -1),
    version: scriptWithVersion[scriptWithVersion.length - 1]!,
  }));
}

export function containsKey(script: Uint8Array, xOnly: Uint8Array): boolean {
  outer: for (let i = 0; i + xOnly.length <= script.length; i++) {
    for (let j = 0; j < xOnly.length; j++) if (script[i + j] !== xOnly[j]) continue outer;
    return true;
  }
  return false;
}

/**
 * The BIP-341 script-path sighash (SIGHASH_DEFAULT) of `inputIndex` spending the leaf
 * `leafScriptHex`, recomputed from the PSBT: the input must offer exactly that one leaf.
 */
export function recomputeSighash(
  tx: Transaction,
  inputIndex: number,
  leafScriptHex: string,
  what = `input ${inputIndex}`,
): Uint8Array {
  const leaves = leavesOf(tx, inputIndex);
  if (leaves.length !== 1 || hex.encode(leaves[0]!.script) !== leafScriptHex) {
    throw new Refusal(`${what} does not spend this wallet's forfeit leaf (owner + server)`);
  }
  const prevScripts: Uint8Array[] = [];
  const amounts: bigint[] = [];
  for (let i = 0; i < tx.inputsLength; i++) {
    const utxo = prevout(tx, i);
    prevScripts.push(utxo.script);
    amounts.push(utxo.amount);
  }
  const leaf = leaves[0]!;
  return tx.preimageWitnessV1(
    inputIndex,
    prevScripts,
    SIGHASH_DEFAULT,
    amounts,
    -1,
    leaf.script,
    leaf.version,
  );
}

/**
 * The id of the checkpoint tx that spends `vtxoId` (owned by `script`, holding `sats`) under the
 * server's unroll script the Ark-tx input declares in its taproot tree. The Ark tx's input must
 * spend output 0 of exactly that tx, so its signature is bound to the VTXO, whatever checkpoint
 * PSBT the challenge carries.
 */
export function expectedCheckpointId(
  arkTx: Transaction,
  inputIndex: number,
  vtxoId: string,
  sats: bigint,
  script: DefaultVtxo.Script,
  server: string,
): string {
  const trees = getArkPsbtFields(arkTx, inputIndex, VtxoTaprootTree);
  if (trees.length !== 1) throw new Refusal(`input ${inputIndex} does not carry one checkpoint taproot tree`);
  let checkpointScript: VtxoScript;
  try {
    checkpointScript = VtxoScript.decode(trees[0]!);
  } catch {
    throw new Refusal(`input ${inputIndex} carries an undecodable taproot tree`);
  }
  if (hex.encode(checkpointScript.pkScript) !== hex.encode(prevout(arkTx, inputIndex).script)) {
    throw new Refusal(`input ${inputIndex}: its taproot tree is not the script it spends`);
  }
  const leaves = checkpointScript.scripts.map((s) => hex.encode(s));
  const others = leaves.filter((s) => s !== script.forfeitScript);
  if (leaves.length !== 2 || others.length !== 1) {
    throw new Refusal(`input ${inputIndex}: the checkpoint script is not (server unroll, own forfeit leaf)`);
  }
  let unroll: CSVMultisigTapscript.Type;
  try {
    unroll = CSVMultisigTapscript.decode(hex.decode(others[0]!));
  } catch {
    throw new Refusal(`input ${inputIndex}: the checkpoint's other leaf is not a CSV unroll script`);
  }
  const unrollKeys = unroll.params.pubkeys.map((k) => hex.encode(k));
  if (unrollKeys.length !== 1 || unrollKeys[0] !== server) {
    throw new Refusal(`input ${inputIndex}: the checkpoint unroll leaf is not the server's alone`);
  }
  const [txid, vout] = vtxoId.split(':');
  if (!txid || !/^[0-9a-f]{64}$/.test(txid) || !/^\d+$/.test(vout ?? '')) {
    throw new Refusal(`${vtxoId} is not an outpoint`);
  }
  const { checkpoints } = buildOffchainTx(
    [
      {
        txid,
        vout: Number(vout),
        value: Number(sats),
        tapLeafScript: script.forfeit(),
        tapTree: script.encode(),
      },
    ],
    [{ script: script.pkScript, amount: sats }],
    unroll,
  );
  return checkpoints[0]!.id;
}
