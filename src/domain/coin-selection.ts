// Coin selection for a payment: which of an owner's VTXOs (of one asset) pay `target`.
// Pure: no I/O, amounts are bigint throughout.
//
// Objective, in order: (1) fewest inputs, (2) least change, (3) determinism — the same set of
// candidates gives the same answer whatever order they arrive in (ties broken by amount, then id).
// Constraint: change is 0 or at least `dustLimit` (a change output below dust cannot exist on
// the Ark server); when no set satisfies it the payment fails with 2004.
//
// Algorithm:
// 1. One linear scan for the best single input: the smallest coin with amount = target, or
//    amount >= target + dust. Any valid single input beats every multi-input set, so when one
//    exists it is optimal (exact: fewest inputs, least change). O(n), no sort.
// 2. Otherwise, sort the amounts once (a BigInt64Array, native sort) and run a depth-first
//    branch-and-bound over them, largest first. Equal amounts are interchangeable during the
//    search; which coins of an amount are used is settled at the end: the lowest ids. Its first path is the greedy largest-first
//    answer; after that it only explores sets that could beat the best found (fewer inputs, or
//    as many with less change), pruned with prefix sums: the k largest remaining coins bound
//    what k more inputs can add. The last input of a set is found by binary search, not by a
//    scan. Equal amounts are tried once per depth (the lowest id), which keeps it deterministic.
// 3. The search is bounded (`maxNodes`, default 50 000, and 2 000 inputs deep). Within the
//    bounds the answer is exact. When a bound is hit, the answer is the best found so far: it
//    has the minimal input count k whenever the k largest coins (with the cheapest valid last
//    one) already pay the target with valid change — the common case — but its change may not
//    be the least possible, and in the rare case where only other k-sets are valid it may use
//    more inputs. If no valid set was found within the bounds, the fallback takes the m - 1
//    largest coins plus the cheapest valid last coin for the smallest such m. Whatever the bound,
//    a returned set is always valid, and with no maxInputs a payment whose whole balance gives
//    valid change never fails; 2004 can be a false negative only in the corner left after that.
import { ProtocolError } from './error-codes.ts';

export interface Coin {
  readonly id: string;
  readonly amount: bigint;
}

export interface SelectionOptions {
  /** Smallest change output allowed; change is 0 or >= this. */
  readonly dustLimit: bigint;
  /** Most inputs one payment may use; more needed fails with 2004. */
  readonly maxInputs?: number;
  /** Branch-and-bound node budget (see above). */
  readonly maxNodes?: number;
}

export interface Selection<C extends Coin = Coin> {
  readonly inputs: readonly C[];
  readonly total: bigint;
  readonly change: bigint;
}

const DEFAULT_MAX_NODES = 50_000;
const MAX_INT64 = 2n ** 63n - 1n;
/** The search recurses once per input; deeper sets go to the iterative fallback. */
const MAX_DEPTH = 2_000;

