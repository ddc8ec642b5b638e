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
// 4. selectAmounts is the same search (one copy) over sorted amounts alone, for a database that
//    reads them in index order. With k the fewest inputs it needs only the coins >= L = target -
//    (the k - 1 largest), and one by one only those >= M (fewestInputs), the others one entry per
//    amount. It returns exactly selectCoins's answer over all the coins whenever the k largest
//    (with the cheapest valid last one) pay the target validly, and otherwise says it cannot
//    (the argument is at selectAmounts). The objective and the bounds do not change.
// 5. selectFromPrefix is the same search again over the largest coins alone, with a frontier
//    check: it answers only when no step needed a coin below them (else it says what it needs).
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
  checkSelection(target, opts);
  const { dustLimit } = opts;
  const maxInputs = opts.maxInputs ?? Number.MAX_SAFE_INTEGER;
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
  const chosen = search(all.subarray(0, n).sort().reverse(), target, opts, undefined) as AmountSelection;
  return {
    inputs: pickCoins(candidates, chosen.amounts),
    total: target + chosen.change,
    change: chosen.change,
  };
}

/** Throws as selectCoins does for a target or options it refuses (2004, or a RangeError). */
export function checkSelection(target: bigint, opts: SelectionOptions): void {
  if (typeof target !== 'bigint' || target <= 0n) {
    throw new ProtocolError('BELOW_LIMITS', 'amount must be a positive integer');
  }
  const maxInputs = opts.maxInputs ?? Number.MAX_SAFE_INTEGER;
  if (opts.dustLimit < 0n) throw new RangeError('dustLimit must not be negative');
  if (!Number.isInteger(maxInputs) || maxInputs < 1) throw new RangeError('maxInputs must be >= 1');
}

/** A selection as amounts; the caller turns each into the coin of that amount with the lowest id. */
export interface AmountSelection {
  /** The chosen amounts, largest first; an amount used twice is listed twice. */
  readonly amounts: readonly bigint[];
  readonly change: bigint;
}

/** What the fewest-input sets paying a target can be made of (see fewestInputs). */
export interface FewestInputs {
  /** k: the fewest inputs any set needs, the smallest k whose k largest coins reach the target. */
  readonly count: number;
  /** L: every member of a k-set paying the target is >= L = target - (the k - 1 largest). */
  readonly floor: bigint;
  /**
   * M: every member but the smallest of such a set is >= M = ceil((target - (the k - 2
   * largest)) / 2): its two smallest members bring what the k - 2 others lack, at most the k - 2
   * largest. (k = 1: M = L.)
   */
  readonly branchFloor: bigint;
}

/**
 * k, L and M (FewestInputs) for paying `target`. `largest`: the owner's largest coins,
 * descending — any prefix of the whole list that reaches the target. Undefined when it does not.
 */
export function fewestInputs(largest: BigInt64Array, target: bigint): FewestInputs | undefined {
  let sum = 0n;
  let before = 0n; // the sum of the coins before the last one in `sum`
  for (let i = 0; i < largest.length; i++) {
    const next = sum + largest[i]!;
    if (next >= target) {
      const floor = target - sum;
      const branchFloor = i === 0 ? floor : (target - before + 1n) / 2n;
      return { count: i + 1, floor, branchFloor };
    }
    before = sum;
    sum = next;
  }
  return undefined;
}

/** How `amounts` given to selectAmounts stand for the owner's coins, when not one for one. */
export interface PartialAmounts {
  /**
   * Set when coins were left out entirely: at least one was, each is below this, and this is
   * at most the smallest amount given.
   */
  readonly omittedBelow?: bigint;
  /**
   * From this index on, `amounts` holds each amount of the remaining coins once (strictly
   * descending, below the amounts before it), not once per coin. Before it, every coin from the
   * largest down, one amount per coin, and every coin of each amount that appears there.
   */
  readonly distinctFrom?: number;
}

