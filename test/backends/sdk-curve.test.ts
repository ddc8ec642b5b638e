import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DefaultVtxo } from '@arkade-os/sdk';
import * as ecc from 'tiny-secp256k1';
import { liftPointsWithLibsecp256k1, sdkCurveModule } from '../../src/backends/ark/sdk-curve.ts';

const P = 2n ** 256n - 2n ** 32n - 977n;
type Lift = (x: bigint) => { x: bigint; y: bigint; toHex(): string };

function outcome(lift: Lift, x: bigint): string {
  try {
    const point = lift(x);
    return `${point.x}:${point.y}`;
  } catch {
    return 'refused';
  }
}

describe('the Ark SDK lifts x-only keys through libsecp256k1', () => {
  const utils = sdkCurveModule().schnorr!.utils! as unknown as { lift_x: Lift };
  const pure = utils.lift_x;

  it('answers exactly as the pure-JS lift_x, refusals included, and the SDK uses it', () => {
    const xs = [
      0n,
      1n, // x³ + 7 = 8 has a square root
      5n, // and 132 has none: refused
      P - 1n,
      P,
      P + 1n,
      ...Array.from({ length: 200 }, () => BigInt(`0x${randomBytes(32).toString('hex')}`)),
    ];
    const expected = xs.map((x) => outcome(pure, x));
    expect(expected.filter((e) => e === 'refused').length).toBeGreaterThan(2);
    // A VTXO script as the SDK builds it: P2TR keys checked and tweaked through lift_x.
    const [owner, server] = [1, 2].map(() =>
      Buffer.from(ecc.xOnlyPointFromScalar(randomBytes(32))).toString('hex'),
    );
    const script = () =>
      Buffer.from(
        new DefaultVtxo.Script({
          pubKey: Buffer.from(owner!, 'hex'),
          serverPubKey: Buffer.from(server!, 'hex'),
          csvTimelock: { type: 'blocks', value: 144n },
        }).pkScript,
      ).toString('hex');
    const scriptBefore = script();

    expect(liftPointsWithLibsecp256k1()).toBe(true);
    expect(utils.lift_x).not.toBe(pure);
    expect(xs.map((x) => outcome(utils.lift_x, x))).toEqual(expected);

    // The SDK's signer reads the swapped function: count the calls it makes.
    const swapped = utils.lift_x;
    let calls = 0;
    utils.lift_x = (x) => {
      calls++;
      return swapped(x);
    };
    try {
      expect(script()).toBe(scriptBefore);
      expect(calls).toBeGreaterThan(0);
    } finally {
      utils.lift_x = swapped;
    }
    expect(liftPointsWithLibsecp256k1()).toBe(true);
  });
});
