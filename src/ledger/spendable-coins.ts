// Coin selection's reads of the ledger: an owner's spendable VTXOs of one asset (`assigned`,
// not past expiry), and selectInputs, which answers as selectCoins over all of them would
// without reading them all. Read-only; VtxoStore, the only writer of VTXOs, hands it out.
import { performance } from 'node:perf_hooks';
import {
  checkSelection,
  fewestInputs,
  selectAmounts,
  selectCoins,
  selectFromPrefix,
  type AmountSelection,
  type Coin,
  type Selection,
  type SelectionOptions,
} from '../domain/coin-selection.ts';
import type { Database } from '../store/database.ts';
import { toBigInt } from '../store/values.ts';

export class SpendableCoins {
  readonly #database: Database;
  readonly #now: () => number;
  readonly #prefixSearchBudgetMs: number;

  constructor(
    database: Database,
    now: () => number = Date.now,
    prefixSearchBudgetMs = PREFIX_SEARCH_BUDGET_MS,
  ) {
    this.#database = database;
    this.#now = now;
    this.#prefixSearchBudgetMs = prefixSearchBudgetMs;
  }

  /** The owner's spendable VTXOs of an asset, as coin selection wants them (not past expiry). */
  candidates(owner: string, assetId: string): Promise<Coin[]> {
    return this.#candidates(owner, assetId, this.#now());
  }

