import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { selectCoins, splitAmounts, type Coin } from './coin-selection.ts';
import { ProtocolError } from './error-codes.ts';

const coinsArb = (maxLength: number, maxAmount: bigint) =>
  fc.uniqueArray(
    fc.record({
      id: fc.string({ minLength: 1, maxLength: 6 }),
      amount: fc.bigInt({ min: 1n, max: maxAmount }),
    }),
    { selector: (c) => c.id, maxLength },
  );

function codeOf(fn: () => unknown): number | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    if (error instanceof ProtocolError) return error.code;
    throw error;
  }
}

/** Exhaustive: the fewest inputs, then least change, of any valid set; undefined when none. */
function bruteForce(coins: readonly Coin[], target: bigint, dust: bigint, maxInputs = Infinity) {
  let best: { count: number; change: bigint } | undefined;
  for (let mask = 1; mask < 1 << coins.length; mask++) {
    let sum = 0n;
    let count = 0;
    coins.forEach((c, i) => {
      if (mask & (1 << i)) {
        sum += c.amount;
        count++;
      }
    });
    const change = sum - target;
    if (count > maxInputs || change < 0n || (change > 0n && change < dust)) continue;
    if (!best || count < best.count || (count === best.count && change < best.change))
      best = { count, change };
  }
  return best;
}

