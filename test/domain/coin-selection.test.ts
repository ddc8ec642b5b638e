import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  fewestInputs,
  selectAmounts,
  selectCoins,
  selectFromPrefix,
  splitAmounts,
  type AmountSelection,
  type Coin,
  type FrontierHit,
  type PartialAmounts,
  type SelectionOptions,
} from '../../src/domain/coin-selection.ts';
import { ProtocolError } from '../../src/domain/error-codes.ts';

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

const desc = (a: bigint, b: bigint) => (a > b ? -1 : a < b ? 1 : 0);

/**
 * What a database holding `coins` hands selectAmounts: every coin >= `exactDown` one by one,
 * the amounts from `floor` up to it once each, nothing below `floor`.
 */
function view(coins: readonly Coin[], floor: bigint, exactDown: bigint) {
  const sorted = coins.map((c) => c.amount).sort(desc);
  const exact = sorted.filter((a) => a >= floor && a >= exactDown);
  const distinct = [...new Set(sorted.filter((a) => a >= floor && a < exactDown))];
  const partial: PartialAmounts = {
    omittedBelow: sorted.some((a) => a < floor) ? floor : undefined,
    distinctFrom: exact.length,
  };
  return { amounts: BigInt64Array.from([...exact, ...distinct]), partial };
}

/** A selection as amounts and change, or the error's code and message: comparable with toEqual. */
function outcome(work: () => { amounts: readonly bigint[]; change: bigint } | undefined) {
  try {
    return work();
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    return { code: error.code, message: error.message };
  }
}
const overAll = (coins: readonly Coin[], target: bigint, options: SelectionOptions) =>
  outcome(() => {
    const r = selectCoins(coins, target, options);
    return { amounts: r.inputs.map((c) => c.amount), change: r.change };
  });
const overPart = (
  view: { amounts: BigInt64Array; partial: PartialAmounts },
  target: bigint,
  options: SelectionOptions,
) => outcome(() => selectAmounts(view.amounts, target, options, view.partial));