/**
 * selectCoins over amounts alone, for a caller that reads the amounts sorted (a database index)
 * and only some of them; it resolves the ids itself: for each chosen amount, the coins holding
 * it with the lowest ids, as selectCoins does.
 *
 * `amounts`: every coin's amount, descending, each > 0 — or, with `partial`, only the largest
 * coins one by one, then perhaps only the distinct amounts of the next ones, down to a floor.
 * The answer (amounts and change, or the error thrown) is always selectCoins's over all the
 * coins — budget-bound answers included. Undefined when, given `partial`, that answer might
 * depend on what was left out: read every coin and call selectCoins.
 *
 * Why part of the coins is enough. With k, L and M as in FewestInputs: no coin below L is in
 * any k-set paying the target, and no coin below M is in one except as its smallest member.
 * The search (the second pass of selectCoins) starts with the greedy path, the k - 1 largest
 * coins plus the cheapest valid last coin (>= L: it brings at least the L they lack). When that
 * greedy k-set is valid it is the first set found, and from then on the search only takes sets
 * of at most k inputs, i.e. k-sets; then it never branches on (takes as a non-last input) a coin
 * below M: the first time a loop over "the next input" reaches one, the largest coins it could
 * still add fall short (k - 2 coins at most the k - 2 largest, plus two coins < M), so the loop
 * stops there. So:
 * - Coins below L only ever meet that stopping test, as the loop's last step. Without them the
 *   loop ends at the end of the array one step earlier; that step is counted anyway (`tail` in
 *   search), so even the node budget runs out at the same step.
 * - Coins between L and M are only looked up as a last input: the cheapest amount that is exact
 *   or leaves change of at least the dust limit. Which amounts exist is all that lookup needs,
 *   not how many coins hold each, so one entry per amount gives the same answer, provided every
 *   coin >= M is given one by one. The stopping test sums runs of coins, but a run that still
 *   reaches the target (with the inputs taken, a k-set) holds at most one coin below M, the
 *   largest one, and the first entry after the coins >= M has exactly that amount; a run with
 *   two or more falls short over all the coins, and over the entries too (each entry is at most
 *   the coin at its place in the whole list), so the test stops the loop in both.
 * With coins left out the answer is therefore exact when the greedy k-set is valid. Otherwise
 * (change below dust, or more inputs than maxInputs) the best set may need more than k inputs,
 * coins below L among them, and the answer is undefined.
 */
export function selectAmounts(
  amounts: BigInt64Array,
  target: bigint,
  opts: SelectionOptions,
  partial?: PartialAmounts,
): AmountSelection | undefined {
  checkSelection(target, opts);
  const distinctFrom = partial?.distinctFrom ?? amounts.length;
  if (!Number.isInteger(distinctFrom) || distinctFrom < 0 || distinctFrom > amounts.length) {
    throw new RangeError('distinctFrom must be an index of amounts');
  }
  for (let i = 0; i < amounts.length; i++) {
    const value = amounts[i]!;
    if (value <= 0n) throw new RangeError('amounts must be positive');
    if (i > 0 && (value > amounts[i - 1]! || (i >= distinctFrom && value === amounts[i - 1]!))) {
      throw new RangeError('amounts must be in descending order, each once after distinctFrom');
    }
  }
  const omittedBelow = partial?.omittedBelow;
  if (omittedBelow !== undefined && amounts.length > 0 && omittedBelow > amounts[amounts.length - 1]!) {
    throw new RangeError('a coin left out must not be larger than a coin given');
  }
  const whole = omittedBelow === undefined && distinctFrom === amounts.length;
  return search(amounts, target, opts, whole ? undefined : { omittedBelow, distinctFrom }) as
    AmountSelection | undefined;
}

/**
 * Why selectFromPrefix gave no answer: the search needed more than it was given. `readMore`:
 * coins below the prefix (as inputs it may branch on, in a sum, or the end of a loop);
 * `lookup`: the smallest coin amount >= this value, over all the owner's coins, which `ceil`
 * did not know yet.
 */
export type FrontierHit = { readonly readMore: true } | { readonly lookup: bigint };

/**
 * selectCoins over amounts alone, given only the largest coins: the same answer (amounts and
 * change, or the error thrown, budget-bound answers included) or a FrontierHit, never a
 * different answer.
 *
 * `largest`: the owner's largest coins, one amount per coin, descending, each > 0, with every
 * coin of each amount it holds (so every coin not given is below its last amount) and summing
 * to at least the target; or every coin. `complete`: it is every coin. `ceil(v)`: the smallest
 * amount of any of the owner's coins >= v, null if none, undefined if not known (the search then
 * asks for it: a `lookup` hit).
 *
 * Why an answer is exact (the frontier check). The search over the whole list reads it only
 * through: its entries at an index (the branching loop, the fallback), sums of runs of them
 * (topSum, prefix), the end of the array (a loop that runs out), and last-input lookups (the
 * cheapest coin from an index on that is exactly the need or leaves change >= dust). Over the
 * prefix the search is the same code, and it marks a hit, and stops, at the first step whose
 * outcome could differ over the whole list:
 * - an entry at an index >= the prefix length: only the loop (which stops at the end of the
 *   prefix: a hit, for over every coin it would go on) and the fallback (a hit when it would
 *   go past the prefix) step by index, and both check it;
 * - a run sum that reaches past the prefix end, unless the part within the prefix already
 *   reaches what is compared with it (then so does the longer run: the outcome is the same);
 * - a lookup whose binary search over the prefix ends at the prefix end: the answer may be a
 *   coin below it. It is answered by `ceil` instead (exactly, as the amount, see lastInput),
 *   or, when `ceil` does not know, a hit. A binary search that ends inside the prefix sees the
 *   same entries as over the whole list (the prefix is the whole list's start) and gives the
 *   same index.
 * The first step marked would be the first to differ; with none marked, each step read what
 * it reads over every coin, so it took the same branch and counted the same nodes, and the
 * answer (or error, or budget cut) is the same. k (fewestInputs) is the whole list's too: the
 * prefix reaches the target. The search keeps chosen amounts, not indices, so a last input
 * found below the prefix is recorded by its amount, as the whole list's index would map to.
 */
