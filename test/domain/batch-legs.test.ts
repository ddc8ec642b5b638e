import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../src/domain/error-codes.ts';
import { checkBatchLegs, parseIntent, type AssetAmount, type Intent } from '../../src/domain/intents.ts';
import { BOB, codeOf, intentEvent, KEYS, RULES, transferContent, wireParams } from './intent-support.ts';

const USERS = KEYS.slice(2, 18);

interface Leg {
  readonly author: string;
  readonly type: 'swap:atomic' | 'liquidity:add';
  readonly give: AssetAmount[];
  readonly receive: AssetAmount[];
  readonly counterparty: string;
}

/** Signs nothing: builds each leg's event and reads it back, as intake would. */
const toIntents = (legs: readonly Leg[]): Intent[] =>
  legs.map((leg, i) => {
    const { author, ...params } = leg;
    const content = transferContent({ action_id: `leg-${i}`, type: leg.type, params: wireParams(params) });
    return parseIntent(intentEvent(content, { author }), RULES);
  });

const a = (assetId: string, amount: bigint): AssetAmount => ({ assetId, amount });
const ALICE = USERS[0]!;
const CAROL = USERS[2]!;
const twoParty: Leg[] = [
  {
    author: ALICE,
    type: 'swap:atomic',
    give: [a('gBTC', 100n)],
    receive: [a('USDX', 5n)],
    counterparty: BOB,
  },
  {
    author: BOB,
    type: 'swap:atomic',
    give: [a('USDX', 5n)],
    receive: [a('gBTC', 100n)],
    counterparty: ALICE,
  },
];

function batchError(legs: readonly Leg[] | Intent[]): ProtocolError {
  const intents = 'eventId' in legs[0]! ? (legs as Intent[]) : toIntents(legs as Leg[]);
  try {
    checkBatchLegs(intents);
  } catch (error) {
    if (error instanceof ProtocolError) return error;
    throw error;
  }
  throw new Error('checkBatchLegs accepted the batch');
}

describe('checkBatchLegs', () => {
  it('returns each author’s gives and receives for a balanced swap', () => {
    const flows = checkBatchLegs(toIntents(twoParty));
    expect([...flows]).toEqual([
      [ALICE, { gives: [a('gBTC', 100n)], receives: [a('USDX', 5n)] }],
      [BOB, { gives: [a('USDX', 5n)], receives: [a('gBTC', 100n)] }],
    ]);
  });

  it('accepts a three-party ring of liquidity legs and swaps', () => {
    const ring: Leg[] = [
      {
        author: ALICE,
        type: 'liquidity:add',
        give: [a('X', 1n), a('Y', 2n)],
        receive: [a('LP', 7n)],
        counterparty: BOB,
      },
      { author: BOB, type: 'swap:atomic', give: [a('LP', 7n)], receive: [a('Z', 3n)], counterparty: CAROL },
      {
        author: CAROL,
        type: 'swap:atomic',
        give: [a('Z', 3n)],
        receive: [a('X', 1n), a('Y', 2n)],
        counterparty: ALICE,
      },
    ];
    expect(checkBatchLegs(toIntents(ring)).size).toBe(3);
  });

  it('3001 for a batch that does not balance, naming the asset', () => {
    const error = batchError([twoParty[0]!, { ...twoParty[1]!, give: [a('USDX', 4n)] }]);
    expect(error.code).toBe(3001);
    expect(error.details).toEqual({ asset_id: 'USDX', given: '4', received: '5' });
  });

  it('accepts 16 legs; 3001 for none, one, or 17', () => {
    /** n legs in a ring: leg i gives asset A<i> to leg i + 1. */
    const ring = (n: number): Leg[] =>
      Array.from({ length: n }, (_, i) => ({
        author: KEYS[i + 2]!,
        type: 'swap:atomic',
        give: [a(`A${i}`, 1n)],
        receive: [a(`A${(i + n - 1) % n}`, 1n)],
        counterparty: KEYS[((i + 1) % n) + 2]!,
      }));
    expect(checkBatchLegs(toIntents(ring(16))).size).toBe(16);
    expect(codeOf(() => checkBatchLegs([]))).toBe(3001);
    expect(batchError([twoParty[0]!]).code).toBe(3001);
    expect(batchError(ring(17)).code).toBe(3001);
  });

  it('3001 for a leg that is not a swap or liquidity leg, naming the leg', () => {
    const transfer = parseIntent(intentEvent(transferContent(), { author: CAROL }), RULES);
    const error = batchError([toIntents(twoParty)[0]!, transfer]);
    expect(error.code).toBe(3001);
    expect(error.details).toMatchObject({ leg: 1, action_id: 'a1b2c3' });
  });

  it('3001 for two legs of one author', () => {
    const [alice] = toIntents(twoParty);
    expect(batchError([alice!, alice!]).code).toBe(3001);
  });

  it('3001 for a counterparty outside the batch', () => {
    expect(batchError([twoParty[0]!, { ...twoParty[1]!, counterparty: CAROL }]).code).toBe(3001);
  });
});