  /**
   * Coin selection for `owner` paying `target` of `assetId`: the same answer as
   * selectCoins(candidates(owner, assetId), …) — same inputs, same change, same error, even when
   * the search budget runs out — without reading every VTXO of the owner. The one-input case is
   * one indexed query (the smallest coin equal to the target or at least target + dust, lowest
   * id). Otherwise amounts are read from the selection index, grouped by amount (no ids): the
   * largest, in growing pages, until they pay the target (which gives k, L and M, see
   * fewestInputs); the search runs over them with the frontier check (selectFromPrefix), which
   * answers only when it ran as over every coin, else asks for the smallest amount >= a value
   * (one index seek) or for the next page. Once every coin >= M is read and it still needs
   * more: every coin >= M one by one, each other amount >= L once, and selectAmounts (a coin
   * below L is in no fewest-input set). Only the chosen coins' ids are read. When selectAmounts
   * cannot tell without the smaller coins (the k largest with the cheapest last one leave
   * change below dust), every candidate is read as before.
   */
  async selectInputs(
    owner: string,
    assetId: string,
    target: bigint,
    options: SelectionOptions,
  ): Promise<Selection> {
    checkSelection(target, options);
    // One clock reading for every query below: they all see the same spendable set.
    const now = this.#now();
    // Two index seeks rather than one OR: an exact match (never change) beats any larger coin,
    // and otherwise the smallest coin leaving change of at least the dust limit.
    const spendable = this.#spendable(owner, assetId, now).select(['vtxo_id', 'amount']);
    const single =
      (await spendable.where('amount', '=', target).orderBy('vtxo_id').limit(1).executeTakeFirst()) ??
      (await spendable
        .where('amount', '>=', target + options.dustLimit)
        .orderBy('amount')
        .orderBy('vtxo_id')
        .limit(1)
        .executeTakeFirst());
    if (single) {
      const amount = toBigInt(single.amount);
      return { inputs: [{ id: single.vtxo_id, amount }], total: amount, change: amount - target };
    }
    return (
      (await this.#selectFromLargest(owner, assetId, target, options, now)) ??
      selectCoins(await this.#candidates(owner, assetId, now), target, options)
    );
  }

  /**
   * The owner's spendable VTXOs of an asset at `now`: `assigned` and not past expiry. The one
   * filter of every coin-selection read (candidates and selectInputs must agree on it).
   */
  #spendable(owner: string, assetId: string, now: number) {
    return this.#database.db
      .selectFrom('vtxos')
      .where('owner_pubkey', '=', owner)
      .where('asset_id', '=', assetId)
      .where('status', '=', 'assigned')
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]));
  }

  async #candidates(owner: string, assetId: string, now: number): Promise<Coin[]> {
    const rows = await this.#spendable(owner, assetId, now).select(['vtxo_id', 'amount']).execute();
    return rows.map((row) => ({ id: row.vtxo_id, amount: toBigInt(row.amount) }));
  }

  /**
   * The spendable amounts (> 0: selectCoins ignores the rest) with how many coins hold each,
   * largest first, within [atLeast, below). Covered by the selection index; no ids.
   */
  async #amountGroups(
    owner: string,
    assetId: string,
    now: number,
    range: { readonly atLeast?: bigint; readonly below?: bigint; readonly limit?: number },
  ): Promise<AmountGroup[]> {
    let query = this.#spendable(owner, assetId, now)
      .select(['amount', (eb) => eb.fn.countAll<number | bigint | string>().as('n')])
      // One lower bound: given two (amount > 0 and amount >= x), SQLite may seek by the first.
      .where('amount', '>=', range.atLeast !== undefined && range.atLeast > 1n ? range.atLeast : 1n);
    if (range.below !== undefined) query = query.where('amount', '<', range.below);
    let ordered = query.groupBy('amount').orderBy('amount', 'desc');
    if (range.limit !== undefined) ordered = ordered.limit(range.limit);
    const rows = await ordered.execute();
    return rows.map((row) => ({ amount: toBigInt(row.amount), count: Number(row.n) }));
  }

  /** The spendable amounts in [atLeast, below), each once, largest first (no counts, no ids). */
  async #distinctAmounts(
    owner: string,
    assetId: string,
    now: number,
    atLeast: bigint,
    below: bigint,
  ): Promise<bigint[]> {
    // SQLite skips ahead in the index past the other coins of an amount once it has one.
    const rows = await this.#spendable(owner, assetId, now)
      .select('amount')
      .distinct()
      .where('amount', '>=', atLeast)
      .where('amount', '<', below)
      .orderBy('amount', 'desc')
      .execute();
    return rows.map((row) => toBigInt(row.amount));
  }

  /**
   * selectInputs past the one-input case, from the largest amounts (see selectAmounts for why
   * they are enough); undefined when selectAmounts cannot tell without every coin.
   */
  async #selectFromLargest(
    owner: string,
    assetId: string,
    target: bigint,
    options: SelectionOptions,
    now: number,
  ): Promise<Selection | undefined> {
    const groups: AmountGroup[] = []; // every coin from the largest down, by amount
    let sum = 0n;
    /** Reads on below the last amount read: `limit` more amounts, or all >= `atLeast`; how many. */
    const readOn = async (range: { readonly atLeast?: bigint; readonly limit?: number }) => {
      const page = await this.#amountGroups(owner, assetId, now, { ...range, below: groups.at(-1)?.amount });
      for (const group of page) {
        groups.push(group);
        sum += group.amount * BigInt(group.count);
      }
      return page.length;
    };
    // 1. The largest amounts, in growing pages, until they pay the target: k, L and M.
    let exhausted = false; // every coin is in `groups`
    let limit = 64;
    for (; sum < target && !exhausted; limit *= 4) {
      exhausted = (await readOn({ limit })) < limit;
    }
    const least = fewestInputs(expand(groups), target);
    // The search over the coins read so far, with the frontier check (selectFromPrefix): it
    // answers only when it never needed a coin below them. It may ask for the smallest amount
    // >= some value (a last input below them: one index seek each; amounts are integers, so the
    // smallest positive one >= max(value, 1)), or for more coins (the next, larger page), until
    // every coin >= M is read; then the reads of steps 2 to 4 below.
    const ceilings = new Map<bigint, bigint | null>();
    // Each seek or page reruns the search from the start: when the search roams far below the
    // largest coins (no exact set, a long budget-bound run), these reruns could cost more than
    // the range reads below. Both paths give the same answer, so past a small budget of time
    // the range reads take over: the worst case stays the range reads' plus this budget.
    const giveUpAt = performance.now() + this.#prefixSearchBudgetMs;
    for (let lookups = 0; least && !exhausted && lookups <= MAX_LOOKUPS;) {
      if (performance.now() > giveUpAt) break;
      const answer = selectFromPrefix(expand(groups), target, options, false, (v) => ceilings.get(v));
      if ('amounts' in answer) return this.#resolve(owner, assetId, now, target, answer, groups);
      if ('lookup' in answer) {
        lookups++;
        const row = await this.#spendable(owner, assetId, now)
          .select('amount')
          .where('amount', '>=', answer.lookup > 1n ? answer.lookup : 1n)
          .orderBy('amount')
          .limit(1)
          .executeTakeFirst();
        ceilings.set(answer.lookup, row ? toBigInt(row.amount) : null);
        continue;
      }
      if (groups.at(-1)!.amount <= least.branchFloor) break;
      exhausted = (await readOn({ limit })) < limit;
      limit *= 4;
    }
    let distinct: bigint[] = [];
    let omittedBelow: bigint | undefined;
    // (A short balance has no k: every coin was read, and selectAmounts fails as selectCoins does.)
    if (least && !exhausted) {
      const { floor, branchFloor } = least;
      // 2. Every coin >= M, one by one: the search may take any of them as any input.
      if (groups.at(-1)!.amount > branchFloor) await readOn({ atLeast: branchFloor });
      // 3. The other amounts >= L, once each: the search only looks them up as a last input.
      const lowest = groups.at(-1)!.amount;
      if (lowest > floor) distinct = await this.#distinctAmounts(owner, assetId, now, floor, lowest);
      // 4. Is any coin left out below L? (The pages may have read some: drop them.)
      const cut = groups.findIndex((group) => group.amount < floor);
      if (cut >= 0) groups.length = cut;
      const smaller =
        cut >= 0 ||
        (await this.#spendable(owner, assetId, now)
          .select('vtxo_id')
          .where('amount', '>', 0n)
          .where('amount', '<', floor)
          .limit(1)
          .executeTakeFirst()) !== undefined;
      if (smaller) omittedBelow = floor;
    }
    const exact = expand(groups);
    const amounts = new BigInt64Array(exact.length + distinct.length);
    amounts.set(exact);
    amounts.set(distinct, exact.length);
    const chosen = selectAmounts(amounts, target, options, { omittedBelow, distinctFrom: exact.length });
    return chosen && this.#resolve(owner, assetId, now, target, chosen, groups);
  }

  /** 5. The coins: for each chosen amount, the lowest ids holding it (as selectCoins picks). */
  async #resolve(
    owner: string,
    assetId: string,
    now: number,
    target: bigint,
    chosen: AmountSelection,
    groups: readonly AmountGroup[],
  ): Promise<Selection | undefined> {
    const inputs = await this.#coinsFor(owner, assetId, now, chosen.amounts, groups);
    return inputs && { inputs, total: target + chosen.change, change: chosen.change };
  }

  /**
   * For each amount in `amounts` (descending, repeated per coin), that many spendable coins with
   * the lowest ids, ordered as selectCoins orders its inputs (amount descending, then id).
   * Amounts taken whole (every coin of it, as `groups` counted) are one query; the others one
   * query each. Undefined when the rows changed since `groups` were read (the caller then reads
   * everything again).
   */
  async #coinsFor(
    owner: string,
    assetId: string,
    now: number,
    amounts: readonly bigint[],
    groups: readonly AmountGroup[],
  ): Promise<Coin[] | undefined> {
    const wanted = new Map<bigint, number>();
    for (const amount of amounts) wanted.set(amount, (wanted.get(amount) ?? 0) + 1);
    const held = new Map(groups.map((group) => [group.amount, group.count]));
    const whole = [...wanted].filter(([amount, count]) => held.get(amount) === count).map(([a]) => a);
    const rows: { vtxo_id: string; amount: number | bigint | string }[] = [];
    const spendable = this.#spendable(owner, assetId, now).select(['vtxo_id', 'amount']);
    for (let i = 0; i < whole.length; i += 500) {
      rows.push(...(await spendable.where('amount', 'in', whole.slice(i, i + 500)).execute()));
    }
    for (const [amount, count] of wanted) {
      if (held.get(amount) === count) continue;
      rows.push(...(await spendable.where('amount', '=', amount).orderBy('vtxo_id').limit(count).execute()));
    }
    const coins = rows.map((row) => ({ id: row.vtxo_id, amount: toBigInt(row.amount) }));
    const found = new Map<bigint, number>();
    for (const coin of coins) found.set(coin.amount, (found.get(coin.amount) ?? 0) + 1);
    for (const [amount, count] of wanted) if (found.get(amount) !== count) return undefined;
    return coins.sort((a, b) =>
      a.amount !== b.amount ? (a.amount > b.amount ? -1 : 1) : a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
    );
  }
}

/**
 * Index seeks selectInputs makes for last inputs below the coins read one by one, before it
 * reads the ranges of steps 2 to 4 instead (each seek costs a rerun of the search).
 */
const MAX_LOOKUPS = 256;
/** Time selectInputs spends on the prefix search (seeks, pages, reruns) before the range reads. */
const PREFIX_SEARCH_BUDGET_MS = 10;

/** Coins of one amount: how many the owner has (coin selection reads amounts grouped). */
interface AmountGroup {
  readonly amount: bigint;
  readonly count: number;
}

/** Groups (descending) as one amount per coin, descending: what selectAmounts searches. */
function expand(groups: readonly AmountGroup[]): BigInt64Array {
  const amounts = new BigInt64Array(groups.reduce((n, group) => n + group.count, 0));
  let at = 0;
  for (const { amount, count } of groups) {
    amounts.fill(amount, at, at + count);
    at += count;
  }
  return amounts;
}