export function selectFromPrefix(
  largest: BigInt64Array,
  target: bigint,
  opts: SelectionOptions,
  complete: boolean,
  ceil: (value: bigint) => bigint | null | undefined,
): AmountSelection | FrontierHit {
  checkSelection(target, opts);
  for (let i = 0; i < largest.length; i++) {
    const value = largest[i]!;
    if (value <= 0n || (i > 0 && value > largest[i - 1]!)) {
      throw new RangeError('amounts must be positive and in descending order');
    }
  }
  return search(largest, target, opts, undefined, complete ? undefined : ceil)!;
}

/**
 * The selection over `amount` (descending, all > 0): fewest inputs, then least change, by the
 * bounded branch and bound described at the top. With `partial` (see selectAmounts) the answer
 * is undefined unless it is the same as over all the coins.
 */
function search(
  amount: BigInt64Array,
  target: bigint,
  opts: SelectionOptions,
  partial: { readonly omittedBelow: bigint | undefined; readonly distinctFrom: number } | undefined,
  frontier?: (value: bigint) => bigint | null | undefined,
): AmountSelection | FrontierHit | undefined {
  const { dustLimit } = opts;
  const maxInputs = opts.maxInputs ?? Number.MAX_SAFE_INTEGER;
  const n = amount.length;
  const prefix: bigint[] = new Array<bigint>(n + 1);
  prefix[0] = 0n;
  for (let i = 0; i < n; i++) prefix[i + 1] = prefix[i]! + amount[i]!;
  /** With `frontier` (selectFromPrefix): the first step that needed more than the prefix. */
  let hit: FrontierHit | undefined;
  const readMore: FrontierHit = { readMore: true };
  /**
   * Whether the m largest coins from index i on sum to at least `need`. Over a prefix, a run
   * past its end that falls short within it is a hit (the coins below might make up the rest).
   */
  const reaches = (i: number, m: number, need: bigint): boolean => {
    const enough = prefix[Math.min(n, i + m)]! - prefix[i]! >= need;
    if (!enough && frontier && i + m > n) hit ??= readMore;
    return enough;
  };
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
  /**
   * Over a prefix: the smallest coin below the prefix (all of them are below its last amount)
   * that is >= value, null if none; undefined after marking a hit when `frontier` does not know.
   */
  const below = (value: bigint): bigint | null | undefined => {
    const found = frontier!(value);
    if (found === undefined) {
      hit ??= { lookup: value };
      return undefined;
    }
    return found !== null && (n === 0 || found < amount[n - 1]!) ? found : null;
  };
  /** The amount of the cheapest valid last input from index i for the remaining need, or 0n. */
  const lastInput = (i: number, need: bigint): bigint => {
    if (need > 0n) {
      const exact = firstAtMost(i, need);
      if (exact < n && amount[exact] === need) return need;
      // Over a prefix: every entry from i on is above the need; a coin below may equal it.
      if (exact === n && frontier) {
        const found = below(need);
        if (found === undefined) return 0n;
        if (found === need) return need;
      }
    }
    // Coins >= need + dust form a prefix (from i); take the smallest of them, lowest id.
    const boundary = firstAtMost(i, need + dustLimit - 1n);
    // Over a prefix: every entry from i on is valid; a coin below may be valid and cheaper.
    if (boundary === n && frontier) {
      const found = below(need + dustLimit);
      if (found === undefined) return 0n;
      if (found !== null) return found;
    }
    if (boundary - 1 < i) return 0n;
    return amount[boundary - 1]!;
  };

  // No set has fewer inputs than the k largest coins need; with no change too, nothing beats it.
  const least = fewestInputs(amount, target);
  if (!least) {
    if (partial) return undefined;
    if (frontier) return readMore;
    throw new ProtocolError('INSUFFICIENT_BALANCE');
  }
  const fewest = least.count;
  // Amounts given once each: every coin >= M must be given one by one (see selectAmounts). Then
  // the entries up to the first one below M are the whole list's, and so are k, L and M: the
  // k - 1 largest coins are >= M, so the k-th comes at the latest at that first entry.
  if (partial && partial.distinctFrom < n && firstAtMost(0, least.branchFloor - 1n) > partial.distinctFrom) {
    return undefined;
  }
  // Coins left out entirely: all of them must be below the floor L (see selectAmounts).
  const omittedBelow = partial?.omittedBelow;
  const tail = omittedBelow !== undefined;
  if (tail && omittedBelow > least.floor) return undefined;
  // The best single input (selectCoins found it in its first pass: then none is left here).
  // With k = 1 every coin >= target is in `amount`, with k > 1 no coin is.
  const one = lastInput(0, target);
  if (hit) return hit;
  if (one > 0n) return { amounts: [one], change: one - target };
  if (maxInputs < 2) {
    throw new ProtocolError('BELOW_LIMITS', `no single VTXO pays ${target} with valid change`);
  }
  // No set within maxInputs pays the target: what the search below ends with, found in O(1).
  if (fewest > maxInputs) {
    throw new ProtocolError('BELOW_LIMITS', `paying ${target} needs more than ${maxInputs} inputs`);
  }
  // The greedy k-set (the search's first path) is invalid: the answer may lie below the floor.
  if (partial && lastInput(fewest - 1, least.floor) === 0n) return undefined;

  let bestCount = maxInputs; // no set may use more inputs than this
  let bestChange = -1n;
  let bestSet: number[] | undefined; // the indices of all inputs but the last
  let bestLast = 0n; // the last input's amount
  const path: number[] = [];
  let nodes = 0;
  const maxNodes = opts.maxNodes ?? DEFAULT_MAX_NODES;
  const optimal = () => bestSet !== undefined && bestCount === fewest && bestChange === 0n;

  // Invariant: the inputs on `path` sum to `sum` and do not yet pay the target validly.
  const branch = (i: number, sum: bigint): void => {
    if (++nodes > maxNodes || path.length >= MAX_DEPTH || optimal() || hit) return;
    let room = bestCount - path.length - (bestChange === 0n ? 1 : 0); // inputs we may still add
    if (room <= 0) return;
    // The best set finishing with exactly one more input, by binary search.
    const last = lastInput(i, target - sum);
    if (hit) return;
    if (last > 0n) {
      const change = sum + last - target;
      const count = path.length + 1;
      if (!bestSet || count < bestCount || (count === bestCount && change < bestChange)) {
        bestCount = count;
        bestChange = change;
        bestSet = [...path];
        bestLast = last;
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
      if (!reaches(j, room, target - sum)) return;
      const next = sum + amount[j]!;
      // Already valid with j as the last input: lastInput covered that, more only adds inputs.
      if (next >= target && (next - target === 0n || next - target >= dustLimit)) continue;
      path.push(j);
      branch(j + 1, next);
      path.pop();
      if (hit) return;
    }
    // Over a prefix, the loop would go on below it: a hit.
    if (frontier) hit ??= readMore;
    // Over all the coins the loop would go on to the first one left out (below the floor),
    // count that node and stop there (see selectAmounts): count it here too.
    if (tail) nodes++;
  };
  branch(0, 0n);
  if (hit) return hit;

  if (!bestSet) {
    // The budget or the depth ran out before any valid set: the m - 1 largest coins plus the
    // cheapest valid last one, for the smallest m that has one. Iterative, O(n log n) at worst.
    for (let m = fewest; m <= Math.min(n, maxInputs); m++) {
      const last = lastInput(m - 1, target - prefix[m - 1]!);
      if (hit) return hit;
      if (last > 0n) {
        bestSet = Array.from({ length: m - 1 }, (_, i) => i);
        bestLast = last;
        bestChange = prefix[m - 1]! + last - target;
        break;
      }
    }
    // Over a prefix, the loop would go on below it.
    if (!bestSet && frontier && n < maxInputs) return readMore;
  }
  if (!bestSet) {
    const enough = reaches(0, maxInputs, target);
    if (hit) return hit;
    throw new ProtocolError(
      'BELOW_LIMITS',
      enough
        ? `no set of VTXOs pays ${target} with change 0 or >= ${dustLimit}`
        : `paying ${target} needs more than ${maxInputs} inputs`,
    );
  }
  return { amounts: [...bestSet.map((j) => amount[j]!), bestLast], change: bestChange };
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
