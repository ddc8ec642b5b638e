// Keys of the simulated daemons, derived from the world's seed so a world is reproducible.
import { createHash } from 'node:crypto';
import { schnorr, secp256k1 } from '@noble/curves/secp256k1.js';
import { hex } from '@scure/base';
import * as ecc from 'tiny-secp256k1';

export interface SimKey {
  readonly privateKey: Uint8Array;
  /** 32-byte x-only public key (BIP-340). */
  readonly xOnly: Uint8Array;
  readonly xOnlyHex: string;
  /** 33-byte compressed public key, as Lightning node ids are written. */
  readonly compressedHex: string;
}

export function keyFromPrivate(privateKey: Uint8Array): SimKey {
  const xOnly = schnorr.getPublicKey(privateKey);
  return {
    privateKey,
    xOnly,
    xOnlyHex: hex.encode(xOnly),
    compressedHex: hex.encode(secp256k1.getPublicKey(privateKey, true)),
  };
}

export function deriveKey(seed: string, label: string): SimKey {
  // A sha256 output is a valid secp256k1 scalar except with negligible probability; rehash then.
  let candidate = createHash('sha256').update(`arkrelay-sim-key/${label}/${seed}`).digest();
  while (!secp256k1.utils.isValidSecretKey(candidate)) {
    candidate = createHash('sha256').update(candidate).digest();
  }
  return keyFromPrivate(new Uint8Array(candidate));
}

/**
 * True when `value` is a 32-byte hex x-only key on the curve. libsecp256k1 (WASM) checks it in
 * a few µs; the pure-JS point decoding took ~0.3 ms, on every key of every simulated call.
 */
export function isXOnlyKey(value: string): boolean {
  return /^[0-9a-f]{64}$/.test(value) && ecc.isXOnlyPoint(hex.decode(value));
}