/**
 * Balanced batches: random transfers between authors, netted per author and asset (so the
 * totals balance by construction), plus a ring of fresh assets so every author both gives
 * and receives something.
 */
const balancedArb = fc.integer({ min: 2, max: 16 }).chain((n) =>
  fc
    .record({
      authors: fc.shuffledSubarray(USERS, { minLength: n, maxLength: n }),
      transfers: fc.array(
        fc.record({
          from: fc.nat(n - 1),
          step: fc.integer({ min: 1, max: n - 1 }),
          asset: fc.constantFrom('gBTC', 'USDX', 'LP'),
          amount: fc.bigInt({ min: 1n, max: 10n ** 12n }),
        }),
        { maxLength: 12 },
      ),
      ring: fc.array(fc.bigInt({ min: 1n, max: 10n ** 12n }), { minLength: n, maxLength: n }),
      types: fc.array(fc.constantFrom('swap:atomic' as const, 'liquidity:add' as const), {
        minLength: n,
        maxLength: n,
      }),
    })
    .map(({ authors, transfers, ring, types }) => {
      const net = authors.map(() => new Map<string, bigint>()); // > 0 received, < 0 given
      const move = (from: number, to: number, asset: string, amount: bigint) => {
        net[from]!.set(asset, (net[from]!.get(asset) ?? 0n) - amount);
        net[to]!.set(asset, (net[to]!.get(asset) ?? 0n) + amount);
      };
      for (const t of transfers) move(t.from, (t.from + t.step) % n, t.asset, t.amount);
      ring.forEach((amount, i) => move(i, (i + 1) % n, `RING${i}`, amount));
      return authors.map((author, i): Leg => ({
        author,
        type: types[i]!,
        give: [...net[i]!].filter(([, v]) => v < 0n).map(([id, v]) => a(id, -v)),
        receive: [...net[i]!].filter(([, v]) => v > 0n).map(([id, v]) => a(id, v)),
        counterparty: authors[(i + 1) % n]!,
      }));
    }),
);

describe('checkBatchLegs properties', () => {
  it('accepts every balanced batch and reports its flows', () => {
    fc.assert(
      fc.property(balancedArb, (legs) => {
        const flows = checkBatchLegs(toIntents(legs));
        expect([...flows.keys()]).toEqual(legs.map((l) => l.author));
        for (const leg of legs)
          expect(flows.get(leg.author)).toEqual({ gives: leg.give, receives: leg.receive });
      }),
      { numRuns: 100 },
    );
  });

  it('rejects every perturbation with 3001', () => {
    const perturbation = fc.record({
      leg: fc.nat(),
      side: fc.constantFrom('give' as const, 'receive' as const),
      entry: fc.nat(),
      kind: fc.constantFrom('amount', 'rename', 'drop', 'add', 'counterparty', 'duplicate-author'),
      delta: fc.bigInt({ min: 1n, max: 10n ** 6n }),
      sign: fc.boolean(),
    });
    fc.assert(
      fc.property(balancedArb, perturbation, (legs, p) => {
        const i = p.leg % legs.length;
        const leg = legs[i]!;
        const list = [...leg[p.side]];
        const j = p.entry % list.length;
        const entry = list[j]!;
        let changed: Leg = leg;
        switch (p.kind) {
          case 'amount': {
            // Up, or down while staying > 0 (a zero amount would not parse): either way it no longer balances.
            const lower = entry.amount - p.delta;
            list[j] = a(entry.assetId, p.sign || lower < 1n ? entry.amount + p.delta : lower);
            changed = { ...leg, [p.side]: list };
            break;
          }
          case 'rename':
            list[j] = a('FRESH', entry.amount);
            changed = { ...leg, [p.side]: list };
            break;
          case 'drop':
            if (list.length < 2) return; // an empty side does not parse (1002, tested elsewhere)
            list.splice(j, 1);
            changed = { ...leg, [p.side]: list };
            break;
          case 'add':
            list.push(a('EXTRA', p.delta));
            changed = { ...leg, [p.side]: list };
            break;
          case 'counterparty':
            changed = { ...leg, counterparty: KEYS[19]! }; // a key of no author
            break;
          case 'duplicate-author':
            changed = { ...leg, author: legs[(i + 1) % legs.length]!.author };
            if (changed.author === changed.counterparty) changed = { ...changed, counterparty: leg.author };
            break;
        }
        const perturbed = legs.map((l, k) => (k === i ? changed : l));
        expect(codeOf(() => checkBatchLegs(toIntents(perturbed)))).toBe(3001);
      }),
      { numRuns: 300 },
    );
  });
});
