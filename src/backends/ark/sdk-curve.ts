// The Ark SDK checks every x-only key it meets — each key of each P2TR script it builds, each
// taproot tweak — with the pure-JS BIP-340 `lift_x` of its own copy of @noble/curves: a
// 256-bit modular square root, about 0.3 ms. Building one transfer's Ark and checkpoint
// transactions calls it dozens of times (16 % of the gateway process under the ceremony
// benchmark). libsecp256k1 (WASM, tiny-secp256k1) decompresses the same point in a few µs.
//
// The SDK's code reads `lift_x` from the curve module's `schnorr.utils` object at each call, so
// it is swapped there, once, for a function with the same input (a bigint x), the same output
// (the curve's own Point, with even y, checked on the curve) and the same refusals. If the
// library ever changes shape, nothing is swapped and it keeps its own.
//
// The same few keys come back all the time (the Ark server's, the gateway's, each active
// user's: a transfer lifts each of them several times), so lifted points are also kept in a
// small bounded memo. The curve's points are frozen objects: sharing one is safe.
import { createRequire } from 'node:module';
import * as ecc from 'tiny-secp256k1';

interface CurvePoint {
  assertValidity(): void;
}

interface NobleSecp256k1 {
  schnorr?: { utils?: { lift_x?: (x: bigint) => CurvePoint } };
  secp256k1?: {
    Point?: { fromAffine(p: { x: bigint; y: bigint }): CurvePoint; Fp?: { ORDER?: bigint } };
  };
}

const FIELD_PRIME = 2n ** 256n - 2n ** 32n - 977n;

/** The curve module the SDK's @scure/btc-signer imports (resolved from where it sits). */
export function sdkCurveModule(): NobleSecp256k1 {
  const fromHere = createRequire(import.meta.url);
  const fromSdk = createRequire(fromHere.resolve('@arkade-os/sdk'));
  const fromSigner = createRequire(fromSdk.resolve('@scure/btc-signer'));
  // require() of an ES module returns the instance import() loaded: the one the SDK uses.
  return fromSigner('@noble/curves/secp256k1.js') as NobleSecp256k1;
}

function bytes32(x: bigint): Uint8Array {
  return Uint8Array.from(Buffer.from(x.toString(16).padStart(64, '0'), 'hex'));
}

/** Lifted points kept; the memo is emptied when full (keys in use come back in at once). */
const MEMO_SIZE = 4096;

let installed = false;

/** Idempotent; answers whether the SDK now lifts points through libsecp256k1. */
export function liftPointsWithLibsecp256k1(): boolean {
  if (installed) return true;
  let curve: NobleSecp256k1;
  try {
    curve = sdkCurveModule();
  } catch {
    return false;
  }
  const utils = curve.schnorr?.utils;
  const Point = curve.secp256k1?.Point;
  if (!utils || typeof utils.lift_x !== 'function' || !Point || Point.Fp?.ORDER !== FIELD_PRIME) {
    return false;
  }
  const memo = new Map<bigint, CurvePoint>();
  utils.lift_x = (x: bigint): CurvePoint => {
    const known = memo.get(x);
    if (known) return known;
    if (typeof x !== 'bigint' || x <= 0n || x >= FIELD_PRIME) {
      throw new Error('invalid x: Fail if x ≥ p');
    }
    let full: Uint8Array | null;
    try {
      // 0x02 ‖ x: the point with this x and an even y, decompressed (and checked) by libsecp256k1.
      full = ecc.pointCompress(Uint8Array.of(2, ...bytes32(x)), false);
    } catch {
      full = null;
    }
    if (!full) throw new Error('Cannot find square root');
    const y = BigInt(`0x${Buffer.from(full.subarray(33, 65)).toString('hex')}`);
    const point = Point.fromAffine({ x, y });
    point.assertValidity();
    if (memo.size >= MEMO_SIZE) memo.clear();
    memo.set(x, point);
    return point;
  };
  installed = true;
  return true;
}