export function selectCoins<C extends Coin>(
  candidates: readonly C[],
  target: bigint,
  opts: SelectionOptions,
): Selection<C> {
  const { dustLimit } = opts;
  const maxInputs = opts.maxInputs ?? Number.MAX_SAFE_INTEGER;
  if (typeof target !== 'bigint' || target <= 0n) {
    throw new ProtocolError('BELOW_LIMITS', 'amount must be a positive integer');
  }
  if (dustLimit < 0n) throw new RangeError('dustLimit must not be negative');
  if (!Number.isInteger(maxInputs) || maxInputs < 1) throw new RangeError('maxInputs must be >= 1');
  const validChange = (change: bigint) => change === 0n || change >= dustLimit;

  // Pass 1: validate, total, best single input; amounts into a typed array for a native sort.
  const all = new BigInt64Array(candidates.length);
  let n = 0;
  let available = 0n;
  let single: C | undefined;
  for (const coin of candidates) {
    const value = coin.amount;
    if (typeof value !== 'bigint') throw new TypeError(`coin ${coin.id}: amount must be a bigint`);
    if (value <= 0n) continue; // worthless as an input
    if (value > MAX_INT64) throw new RangeError(`coin ${coin.id}: amount exceeds a BIGINT`);
    all[n++] = value;
    available += value;
    if (value >= target && validChange(value - target)) {
      if (single === undefined || value < single.amount || (value === single.amount && coin.id < single.id)) {
        single = coin;
      }
    }
  }
  if (available < target) throw new ProtocolError('INSUFFICIENT_BALANCE');
  if (single) return { inputs: [single], total: single.amount, change: single.amount - target };
  if (maxInputs < 2) {
    throw new ProtocolError('BELOW_LIMITS', `no single VTXO pays ${target} with valid change`);
  }

  // Pass 2: branch and bound over the amounts, largest first. Equal amounts are
  // interchangeable here; which coin of an amount is used is settled afterwards (lowest id).
  const amount = all.subarray(0, n).sort().reverse();
  const prefix: bigint[] = new Array<bigint>(n + 1);
  prefix[0] = 0n;
  for (let i = 0; i < n; i++) prefix[i + 1] = prefix[i]! + amount[i]!;
  /** Sum of the m largest coins from index i on. */
  const topSum = (i: number, m: number) => prefix[Math.min(n, i + m)]! - prefix[i]!;
  /** First index >= from whose amount is <= value (n if none). */
  const firstAtMost = (from: number, value: bigint) => {
    let lo = from;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (amount[mid]! <= value) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };

  let bestCount = maxInputs; // no set may use more inputs than this
  let bestChange = -1n;
  let bestSet: number[] | undefined;
  const path: number[] = [];
  let nodes = 0;
  const maxNodes = opts.maxNodes ?? DEFAULT_MAX_NODES;

  /** The cheapest valid last input from index i for the remaining need, or -1. */
  const lastInput = (i: number, need: bigint): number => {
    if (need > 0n) {
      const exact = firstAtMost(i, need);
      if (exact < n && amount[exact] === need) return exact;
    }
    // Coins >= need + dust form a prefix (from i); take the smallest of them, lowest id.
    const boundary = firstAtMost(i, need + dustLimit - 1n);
    if (boundary - 1 < i) return -1;
    return firstAtMost(i, amount[boundary - 1]!);
  };

  // No set has fewer inputs than the k largest coins need; with no change too, nothing beats it.
  let fewest = 1;
  while (prefix[fewest]! < target) fewest++;
  const optimal = () => bestSet !== undefined && bestCount === fewest && bestChange === 0n;

  // Invariant: the inputs on `path` sum to `sum` and do not yet pay the target validly.
  const search = (i: number, sum: bigint): void => {
    if (++nodes > maxNodes || path.length >= MAX_DEPTH || optimal()) return;
    let room = bestCount - path.length - (bestChange === 0n ? 1 : 0); // inputs we may still add
    if (room <= 0) return;
    // The best set finishing with exactly one more input, by binary search.
    const last = lastInput(i, target - sum);
    if (last >= 0) {
      const change = sum + amount[last]! - target;
      const count = path.length + 1;
      if (!bestSet || count < bestCount || (count === bestCount && change < bestChange)) {
        bestCount = count;
        bestChange = change;
        bestSet = [...path, last];
      }
    }
    // Sets with two or more further inputs: choose the next (non-last) one.
    for (let j = i; j < n; j++) {
      if (++nodes > maxNodes || optimal()) return;
      room = bestCount - path.length - (bestChange === 0n ? 1 : 0);
      if (room < 2) return;
      // Equal amounts behave alike: try the first (lowest id) only.
      if (j > i && amount[j] === amount[j - 1]) continue;
      // Even the largest coins from j on cannot reach the target in the room left: stop,
      // later j only have smaller coins.
      if (sum + topSum(j, room) < target) return;
      const next = sum + amount[j]!;
      // Already valid with j as the last input: lastInput covered that, more only adds inputs.
      if (next >= target && (next - target === 0n || next - target >= dustLimit)) continue;
      path.push(j);
      search(j + 1, next);
      path.pop();
    }
  };
  search(0, 0n);

  if (!bestSet) {
    // The budget or the depth ran out before any valid set: the m - 1 largest coins plus the
    // cheapest valid last one, for the smallest m that has one. Iterative, O(n log n) at worst.
    for (let m = fewest; m <= Math.min(n, maxInputs); m++) {
      const j = lastInput(m - 1, target - prefix[m - 1]!);
      if (j >= 0) {
        bestSet = [...Array.from({ length: m - 1 }, (_, i) => i), j];
        bestChange = prefix[m - 1]! + amount[j]! - target;
        break;
      }
    }
  }
  if (!bestSet) {
    const enough = topSum(0, maxInputs) >= target;
    throw new ProtocolError(
      'BELOW_LIMITS',
      enough
        ? `no set of VTXOs pays ${target} with change 0 or >= ${dustLimit}`
        : `paying ${target} needs more than ${maxInputs} inputs`,
    );
  }
  return {
    inputs: pickCoins(
      candidates,
      bestSet.map((j) => amount[j]!),
    ),
    total: target + bestChange,
    change: bestChange,
  };
}