describe('selectCoins', () => {
  it('orders equal-amount inputs the same whatever the order given (found by fast-check)', () => {
    const coins = [
      { id: ' ', amount: 4611686018427387895n },
      { id: '!', amount: 4611686018427387895n },
    ];
    const pick = (list: typeof coins) =>
      selectCoins(list, 4611686018427335300n, { dustLimit: 52596n }).inputs.map((c) => c.id);
    expect(pick(coins)).toEqual([' ', '!']);
    expect(pick([...coins].reverse())).toEqual([' ', '!']);
  });

  it('covers the target with valid change and no duplicate inputs, deterministically', () => {
    fc.assert(
      fc.property(
        coinsArb(40, 2n ** 62n),
        fc.bigInt({ min: 1n, max: 2n ** 66n }),
        fc.bigInt({ min: 0n, max: 10n ** 6n }),
        (coins, target, dust) => {
          let result;
          try {
            result = selectCoins(coins, target, { dustLimit: dust });
          } catch (error) {
            expect(error).toBeInstanceOf(ProtocolError);
            const sum = coins.reduce((a, c) => a + c.amount, 0n);
            expect((error as ProtocolError).code).toBe(sum < target ? 2001 : 2004);
            return;
          }
          const total = result.inputs.reduce((a, c) => a + c.amount, 0n);
          expect(result.total).toBe(total);
          expect(total >= target).toBe(true);
          expect(result.change).toBe(total - target);
          expect(result.change === 0n || result.change >= dust).toBe(true);
          expect(new Set(result.inputs.map((c) => c.id)).size).toBe(result.inputs.length);
          // Same ledger in another order: the same selection.
          const again = selectCoins([...coins].reverse(), target, { dustLimit: dust });
          expect(again.inputs.map((c) => c.id)).toEqual(result.inputs.map((c) => c.id));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('uses the fewest inputs, then the least change, as an exhaustive search does (small sets)', () => {
    fc.assert(
      fc.property(
        coinsArb(11, 60n),
        fc.bigInt({ min: 1n, max: 200n }),
        fc.bigInt({ min: 0n, max: 12n }),
        fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }),
        (coins, target, dust, maxInputs) => {
          const best = bruteForce(coins, target, dust, maxInputs);
          const code = codeOf(() => selectCoins(coins, target, { dustLimit: dust, maxInputs }));
          if (!best) {
            const sum = coins.reduce((a, c) => a + c.amount, 0n);
            expect(code).toBe(sum < target ? 2001 : 2004);
            return;
          }
          expect(code).toBeUndefined();
          const result = selectCoins(coins, target, { dustLimit: dust, maxInputs });
          expect([result.inputs.length, result.change]).toEqual([best.count, best.change]);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('stays valid when the search budget runs out (large sets, tiny budget)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: 1n, max: 1_000n }), { minLength: 50, maxLength: 300 }),
        fc.bigInt({ min: 1n, max: 20_000n }),
        fc.bigInt({ min: 0n, max: 400n }),
        fc.integer({ min: 1, max: 200 }),
        (amounts, target, dust, maxNodes) => {
          const coins = amounts.map((amount, i) => ({ id: `v${i}`, amount }));
          const options = { dustLimit: dust, maxNodes };
          const code = (() => {
            try {
              const r = selectCoins(coins, target, options);
              expect(r.total >= target && (r.change === 0n || r.change >= dust)).toBe(true);
              expect(r.inputs.reduce((a, c) => a + c.amount, 0n)).toBe(r.total);
              expect(new Set(r.inputs.map((c) => c.id)).size).toBe(r.inputs.length);
              return undefined;
            } catch (error) {
              return (error as ProtocolError).code;
            }
          })();
          const sum = amounts.reduce((a, b) => a + b, 0n);
          if (sum < target) expect(code).toBe(2001);
          else if (sum === target || sum - target >= dust) expect(code).toBeUndefined();
        },
      ),
      { numRuns: 200 },
    );
  });

  it('prefers one exact coin, then the smallest covering coin, ties by id', () => {
    const coins = [
      { id: 'b', amount: 700n },
      { id: 'a', amount: 700n },
      { id: 'c', amount: 500n },
      { id: 'd', amount: 300n },
      { id: 'e', amount: 200n },
    ];
    expect(selectCoins(coins, 500n, { dustLimit: 10n }).inputs.map((c) => c.id)).toEqual(['c']);
    expect(selectCoins(coins, 600n, { dustLimit: 10n }).inputs.map((c) => c.id)).toEqual(['a']);
    // 695 from a 700 (or 500 + 200) leaves 5 < dust: 500 + 300 leaves 105 instead.
    const r = selectCoins(coins, 695n, { dustLimit: 10n });
    expect([r.inputs.map((c) => c.id), r.change]).toEqual([['c', 'd'], 105n]);
  });

  it('fails 2001 when the balance is short and 2004 when only sub-dust change is possible', () => {
    expect(codeOf(() => selectCoins([{ id: 'a', amount: 5n }], 6n, { dustLimit: 1n }))).toBe(2001);
    expect(codeOf(() => selectCoins([{ id: 'a', amount: 105n }], 100n, { dustLimit: 10n }))).toBe(2004);
    expect(codeOf(() => selectCoins([{ id: 'a', amount: 5n }], 0n, { dustLimit: 1n }))).toBe(2004);
    const many = Array.from({ length: 10 }, (_, i) => ({ id: `c${i}`, amount: 10n }));
    expect(codeOf(() => selectCoins(many, 50n, { dustLimit: 1n, maxInputs: 4 }))).toBe(2004);
    expect(selectCoins(many, 50n, { dustLimit: 1n, maxInputs: 5 }).inputs).toHaveLength(5);
  });

  it('pays with thousands of inputs without recursing too deep', () => {
    const coins = Array.from({ length: 20_000 }, (_, i) => ({ id: `c${i}`, amount: BigInt(1 + (i % 3)) }));
    const r = selectCoins(coins, 30_000n, { dustLimit: 330n });
    expect([r.change, r.inputs.reduce((a, c) => a + c.amount, 0n)]).toEqual([0n, 30_000n]);
    expect(r.inputs.length).toBe(11_667); // 6 667 threes + 4 999 twos + a one: the fewest
  });

  it('handles amounts beyond 2^53 exactly', () => {
    const big = 2n ** 60n + 1n;
    const r = selectCoins(
      [
        { id: 'x', amount: big },
        { id: 'y', amount: big + 1n },
      ],
      2n * big + 1n,
      { dustLimit: 1n },
    );
    expect([r.total, r.change]).toEqual([2n * big + 1n, 0n]);
  });
});

describe('splitAmounts', () => {
  it('accepts parts >= dust that sum to the total', () => {
    expect(splitAmounts(1000n, [600n, 400n], { dustLimit: 330n })).toEqual([600n, 400n]);
  });
  it('refuses zero, negative, sub-dust parts (2004) and sums that do not add up (1002)', () => {
    const split = (parts: bigint[]) => codeOf(() => splitAmounts(1000n, parts, { dustLimit: 100n }));
    expect(split([1000n, 0n])).toBe(2004);
    expect(split([1100n, -100n])).toBe(2004);
    expect(split([950n, 50n])).toBe(2004);
    expect(split([500n, 400n])).toBe(1002);
    expect(split([1000n])).toBe(1002);
    expect(codeOf(() => splitAmounts(1000n, [500, 500] as unknown as bigint[], { dustLimit: 1n }))).toBe(
      1002,
    );
  });
  it('holds for random splits', () => {
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: 1n, max: 10n ** 18n }), { minLength: 2, maxLength: 8 }),
        (parts) => {
          const total = parts.reduce((a, b) => a + b, 0n);
          expect(splitAmounts(total, parts, { dustLimit: 1n })).toEqual(parts);
          expect(codeOf(() => splitAmounts(total + 1n, parts, { dustLimit: 1n }))).toBe(1002);
        },
      ),
    );
  });
});
