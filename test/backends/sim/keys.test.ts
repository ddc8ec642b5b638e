import { describe, expect, it } from 'vitest';
import { deriveKey, isXOnlyKey } from '../../../src/backends/sim/keys.ts';

const P = 2n ** 256n - 2n ** 32n - 977n;
const hex64 = (n: bigint) => n.toString(16).padStart(64, '0');

describe('the simulator checks x-only keys', () => {
  it('accepts keys on the curve and refuses everything else', () => {
    for (const label of ['server', 'a', 'b'])
      expect(isXOnlyKey(deriveKey('seed', label).xOnlyHex)).toBe(true);
    expect(isXOnlyKey(hex64(1n))).toBe(true); // 1³ + 7 = 8 is a square mod p
    expect(isXOnlyKey(hex64(5n))).toBe(false); // 132 is not: no point has x = 5
    expect(isXOnlyKey(hex64(0n))).toBe(false);
    expect(isXOnlyKey(hex64(P))).toBe(false);
    expect(isXOnlyKey(hex64(P + 1n))).toBe(false); // x ≥ p, even though p + 1 ≡ 1
    expect(isXOnlyKey(deriveKey('seed', 'a').xOnlyHex.toUpperCase())).toBe(false); // lowercase hex only
    expect(isXOnlyKey(hex64(1n).slice(2))).toBe(false);
  });
});