/**
 * The coins for a multiset of chosen amounts: for each amount, the lowest ids holding it.
 * Ordered by amount descending, then id.
 */
function pickCoins<C extends Coin>(candidates: readonly C[], amounts: readonly bigint[]): C[] {
  const wanted = new Map<bigint, number>();
  for (const value of amounts) wanted.set(value, (wanted.get(value) ?? 0) + 1);
  const found = new Map<bigint, C[]>();
  for (const coin of candidates) {
    if (!wanted.has(coin.amount)) continue;
    const list = found.get(coin.amount);
    if (list) list.push(coin);
    else found.set(coin.amount, [coin]);
  }
  const picked: C[] = [];
  for (const [value, count] of [...wanted].sort((a, b) => (a[0] > b[0] ? -1 : 1))) {
    const list = found.get(value)!;
    // Always sorted: the order of equal amounts must not depend on the order given.
    list.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const chosen = list.slice(0, count);
    for (let i = 1; i < chosen.length; i++) {
      // Ids are primary keys; a repeated one would be one VTXO spent twice.
      if (chosen[i]!.id === chosen[i - 1]!.id) throw new TypeError(`coin ${chosen[i]!.id} given twice`);
    }
    picked.push(...chosen);
  }
  return picked;
}

/**
 * Checks a split of one VTXO of `total` into `parts`: at least two parts, each a bigint > 0 and
 * >= the dust limit, summing exactly to the total. Returns the parts; throws 2004 for a part
 * below the limits and 1002 for a split that does not add up.
 */
export function splitAmounts(
  total: bigint,
  parts: readonly bigint[],
  opts: { readonly dustLimit: bigint },
): bigint[] {
  if (typeof total !== 'bigint' || total <= 0n) {
    throw new ProtocolError('BELOW_LIMITS', 'the VTXO to split must hold a positive amount');
  }
  if (!Array.isArray(parts) || parts.length < 2) {
    throw new ProtocolError('MALFORMED_CONTENT', 'a split needs at least two parts');
  }
  let sum = 0n;
  for (const part of parts) {
    if (typeof part !== 'bigint')
      throw new ProtocolError('MALFORMED_CONTENT', 'split parts must be integers');
    if (part <= 0n || part < opts.dustLimit) {
      throw new ProtocolError(
        'BELOW_LIMITS',
        `split part ${part} is below ${opts.dustLimit} or not positive`,
      );
    }
    sum += part;
  }
  if (sum !== total) {
    throw new ProtocolError('MALFORMED_CONTENT', `split parts sum to ${sum}, not ${total}`);
  }
  return [...parts];
}
