import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ProtocolError } from '../../src/domain/error-codes.ts';
import { checkFee, debitsOf, parseIntent, requiredFee, type Intent } from '../../src/domain/intents.ts';
import { BOB, codeOf, intentEvent, RULES, SCHEDULE, transferContent } from './intent-support.ts';

const TXID = 'cd'.repeat(32);
const intentOf = (type: string, params: unknown, fee?: unknown) => {
  const content = transferContent({ type, params, fee });
  return parseIntent(intentEvent(content), RULES);
};
const transfer = (assetId: string, amount: number, fee?: unknown) =>
  intentOf('transfer:p2p', { recipient: BOB, asset_id: assetId, amount }, fee);
const land = (amount: bigint | number, fee?: unknown) =>
  intentOf('lightning:land', { asset_id: 'USDX', amount: String(amount), invoice: 'lnbc1qqq' }, fee);
const split = (fee?: unknown) => intentOf('vtxo:split', { vtxo_id: `${TXID}:0`, amounts: [5, 7] }, fee);
const swap = (fee?: unknown) =>
  intentOf(
    'swap:atomic',
    {
      give: [
        { asset_id: 'USDX', amount: 40 },
        { asset_id: 'gBTC', amount: 100 },
      ],
      receive: [{ asset_id: 'LP', amount: 3 }],
      counterparty: BOB,
    },
    fee,
  );
const gbtc = (amount: bigint) => ({ assetId: 'gBTC', amount });

describe('requiredFee', () => {
  it('is the flat fee for every type but a land', () => {
    for (const intent of [transfer('USDX', 5), split(), swap()]) {
      expect(requiredFee(intent, SCHEDULE)).toEqual(gbtc(10n));
    }
    expect(requiredFee(transfer('gBTC', 5), { ...SCHEDULE, intentAmount: 25n, intentAsset: 'FEE' })).toEqual({
      assetId: 'FEE',
      amount: 25n,
    });
  });

  it.each([
    [1n, 1n], // 0.001 rounds up to the minimum of 1
    [999_999n, 1000n], // 999.999 rounds up
    [1_000_000n, 1000n], // exact
    [1_000_001n, 1001n], // 1000.001 rounds up
    [2n ** 63n - 1n, 9_223_372_036_854_776n], // no overflow: bigint throughout
  ])('is the 1000 ppm share of a land of %s, rounded up: %s, in the landed asset', (amount, fee) => {
    expect(requiredFee(land(amount), SCHEDULE)).toEqual({ assetId: 'USDX', amount: fee });
  });

  it('is at least 1 for a land even at 0 ppm', () => {
    expect(requiredFee(land(1_000_000), { ...SCHEDULE, landPpm: 0n })).toEqual({
      assetId: 'USDX',
      amount: 1n,
    });
  });

  it('for a land is the smallest whole amount >= 1 covering amount × ppm / 1e6 (property)', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 2n ** 63n - 1n }),
        fc.bigInt({ min: 0n, max: 1_000_000n }),
        (amount, ppm) => {
          const params = { type: 'lightning:land' as const, assetId: 'X', amount, invoice: 'lnbc1' };
          const fee = requiredFee({ type: 'lightning:land', params }, { ...SCHEDULE, landPpm: ppm }).amount;
          // Independent characterisation of the ceiling: fee covers the share, fee - 1 does not
          // (unless fee is the minimum of 1).
          expect(fee).toBeGreaterThanOrEqual(1n);
          expect(fee * 1_000_000n).toBeGreaterThanOrEqual(amount * ppm);
          if (fee > 1n) expect((fee - 1n) * 1_000_000n).toBeLessThan(amount * ppm);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('checkFee', () => {
  it('accepts exactly the required fee', () => {
    expect(() => checkFee(transfer('gBTC', 5, { asset_id: 'gBTC', amount: 10 }), SCHEDULE)).not.toThrow();
    expect(() => checkFee(land(1_000_001, { asset_id: 'USDX', amount: '1001' }), SCHEDULE)).not.toThrow();
  });

  it.each([
    ['missing', transfer('gBTC', 5, undefined), null],
    ['too low', transfer('gBTC', 5, { asset_id: 'gBTC', amount: 9 }), { asset_id: 'gBTC', amount: '9' }],
    ['too high', transfer('gBTC', 5, { asset_id: 'gBTC', amount: 11 }), { asset_id: 'gBTC', amount: '11' }],
    ['zero', transfer('gBTC', 5, { asset_id: 'gBTC', amount: 0 }), { asset_id: 'gBTC', amount: '0' }],
    [
      'in another asset',
      transfer('gBTC', 5, { asset_id: 'USDX', amount: 10 }),
      { asset_id: 'USDX', amount: '10' },
    ],
  ] as [string, Intent, unknown][])(
    'rejects a fee %s with 4001 naming the expected fee',
    (_, intent, given) => {
      expect(codeOf(() => checkFee(intent, SCHEDULE))).toBe(4001);
      try {
        checkFee(intent, SCHEDULE);
      } catch (error) {
        // JSON-safe details: the 31341 carries them as is.
        expect((error as ProtocolError).details).toEqual({
          expected: { asset_id: 'gBTC', amount: '10' },
          given,
        });
        expect(() => JSON.stringify((error as ProtocolError).details)).not.toThrow();
      }
    },
  );

  it('rejects a land paying the flat fee instead of its share (4001)', () => {
    expect(codeOf(() => checkFee(land(1_000_000, { asset_id: 'gBTC', amount: 10 }), SCHEDULE))).toBe(4001);
    expect(codeOf(() => checkFee(land(1_000_000, { asset_id: 'USDX', amount: 999 }), SCHEDULE))).toBe(4001);
  });
});

describe('debitsOf', () => {
  it('merges amount and fee in the same asset', () => {
    expect(debitsOf(transfer('gBTC', 500), SCHEDULE)).toEqual([gbtc(510n)]);
    expect(debitsOf(land(1_000_000), SCHEDULE)).toEqual([{ assetId: 'USDX', amount: 1_001_000n }]);
  });

  it('lists amount and fee apart in different assets', () => {
    expect(debitsOf(transfer('USDX', 500), SCHEDULE)).toEqual([{ assetId: 'USDX', amount: 500n }, gbtc(10n)]);
  });

  it('is the fee only for a split', () => {
    expect(debitsOf(split(), SCHEDULE)).toEqual([gbtc(10n)]);
  });

  it('is everything given plus the fee for a swap leg', () => {
    expect(debitsOf(swap(), SCHEDULE)).toEqual([{ assetId: 'USDX', amount: 40n }, gbtc(110n)]);
  });
});