describe('selectAmounts over the largest coins', () => {
  it('gives k, L and M', () => {
    const largest = BigInt64Array.from([50n, 40n, 30n, 20n]);
    // 50 + 40 < 100 <= 50 + 40 + 30: k = 3, L = 100 - 90 = 10, M = ceil((100 - 50) / 2) = 25.
    expect(fewestInputs(largest, 100n)).toEqual({ count: 3, floor: 10n, branchFloor: 25n });
    expect(fewestInputs(largest, 101n)).toEqual({ count: 3, floor: 11n, branchFloor: 26n });
    expect(fewestInputs(largest, 45n)).toEqual({ count: 1, floor: 45n, branchFloor: 45n });
    expect(fewestInputs(largest, 141n)).toBeUndefined();
  });

  it('answers exactly as selectCoins over every coin, or not at all; always when the bounds and the greedy k-set allow', () => {
    let answered = 0;
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: 1n, max: 40n }), { minLength: 5, maxLength: 90, size: 'max' }),
        fc.integer({ min: 1, max: 1000 }),
        fc.bigInt({ min: 0n, max: 8n }),
        fc.option(fc.integer({ min: 1, max: 30 }), { nil: undefined }),
        fc.option(fc.integer({ min: 1, max: 300 }), { nil: undefined }),
        fc.integer({ min: -3, max: 2 }),
        fc.integer({ min: -3, max: 3 }),
        (amounts, permille, dustLimit, maxInputs, maxNodes, floorShift, exactShift) => {
          const coins = amounts.map((amount, i) => ({ id: `c${i}`, amount }));
          const balance = amounts.reduce((a, b) => a + b, 0n);
          const target = 1n + (balance * BigInt(permille)) / 1000n;
          const options = { dustLimit, maxInputs, maxNodes };
          const least = fewestInputs(BigInt64Array.from([...amounts].sort(desc)), target);
          if (!least) return;
          const part = view(coins, least.floor + BigInt(floorShift), least.branchFloor + BigInt(exactShift));
          const answer = overPart(part, target, options);
          if (answer !== undefined) {
            answered++;
            expect(answer).toEqual(overAll(coins, target, options));
          }
          // The greedy k-set: the k - 1 largest coins plus one more that is exactly L or >= L + dust.
          const rest = [...amounts].sort(desc).slice(least.count - 1);
          const greedy = rest.some((a) => a === least.floor || a >= least.floor + dustLimit);
          if (floorShift <= 0 && exactShift <= 0 && (greedy || least.count > (maxInputs ?? Infinity))) {
            expect(answer).toBeDefined();
          }
        },
      ),
      { numRuns: 3000 },
    );
    expect(answered).toBeGreaterThan(1000);
  });

  it('runs out of budget at the same step as over every coin (a coin below L still costs its step)', () => {
    // k = 3 (16 + 15 + 15 >= 33), L = 2: the two 1s are left out. Without counting the step the
    // search would spend on the first of them, some budgets below give another answer.
    const coins = [15n, 1n, 15n, 16n, 1n, 15n].map((amount, i) => ({ id: `c${i}`, amount }));
    const part = view(coins, 2n, 0n);
    expect(part.partial.omittedBelow).toBe(2n);
    for (let maxNodes = 1; maxNodes <= 60; maxNodes++) {
      const options = { dustLimit: 0n, maxNodes };
      expect([maxNodes, overPart(part, 33n, options)]).toEqual([maxNodes, overAll(coins, 33n, options)]);
    }
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: 1n, max: 20n }), { minLength: 8, maxLength: 40, size: 'max' }),
        fc.integer({ min: 100, max: 700 }),
        (amounts, permille) => {
          const coins = amounts.map((amount, i) => ({ id: `c${i}`, amount }));
          const target = 1n + (amounts.reduce((a, b) => a + b, 0n) * BigInt(permille)) / 1000n;
          const least = fewestInputs(BigInt64Array.from([...amounts].sort(desc)), target)!;
          const part = view(coins, least.floor, least.branchFloor);
          for (let maxNodes = 1; maxNodes <= 120; maxNodes++) {
            const options = { dustLimit: 0n, maxNodes };
            const answer = overPart(part, target, options);
            if (answer === undefined) return;
            expect(answer).toEqual(overAll(coins, target, options));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('needs every coin >= L: one exactly at L can be the answer', () => {
    // k = 2, L = 100 - 60 = 40; 60 + 40 pays exactly.
    const coins = [60n, 45n, 40n, 10n].map((amount, i) => ({ id: `c${i}`, amount }));
    const options = { dustLimit: 10n };
    expect(overAll(coins, 100n, options)).toEqual({ amounts: [60n, 40n], change: 0n });
    expect(overPart(view(coins, 40n, 0n), 100n, options)).toEqual({ amounts: [60n, 40n], change: 0n });
    // Told that every coin left out is below 41: it cannot rule out one of 40.
    const part = view(coins, 41n, 0n);
    expect(part.partial.omittedBelow).toBe(41n);
    expect(overPart(part, 100n, options)).toBeUndefined();
  });

  it('gives no answer when the greedy k-set is invalid: a coin below L may then be in the best set', () => {
    // k = 2, L = 40, but 60 + 45 leaves change 5 < dust and no coin is exactly 40: the best set has
    // three inputs, and the third is the 5, far below L.
    const coins = [60n, 45n, 10n, 5n].map((amount, i) => ({ id: `c${i}`, amount }));
    const options = { dustLimit: 10n };
    expect(overAll(coins, 100n, options)).toEqual({ amounts: [60n, 45n, 5n], change: 10n });
    expect(overPart(view(coins, 40n, 0n), 100n, options)).toBeUndefined();
    // With maxInputs 2 no set is valid: over every coin that is 2004, which part of them cannot tell.
    expect(overAll(coins, 100n, { ...options, maxInputs: 2 })).toMatchObject({ code: 2004 });
    expect(overPart(view(coins, 40n, 0n), 100n, { ...options, maxInputs: 2 })).toBeUndefined();
  });

  it('needs every coin >= M one by one: two coins of exactly M can be the answer', () => {
    // k = 2, L = 10 - 9 = 1, M = ceil(10 / 2) = 5: the two 5s pay exactly.
    const coins = [9n, 5n, 5n, 3n].map((amount, i) => ({ id: `c${i}`, amount }));
    const options = { dustLimit: 0n };
    expect(overAll(coins, 10n, options)).toEqual({ amounts: [5n, 5n], change: 0n });
    const part = view(coins, 1n, 5n);
    expect(Array.from(part.amounts)).toEqual([9n, 5n, 5n, 3n]);
    expect(overPart(part, 10n, options)).toEqual({ amounts: [5n, 5n], change: 0n });
    // The 5s given once (as if M were 6): 9 + 3 would look best; it must not answer.
    const short = view(coins, 1n, 6n);
    expect(Array.from(short.amounts)).toEqual([9n, 5n, 3n]);
    expect(overPart(short, 10n, options)).toBeUndefined();
  });

  it('refuses amounts out of order, repeated after distinctFrom, or a bound above a coin given', () => {
    const options = { dustLimit: 0n };
    const select = (amounts: bigint[], partial?: PartialAmounts) => () =>
      selectAmounts(BigInt64Array.from(amounts), 5n, options, partial);
    expect(select([3n, 4n])).toThrow(RangeError);
    expect(select([4n, 0n])).toThrow(RangeError);
    expect(select([4n, 3n, 3n], { distinctFrom: 2 })).toThrow(RangeError);
    expect(select([4n, 3n, 3n], { distinctFrom: 3 })).not.toThrow();
    expect(select([4n, 3n], { omittedBelow: 4n })).toThrow(RangeError);
    expect(codeOf(select([2n, 1n]))).toBe(2001);
  });
});

