// PSBT work every Ark flow needs, independent of which Ark server builds the transactions:
// the BIP-341 script-path sighash an owner signs for an input (recomputed from the PSBT itself,
// never taken from a wallet), attaching BIP-340 signatures as tapScriptSig entries, signing
// with a private key held by the gateway (its inventory inputs), and checking a signature.
import { randomBytes } from 'node:crypto';
import { Transaction } from '@arkade-os/sdk';
import { base64, hex } from '@scure/base';
import { tapLeafHash } from '@scure/btc-signer/payment.js';
// libsecp256k1 (WASM) for BIP-340: several times faster than the pure-JS curve on this hot path.
import * as ecc from 'tiny-secp256k1';
import { liftPointsWithLibsecp256k1 } from './sdk-curve.ts';

// Every module that builds or reads Ark transactions imports this one: from here on the SDK
// lifts x-only keys through libsecp256k1 too (see sdk-curve.ts).
liftPointsWithLibsecp256k1();

const SIGHASH_DEFAULT = 0x00;

export function parsePsbt(psbtBase64: string): Transaction {
  return Transaction.fromPSBT(base64.decode(psbtBase64));
}

export const encodePsbt = (tx: Transaction): string => base64.encode(tx.toPSBT());

export interface InputSighash {
  readonly inputIndex: number;
  /** 32-byte hex BIP-341 sighash (SIGHASH_DEFAULT) the key signs with BIP-340. */
  readonly digest: string;
  /** Hex hash of the tapscript leaf the signature commits to. */
  readonly leafHash: string;
}

function leafContaining(tx: Transaction, inputIndex: number, xOnly: Uint8Array) {
  const input = tx.getInput(inputIndex);
  for (const [, scriptWithVersion] of input.tapLeafScript ?? []) {
    const script = scriptWithVersion.subarray(0, -1);
    const version = scriptWithVersion[scriptWithVersion.length - 1]!;
    if (indexOf(script, xOnly) >= 0) return { script, version };
  }
  return undefined;
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** The sighash of every input whose tapscript leaf names `pubkey` (x-only hex), in input order. */
export function sighashesFor(tx: Transaction, pubkey: string, only?: readonly number[]): InputSighash[] {
  const xOnly = hex.decode(pubkey);
  const prevScripts: Uint8Array[] = [];
  const amounts: bigint[] = [];
  for (let i = 0; i < tx.inputsLength; i++) {
    const utxo = tx.getInput(i).witnessUtxo;
    if (!utxo) throw new Error(`input ${i} has no witnessUtxo`);
    prevScripts.push(utxo.script);
    amounts.push(utxo.amount);
  }
  const out: InputSighash[] = [];
  for (let i = 0; i < tx.inputsLength; i++) {
    if (only && !only.includes(i)) continue;
    const leaf = leafContaining(tx, i, xOnly);
    if (!leaf) continue;
    const digest = tx.preimageWitnessV1(
      i,
      prevScripts,
      SIGHASH_DEFAULT,
      amounts,
      -1,
      leaf.script,
      leaf.version,
    );
    out.push({
      inputIndex: i,
      digest: hex.encode(digest),
      leafHash: hex.encode(tapLeafHash(leaf.script, leaf.version)),
    });
  }
  return out;
}

/** Adds BIP-340 signatures by `pubkey` to the inputs named; the PSBT is changed in place. */
export function addSignatures(
  tx: Transaction,
  pubkey: string,
  signatures: readonly { readonly inputIndex: number; readonly sig: string }[],
): void {
  const xOnly = hex.decode(pubkey);
  for (const { inputIndex, sig } of signatures) {
    const leaf = leafContaining(tx, inputIndex, xOnly);
    if (!leaf) throw new Error(`input ${inputIndex} has no tapscript leaf for ${pubkey}`);
    const sigBytes = hex.decode(sig);
    if (sigBytes.length !== 64) throw new Error('a BIP-340 signature is 64 bytes');
    tx.updateInput(inputIndex, {
      tapScriptSig: [[{ pubKey: xOnly, leafHash: tapLeafHash(leaf.script, leaf.version) }, sigBytes]],
    });
  }
}

/** Signs, with a key the gateway holds, every listed input whose leaf names that key. */
export function signInputs(tx: Transaction, privateKey: Uint8Array, inputIndexes: readonly number[]): void {
  const pubkey = hex.encode(ecc.xOnlyPointFromScalar(privateKey));
  const hashes = sighashesFor(tx, pubkey, inputIndexes);
  if (hashes.length !== inputIndexes.length) {
    throw new Error(`not every input in [${inputIndexes.join(', ')}] can be signed by ${pubkey}`);
  }
  addSignatures(
    tx,
    pubkey,
    hashes.map((h) => ({
      inputIndex: h.inputIndex,
      sig: hex.encode(ecc.signSchnorr(hex.decode(h.digest), privateKey, randomBytes(32))),
    })),
  );
}

/**
 * Throws unless every key in `signers` has a valid BIP-340 signature on that input, over the
 * sighash recomputed from the PSBT for the tapscript leaf that names the key.
 */
export function verifyInputSignatures(tx: Transaction, inputIndex: number, signers: readonly string[]): void {
  const sigs = tx.getInput(inputIndex).tapScriptSig ?? [];
  for (const signer of signers) {
    const [slot] = sighashesFor(tx, signer, [inputIndex]);
    if (!slot) throw new Error(`input ${inputIndex} has no tapscript leaf for ${signer}`);
    const entry = sigs.find(
      ([key]) => hex.encode(key.pubKey) === signer && hex.encode(key.leafHash) === slot.leafHash,
    );
    if (!entry) throw new Error(`input ${inputIndex} lacks the signature of ${signer}`);
    const sig = entry[1].length === 65 ? entry[1].subarray(0, 64) : entry[1];
    if (sig.length !== 64 || !ecc.verifySchnorr(hex.decode(slot.digest), hex.decode(signer), sig)) {
      throw new Error(`input ${inputIndex}: the signature of ${signer} does not verify`);
    }
  }
}

/** True when every key in `signers` has a valid signature on that input. */
export function hasValidSignatures(tx: Transaction, inputIndex: number, signers: readonly string[]): boolean {
  try {
    verifyInputSignatures(tx, inputIndex, signers);
    return true;
  } catch {
    return false;
  }
}