/** Descending amounts as (amount, count) groups, largest first. */
function groupsOf(amounts: readonly bigint[]): [bigint, number][] {
  const groups: [bigint, number][] = [];
  for (const a of [...amounts].sort(desc)) {
    const last = groups.at(-1);
    if (last && last[0] === a) last[1]++;
    else groups.push([a, 1]);
  }
  return groups;
}
/** The coins of the first `taken` groups, one amount per coin. */
const prefixOf = (groups: readonly [bigint, number][], taken: number) =>
  BigInt64Array.from(groups.slice(0, taken).flatMap(([a, c]) => Array<bigint>(c).fill(a)));
/** selectFromPrefix's answer or hit, or the error's code and message. */
function overPrefix(
  work: () => AmountSelection | FrontierHit,
): AmountSelection | FrontierHit | { code: number; message: string } {
  try {
    return work();
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    return { code: error.code, message: error.message };
  }
}
/** The smallest amount >= v, or null: what an index seek answers. */
const ceilIn = (amounts: readonly bigint[]) => (v: bigint) =>
  amounts.reduce<bigint | null>((best, a) => (a >= v && (best === null || a < best) ? a : best), null);

describe('selectFromPrefix: the search over the largest coins with the frontier check', () => {
  const amountsArb = fc.array(fc.bigInt({ min: 1n, max: 40n }), { minLength: 2, maxLength: 90, size: 'max' });
  const optionsArb = fc.record({
    dustLimit: fc.bigInt({ min: 0n, max: 8n }),
    maxInputs: fc.option(fc.integer({ min: 1, max: 30 }), { nil: undefined }),
    maxNodes: fc.option(fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 400 })), {
      nil: undefined,
    }),
  });

  it('answers exactly as selectCoins over every coin, or says what it needs (one prefix, one partial oracle)', () => {
    const seen = { answeredShort: 0, answeredBelow: 0, readMore: 0, lookup: 0 };
    fc.assert(
      fc.property(
        amountsArb,
        fc.integer({ min: 1, max: 1000 }),
        optionsArb,
        fc.nat(),
        fc.constantFrom('none', 'all', 'some'),
        (amounts, permille, options, cutSeed, knows) => {
          const coins = amounts.map((amount, i) => ({ id: `c${i}`, amount }));
          const target = 1n + (amounts.reduce((a, b) => a + b, 0n) * BigInt(permille)) / 1000n;
          const groups = groupsOf(amounts);
          const taken = cutSeed % (groups.length + 1);
          const largest = prefixOf(groups, taken);
          const ceil = ceilIn(amounts);
          const known = (v: bigint) =>
            knows === 'all' || (knows === 'some' && v % 3n !== 0n) ? ceil(v) : undefined;
          const complete = taken === groups.length;
          const answer = overPrefix(() => selectFromPrefix(largest, target, options, complete, known));
          if ('readMore' in answer) {
            expect(complete).toBe(false);
            seen.readMore++;
          } else if ('lookup' in answer) {
            expect([complete, known(answer.lookup)]).toEqual([false, undefined]);
            seen.lookup++;
          } else {
            expect(answer).toEqual(overAll(coins, target, options));
            if (!complete) seen.answeredShort++;
            const lowest = largest.at(-1);
            if (!complete && 'amounts' in answer && answer.amounts.some((a) => a < lowest!)) {
              seen.answeredBelow++;
            }
          }
        },
      ),
      { numRuns: 4000 },
    );
    expect(seen.answeredShort).toBeGreaterThan(200);
    expect(seen.answeredBelow).toBeGreaterThan(20);
    expect(seen.readMore).toBeGreaterThan(200);
    expect(seen.lookup).toBeGreaterThan(100);
  });

  it('reaches selectCoins over every coin, reading more and looking up as asked', () => {
    let shortAnswers = 0;
    fc.assert(
      fc.property(
        amountsArb,
        fc.integer({ min: 1, max: 1000 }),
        optionsArb,
        fc.integer({ min: 1, max: 5 }),
        (amounts, permille, options, step) => {
          const coins = amounts.map((amount, i) => ({ id: `c${i}`, amount }));
          const target = 1n + (amounts.reduce((a, b) => a + b, 0n) * BigInt(permille)) / 1000n;
          const groups = groupsOf(amounts);
          const ceil = ceilIn(amounts);
          const known = new Map<bigint, bigint | null>();
          let taken = 1;
          for (;;) {
            const complete = taken >= groups.length;
            const answer = overPrefix(() =>
              selectFromPrefix(prefixOf(groups, taken), target, options, complete, (v) => known.get(v)),
            );
            if ('readMore' in answer) taken += step;
            else if ('lookup' in answer) known.set(answer.lookup, ceil(answer.lookup));
            else {
              expect(answer).toEqual(overAll(coins, target, options));
              if (!complete) shortAnswers++;
              return;
            }
          }
        },
      ),
      { numRuns: 2000 },
    );
    expect(shortAnswers).toBeGreaterThan(500);
  });

  it('reads more when the fallback (budget spent before any valid set) would go past the prefix', () => {
    // 10 + 6 leaves 3 < dust 8; 10 + 6 + 5 leaves 8. With the budget gone at once, the fallback
    // tries the m - 1 largest plus a last input for m = 2, 3: m = 3 takes a coin below the prefix.
    const coins = [10n, 6n, 5n].map((amount, i) => ({ id: `c${i}`, amount }));
    for (const maxInputs of [2, 3, 4, undefined]) {
      for (let maxNodes = 1; maxNodes <= 6; maxNodes++) {
        const options = { dustLimit: 8n, maxInputs, maxNodes };
        const answer = outcome(() => {
          const r = selectFromPrefix(
            BigInt64Array.from([10n, 6n]),
            13n,
            options,
            false,
            ceilIn([10n, 6n, 5n]),
          );
          return 'amounts' in r ? r : undefined;
        });
        if (answer !== undefined) expect([options, answer]).toEqual([options, overAll(coins, 13n, options)]);
      }
    }
    expect(overAll(coins, 13n, { dustLimit: 8n, maxInputs: 3, maxNodes: 1 })).toEqual({
      amounts: [10n, 6n, 5n],
      change: 8n,
    });
  });

  it('runs out of budget at the same step as over every coin', () => {
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: 1n, max: 20n }), { minLength: 8, maxLength: 40, size: 'max' }),
        fc.integer({ min: 100, max: 900 }),
        fc.bigInt({ min: 0n, max: 4n }),
        fc.nat(),
        (amounts, permille, dustLimit, cutSeed) => {
          const coins = amounts.map((amount, i) => ({ id: `c${i}`, amount }));
          const target = 1n + (amounts.reduce((a, b) => a + b, 0n) * BigInt(permille)) / 1000n;
          const groups = groupsOf(amounts);
          const taken = 1 + (cutSeed % groups.length);
          const largest = prefixOf(groups, taken);
          for (let maxNodes = 1; maxNodes <= 80; maxNodes++) {
            const options = { dustLimit, maxNodes };
            const answer = outcome(() => {
              const r = selectFromPrefix(largest, target, options, false, ceilIn(amounts));
              return 'amounts' in r ? r : undefined;
            });
            if (answer !== undefined)
              expect([maxNodes, answer]).toEqual([maxNodes, overAll(coins, target, options)]);
          }
        },
      ),
      { numRuns: 300 },
    );
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
