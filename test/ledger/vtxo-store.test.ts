import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectCoins, type Selection } from '../../src/domain/coin-selection.ts';
import { ProtocolError } from '../../src/domain/error-codes.ts';
import { VtxoStore, type NewOutput } from '../../src/ledger/vtxo-store.ts';
import type { Database } from '../../src/store/database.ts';
import { createTestDatabase, mariadbAvailable, type TestDatabase } from '../support/test-database.ts';
import { hex32, NOW, vtxoRow } from '../store/fixtures.ts';
import { circulatingSupply } from '../../src/ledger/movements.ts';

const kinds = [
  { kind: 'sqlite', skip: false },
  { kind: 'mariadb', skip: !mariadbAvailable },
] as const;

const TTL = 60_000;

async function codeOf(work: Promise<unknown>): Promise<number | undefined> {
  try {
    await work;
    return undefined;
  } catch (error) {
    if (error instanceof ProtocolError) return error.code;
    throw error;
  }
}

async function codeOrSelection(work: () => unknown): Promise<unknown> {
  try {
    const { inputs, total, change } = (await work()) as Selection;
    return { ids: inputs.map((c) => c.id), total, change };
  } catch (error) {
    if (error instanceof ProtocolError) return error.code;
    throw error;
  }
}

/** A selection's ids, amounts, total and change, or the error's code and message. */
async function outcomeOf(work: () => Selection | Promise<Selection>): Promise<unknown> {
  try {
    const { inputs, total, change } = await work();
    return { ids: inputs.map((c) => c.id), amounts: inputs.map((c) => c.amount), total, change };
  } catch (error) {
    if (error instanceof ProtocolError) return { code: error.code, message: error.message };
    throw error;
  }
}

/**
 * Counts the rows carrying a vtxo_id that queries return (coin selection reads few ids), and
 * the reads of selectInputs by kind: pages of amounts (grouped, limited), seeks for one amount,
 * and the ranges it reads when the frontier check gives up (grouped unlimited, or distinct).
 */
function idRowCounter() {
  const counter = {
    rows: 0,
    pages: 0,
    seeks: 0,
    ranges: 0,
    reset() {
      counter.rows = counter.pages = counter.seeks = counter.ranges = 0;
    },
    plugin: {
      transformQuery: (args: PluginTransformQueryArgs) => {
        const node = args.node;
        if (node.kind === 'SelectQueryNode') {
          if (node.groupBy) {
            if (node.limit) counter.pages++;
            else counter.ranges++;
          } else if (node.frontModifiers?.length) counter.ranges++;
          else if (node.limit && node.orderBy && node.selections?.length === 1) counter.seeks++;
        }
        return node;
      },
      transformResult: async (args: PluginTransformResultArgs) => {
        counter.rows += args.result.rows.filter((row) => 'vtxo_id' in row).length;
        return args.result;
      },
    } satisfies KyselyPlugin,
  };
  return counter;
}

/** How many pages of amounts (64, 256, … groups) selectInputs reads before they reach the target. */
function pagesToReach(coins: readonly { amount: bigint }[], target: bigint): number {
  const amounts = [...new Set(coins.map((c) => c.amount))].sort((a, b) => (a > b ? -1 : 1));
  const total = (a: bigint) => coins.reduce((sum, c) => (c.amount === a ? sum + a : sum), 0n);
  let sum = 0n;
  let read = 0;
  let pages = 0;
  for (let limit = 64; sum < target && read < amounts.length; limit *= 4) {
    for (const a of amounts.slice(read, read + limit)) sum += total(a);
    read += limit;
    pages++;
  }
  return pages;
}

for (const { kind, skip } of kinds) {
  describe.skipIf(skip)(`VtxoStore on ${kind}`, () => {
    let test: TestDatabase;
    let database: Database;
    let clock = NOW;
    let store: VtxoStore;
    /**
     * Stores on separate pools (MariaDB), so races run on many connections at once. SQLite
     * gets one handle: its busy wait is synchronous, so two handles in one process would block
     * each other's event loop; its transactions interleave through the handle's queue instead.
     */
    let racers: VtxoStore[];

    beforeAll(async () => {
      test = await createTestDatabase(kind, undefined, { poolSize: 10, maxOverflow: 10 });
      database = test.database;
      store = new VtxoStore(database, { now: () => clock });
      racers = [store];
      if (kind === 'mariadb')
        for (let i = 0; i < 3; i++) racers.push(new VtxoStore(await test.reopen(), { now: () => clock }));
    });
    afterAll(async () => {
      await test?.drop();
    });

    async function seed(
      owner: string,
      amounts: bigint[],
      extra: Partial<Parameters<typeof vtxoRow>[0]> = {},
    ) {
      const rows = amounts.map((amount) => vtxoRow({ owner_pubkey: owner, amount, ...extra }));
      await database.db.insertInto('vtxos').values(rows).execute();
      return rows.map((r) => r.vtxo_id);
    }
    const row = (id: string) => store.get(id);

    it('lets exactly one of 100 concurrent sessions lock the same VTXO', async () => {
      const owner = hex32();
      const [id] = await seed(owner, [1_000n]);
      const sessions = Array.from({ length: 100 }, () => randomUUID());
      const results = await Promise.allSettled(
        sessions.map((s, i) => racers[i % racers.length]!.lockForSession(s, [id!], owner, 'gBTC', TTL)),
      );
      const winners = sessions.filter((_, i) => results[i]!.status === 'fulfilled');
      expect(winners).toHaveLength(1);
      for (const r of results) {
        if (r.status === 'rejected') expect((r.reason as ProtocolError).code).toBe(2002);
      }
      expect(await row(id!)).toMatchObject({
        status: 'pending_spend',
        lockedBySession: winners[0],
        version: 1,
      });
    });

    it('locks 20 concurrent overlapping sets all-or-nothing: one holder per VTXO, losers hold nothing', async () => {
      const owner = hex32();
      const ids = await seed(
        owner,
        Array.from({ length: 8 }, (_, i) => BigInt(1_000 + i)),
      );
      // Each session wants three neighbouring VTXOs (wrapping), in a shuffled order.
      const attempts = Array.from({ length: 20 }, (_, i) => ({
        session: randomUUID(),
        inputs: [ids[(i + 2) % 8]!, ids[i % 8]!, ids[(i + 1) % 8]!],
      }));
      const results = await Promise.allSettled(
        attempts.map((a, i) =>
          racers[i % racers.length]!.lockForSession(a.session, a.inputs, owner, 'gBTC', TTL),
        ),
      );
      for (const r of results) {
        if (r.status === 'rejected') expect((r.reason as ProtocolError).code).toBe(2002);
      }
      const winners = attempts.filter((_, i) => results[i]!.status === 'fulfilled');
      expect(winners.length).toBeGreaterThanOrEqual(1);
      const held = winners.flatMap((w) => w.inputs);
      expect(new Set(held).size).toBe(held.length);
      const rows = await store.listByOwner(owner);
      for (const w of winners) {
        for (const id of w.inputs) expect(rows.find((r) => r.vtxoId === id)?.lockedBySession).toBe(w.session);
      }
      const losers = new Set<string>(
        attempts.filter((_, i) => results[i]!.status === 'rejected').map((a) => a.session),
      );
      for (const r of rows) {
        expect(r.lockedBySession === null || !losers.has(r.lockedBySession)).toBe(true);
        if (!held.includes(r.vtxoId))
          expect([r.status, r.lockedBySession, r.version]).toEqual(['assigned', null, 0]);
      }
    });

    it('refuses unknown, foreign, spent and already locked VTXOs, changing nothing', async () => {
      const owner = hex32();
      const [a, b, spent, gold] = await seed(owner, [100n, 200n, 300n, 400n]);
      await database.db.updateTable('vtxos').set({ status: 'spent' }).where('vtxo_id', '=', spent!).execute();
      await database.db.updateTable('vtxos').set({ asset_id: 'gold' }).where('vtxo_id', '=', gold!).execute();
      const s = randomUUID();
      expect(await codeOf(store.lockForSession(s, [a!, `${hex32()}:0`], owner, 'gBTC', TTL))).toBe(2003);
      expect(await codeOf(store.lockForSession(s, [a!], hex32(), 'gBTC', TTL))).toBe(2003);
      expect(await codeOf(store.lockForSession(s, [a!, gold!], owner, 'gBTC', TTL))).toBe(2003);
      expect(await codeOf(store.lockForSession(s, [a!, spent!], owner, 'gBTC', TTL))).toBe(2002);
      expect(await codeOf(store.lockForSession(s, [a!, a!], owner, 'gBTC', TTL))).toBe(1002);
      await store.lockForSession(randomUUID(), [b!], owner, 'gBTC', TTL);
      expect(await codeOf(store.lockForSession(s, [a!, b!], owner, 'gBTC', TTL))).toBe(2002);
      expect(await row(a!)).toMatchObject({ status: 'assigned', lockedBySession: null, version: 0 });
      // Locking again what the session holds is fine.
      await store.lockForSession(s, [a!], owner, 'gBTC', TTL);
      expect((await store.lockForSession(s, [a!], owner, 'gBTC', TTL))[0]).toMatchObject({
        lockedBySession: s,
      });
    });

    it('returns VTXOs on release and on lock expiry, after which the old session cannot spend them', async () => {
      const owner = hex32();
      const [a, b] = await seed(owner, [100n, 200n]);
      const s1 = randomUUID();
      await store.lockForSession(s1, [a!, b!], owner, 'gBTC', TTL);
      expect(await store.releaseSession(s1)).toBe(2);
      expect(await store.releaseSession(s1)).toBe(0);
      expect(await row(a!)).toMatchObject({ status: 'assigned', lockedBySession: null, lockExpiresAt: null });

      const s2 = randomUUID();
      clock = NOW + 1_000;
      await store.lockForSession(s2, [a!], owner, 'gBTC', TTL);
      // Earlier tests' locks (taken at NOW) expire first; this one only at its own deadline.
      await store.expireLocks(NOW + 1_000 + TTL - 1);
      expect(await row(a!)).toMatchObject({ status: 'pending_spend', lockedBySession: s2 });
      expect(await store.expireLocks(NOW + 1_000 + TTL)).toBe(1);
      expect(await row(a!)).toMatchObject({ status: 'assigned', lockedBySession: null });
      expect(await codeOf(store.markSpent(s2, hex32()))).toBe(2002);
      // Someone else may lock it now.
      await store.lockForSession(randomUUID(), [a!], owner, 'gBTC', TTL);
      clock = NOW;
    });

    it('marks spent only for the lock holder, with the outputs in the same transaction', async () => {
      const owner = hex32();
      const payee = hex32();
      const [a, b] = await seed(owner, [700n, 500n]);
      const holder = randomUUID();
      await store.lockForSession(holder, [a!, b!], owner, 'gBTC', TTL);
      const txid = hex32();
      const outputs: NewOutput[] = [
        { txid, vout: 0, ownerPubkey: payee, assetId: 'gBTC', amount: 1_000n, sats: 330n },
        { txid, vout: 1, ownerPubkey: owner, assetId: 'gBTC', amount: 200n, sats: 330n },
      ];
      expect(await codeOf(store.markSpent(randomUUID(), txid, { outputs }))).toBe(2002);
      expect(await codeOf(store.markSpent(randomUUID(), txid, { vtxoIds: [a!], outputs }))).toBe(2002);
      expect(await store.get(`${txid}:0`)).toBeUndefined();
      // An output of zero rolls back the spend too.
      const bad = [{ ...outputs[0]!, amount: 0n }];
      expect(await codeOf(store.markSpent(holder, txid, { outputs: bad }))).toBe(2004);
      expect(await row(a!)).toMatchObject({ status: 'pending_spend' });

      const { spent, created } = await store.markSpent(holder, txid, { outputs });
      expect(spent.map((v) => [v.vtxoId, v.status, v.spentByTxid]).sort()).toEqual(
        [
          [a, 'spent', txid],
          [b, 'spent', txid],
        ].sort(),
      );
      expect(created.map((v) => [v.ownerPubkey, v.amount, v.status, v.createdByTxid])).toEqual([
        [payee, 1_000n, 'assigned', txid],
        [owner, 200n, 'assigned', txid],
      ]);
      expect(await codeOf(store.markSpent(holder, txid))).toBe(2002);
      expect(await store.releaseSession(holder)).toBe(0);
      expect(await row(a!)).toMatchObject({ status: 'spent' });
    });

    it('derives balances exactly from the rows, beyond 2^53', async () => {
      const owner = hex32();
      const big = 2n ** 60n + 7n;
      const [a, , c, d] = await seed(owner, [big, big + 1n, 2n ** 55n + 3n, 999n]);
      await seed(owner, [2n ** 54n + 1n], { asset_id: 'gold' });
      await seed(hex32(), [5n]); // someone else's
      await store.lockForSession(randomUUID(), [c!], owner, 'gBTC', TTL);
      const s = randomUUID();
      await store.lockForSession(s, [d!], owner, 'gBTC', TTL);
      await store.markSpent(s, hex32());
      expect(await store.balances(owner)).toEqual([
        {
          assetId: 'gBTC',
          available: 2n * big + 1n,
          pending: 2n ** 55n + 3n,
          availableCount: 2,
          pendingCount: 1,
        },
        { assetId: 'gold', available: 2n ** 54n + 1n, pending: 0n, availableCount: 1, pendingCount: 0 },
      ]);
      expect((await row(a!))?.amount).toBe(big);
      expect(await store.balances(hex32())).toEqual([]);
    });

    it('locks inventory for one session at a time, returns it to the inventory, and gives coin selection only spendable, unexpired VTXOs', async () => {
      const owner = hex32();
      const gateway = hex32();
      const inventory = await seed(gateway, [0n, 0n, 0n], { status: 'available', sats: 1_000n });
      const sessions = Array.from({ length: 6 }, () => randomUUID());
      const results = await Promise.allSettled(
        sessions.map((s, i) => racers[i % racers.length]!.lockInventory(s, 'gBTC', 1, 500n, TTL)),
      );
      const won = results.flatMap((r) => (r.status === 'fulfilled' ? r.value.map((v) => v.vtxoId) : []));
      // Three VTXOs, six sessions wanting one each: three win, each a different VTXO.
      expect(won.sort()).toEqual([...inventory].sort());
      for (const r of results)
        if (r.status === 'rejected') expect(await codeOf(Promise.reject(r.reason))).toBe(5004);
      const holder = sessions[results.findIndex((r) => r.status === 'fulfilled')]!;
      expect(await store.releaseSession(holder)).toBe(1);
      expect(
        (await Promise.all(inventory.map((id) => row(id!)))).filter((v) => v?.status === 'available'),
      ).toHaveLength(1);
      expect(await codeOf(store.lockInventory(randomUUID(), 'gBTC', 1, 5_000n, TTL))).toBe(5004);

      const [x, y] = await seed(owner, [5_000n, 2_000n]);
      await seed(owner, [9_000n], { expires_at: NOW - 1 });
      await store.lockForSession(randomUUID(), [y!], owner, 'gBTC', TTL);
      const coins = await store.candidates(owner, 'gBTC');
      expect(coins.map((c) => c.id)).toEqual([x]);
      const pick = selectCoins(coins, 4_900n, { dustLimit: 50n });
      expect([pick.inputs.length, pick.change]).toEqual([1, 100n]);
    });

    it('selects inputs in the database exactly as selectCoins does over the candidates', async () => {
      const owner = hex32();
      await seed(owner, [100n, 250n, 250n, 400n, 1_000n, 3_000n, 2n ** 60n]);
      await seed(owner, [5_000n], { status: 'spent' });
      const coins = await store.candidates(owner, 'gBTC');
      for (const target of [1n, 100n, 240n, 250n, 390n, 650n, 1_001n, 2_999n, 4_700n, 2n ** 60n + 1n]) {
        for (const dustLimit of [0n, 5n, 150n]) {
          const options = { dustLimit };
          const expected = await codeOrSelection(() => selectCoins(coins, target, options));
          const actual = await codeOrSelection(() => store.selectInputs(owner, 'gBTC', target, options));
          expect([target, dustLimit, actual]).toEqual([target, dustLimit, expected]);
        }
      }
      expect(await codeOf(store.selectInputs(owner, 'gBTC', 2n ** 61n, { dustLimit: 1n }))).toBe(2001);
    });

    it('selects inputs exactly as selectCoins over the candidates for random coin sets, reading ids only for the coins it picks unless it must read every candidate', async () => {
      const counter = idRowCounter();
      const counted = new VtxoStore(
        { ...database, db: database.db.withPlugin(counter.plugin) },
        // No time limit on the prefix search: which path runs must not depend on the machine.
        { now: () => clock, prefixSearchBudgetMs: Infinity },
      );
      const paths = {
        fromLargest: 0,
        everyCandidate: 0,
        prefixOnePage: 0,
        prefixMorePages: 0,
        prefixSeeks: 0,
        ranges: 0,
      };
      await fc.assert(
        fc.asyncProperty(
          // Up to 300 coins: often more distinct amounts than the first page of 64 holds.
          fc.array(fc.bigInt({ min: 1n, max: 400n }), { minLength: 20, maxLength: 300, size: 'max' }),
          fc.constantFrom('spread', 'few', 'narrow'),
          fc.array(
            fc.record({
              permille: fc.integer({ min: 1, max: 1000 }),
              dustLimit: fc.bigInt({ min: 0n, max: 400n }),
              maxInputs: fc.option(fc.integer({ min: 1, max: 80 }), { nil: undefined }),
              maxNodes: fc.option(
                fc.oneof(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 3000 })),
                {
                  nil: undefined,
                },
              ),
            }),
            { minLength: 4, maxLength: 8 },
          ),
          async (amounts, shape, payments) => {
            const owner = hex32();
            // `few`: 23 amounts, many coins each. `narrow`: all between 601 and 1 000, mostly
            // distinct: many inputs, searches that go past the first page of amounts.
            const shaped = {
              spread: amounts,
              few: amounts.map((a) => 1n + (a % 23n) * 17n),
              narrow: amounts.map((a) => 600n + a),
            }[shape];
            await seed(owner, shaped);
            // Not spendable, and large enough to change k if counted: expired, locked, spent,
            // another asset. Two coins expiring later are spendable.
            await seed(owner, [5_000n], { expires_at: NOW });
            await seed(owner, [5_000n], { status: 'pending_spend', locked_by_session: randomUUID() });
            await seed(owner, [5_000n], { status: 'spent' });
            await seed(owner, [5_000n], { asset_id: 'gold' });
            await seed(owner, [7n, 7n], { expires_at: NOW + 60_000 });
            const coins = await store.candidates(owner, 'gBTC');
            const balance = coins.reduce((sum, c) => sum + c.amount, 0n);
            for (const { permille, ...options } of payments) {
              const target = 1n + (balance * BigInt(permille)) / 1000n; // up to balance + 1: 2001
              const expected = await outcomeOf(() => selectCoins(coins, target, options));
              counter.reset();
              const actual = await outcomeOf(() => counted.selectInputs(owner, 'gBTC', target, options));
              expect([target, options, actual]).toEqual([target, options, expected]);
              const picked = (actual as { ids?: string[] }).ids?.length ?? 0;
              // From the largest amounts: the picked coins' ids, plus at most three single rows.
              if (counter.rows > picked + 3) paths.everyCandidate++;
              else if (picked > 1) paths.fromLargest++;
              // Answered by the frontier-checked search (no ranges read): after the pages that
              // reach the target, or after more that it asked for; with seeks below them.
              if (picked > 1 && counter.ranges === 0 && counter.rows <= picked + 3) {
                if (counter.pages > pagesToReach(coins, target)) paths.prefixMorePages++;
                else paths.prefixOnePage++;
                if (counter.seeks > 0) paths.prefixSeeks++;
              }
              if (counter.ranges > 0) paths.ranges++;
            }
          },
        ),
        // Shrinking would re-seed hundreds of owners: report the first failure as found.
        { numRuns: 40, endOnFailure: true },
      );
      // Typically (40 runs): fromLargest ~130, prefixOnePage ~125, prefixSeeks ~30, and a few
      // each of prefixMorePages, ranges and everyCandidate: those three have their own tests.
      expect(paths.fromLargest).toBeGreaterThan(20);
      expect(paths.prefixOnePage).toBeGreaterThan(20);
      expect(paths.prefixSeeks).toBeGreaterThan(5);
    });

    it('finds a coin far below L by an index seek, reads every candidate when the search needs more than every coin >= M and the greedy k-set is invalid, and neither when one exactly at L pays', async () => {
      const counter = idRowCounter();
      const counted = new VtxoStore(
        { ...database, db: database.db.withPlugin(counter.plugin) },
        // No time limit on the prefix search: which path runs must not depend on the machine.
        { now: () => clock, prefixSearchBudgetMs: Infinity },
      );
      const small = Array.from({ length: 100 }, (_, i) => BigInt(i + 1));
      const options = { dustLimit: 10n };
      const pay = async (owner: string) => {
        counter.rows = 0;
        const actual = await outcomeOf(() => counted.selectInputs(owner, 'gBTC', 1_950n, options));
        const coins = await store.candidates(owner, 'gBTC');
        expect(actual).toEqual(await outcomeOf(() => selectCoins(coins, 1_950n, options)));
        const { amounts, change } = actual as { amounts: bigint[]; change: bigint };
        return { amounts, change, idRows: counter.rows };
      };
      // k = 2 and L = 1 950 - 1 000 = 950, but 1 000 + 955 leaves 5 < dust and no coin is 950:
      // the best set takes a third coin, the 5, far below L and below the first page of amounts.
      // The search over that page asks for the smallest coin >= 5: one seek, no other id read.
      const owner = hex32();
      await seed(owner, [1_000n, 955n, ...small]);
      expect(await pay(owner)).toEqual({ amounts: [1_000n, 955n, 5n], change: 10n, idRows: 3 });
      // 100 coins from 500 to 599 too: the search branches on them past the first page, which
      // already reaches below M = 975, and the greedy k-set is invalid: every candidate is read.
      const crowded = hex32();
      await seed(crowded, [1_000n, 955n, ...small, ...small.map((a) => a + 499n)]);
      expect((await pay(crowded)).idRows).toBeGreaterThan(100);
      // A coin of exactly L: 1 000 + 950 pays exactly, and no other id is read.
      await seed(owner, [950n]);
      expect(await pay(owner)).toEqual({ amounts: [1_000n, 950n], change: 0n, idRows: 2 });
    });

    it('reads more pages of amounts when the search over the first one needs them', async () => {
      const counter = idRowCounter();
      const counted = new VtxoStore(
        { ...database, db: database.db.withPlugin(counter.plugin) },
        // No time limit on the prefix search: which path runs must not depend on the machine.
        { now: () => clock, prefixSearchBudgetMs: Infinity },
      );
      // 500 coins, the even amounts from 2 000 to 2 998; odd targets: no change 0. For 5 201,
      // k = 2, M = 2 601: the greedy pair 2 998 + 2 534 leaves 331, and the search goes on
      // looking for change 0 over every first input down to M, past the first page (to 2 872).
      const owner = hex32();
      await seed(
        owner,
        Array.from({ length: 500 }, (_, i) => 2_000n + 2n * BigInt(i)),
      );
      const coins = await store.candidates(owner, 'gBTC');
      const seen = { onePage: 0, morePages: 0, ranges: 0 };
      for (const target of [5_201n, 5_203n, 5_777n, 8_001n, 20_001n]) {
        for (const options of [{ dustLimit: 0n }, { dustLimit: 330n }, { dustLimit: 330n, maxNodes: 50 }]) {
          counter.reset();
          const actual = await outcomeOf(() => counted.selectInputs(owner, 'gBTC', target, options));
          expect([target, options, actual]).toEqual([
            target,
            options,
            await outcomeOf(() => selectCoins(coins, target, options)),
          ]);
          const picked = (actual as { ids: string[] }).ids.length;
          // Searched down past M: the ranges of the path without the frontier check (and, as
          // for 5 777 with dust, when the greedy k-set is invalid, every candidate).
          if (counter.ranges > 0) {
            seen.ranges++;
            continue;
          }
          expect([target, options, counter.rows]).toEqual([target, options, picked]);
          if (counter.pages > 1) seen.morePages++;
          else seen.onePage++;
        }
      }
      expect(seen.morePages).toBeGreaterThan(0);
      expect(seen.onePage).toBeGreaterThan(0);
    });

    it('answers the same when the prefix search has no time at all (the range reads take over)', async () => {
      const counter = idRowCounter();
      const hurried = new VtxoStore(
        { ...database, db: database.db.withPlugin(counter.plugin) },
        { now: () => clock, prefixSearchBudgetMs: 0 },
      );
      const owner = hex32();
      await seed(
        owner,
        Array.from({ length: 500 }, (_, i) => 2_000n + 2n * BigInt(i)),
      );
      const coins = await store.candidates(owner, 'gBTC');
      for (const target of [5_201n, 8_001n, 20_001n]) {
        for (const options of [{ dustLimit: 0n }, { dustLimit: 330n, maxNodes: 50 }]) {
          counter.reset();
          const actual = await outcomeOf(() => hurried.selectInputs(owner, 'gBTC', target, options));
          expect([target, options, actual]).toEqual([
            target,
            options,
            await outcomeOf(() => selectCoins(coins, target, options)),
          ]);
          expect([target, options, counter.seeks, counter.ranges > 0]).toEqual([target, options, 0, true]);
        }
      }
    });

    it('reads every coin >= M one by one: two coins of exactly M pay exactly', async () => {
      // k = 2, L = 10 000 - 9 000 = 1 000, M = ceil(10 000 / 2) = 5 000. The 70 amounts between
      // M and the largest fill the first page of amounts, which so ends above M.
      const owner = hex32();
      const twins = await seed(owner, [5_000n, 5_000n]);
      await seed(owner, [
        9_000n,
        ...Array.from({ length: 70 }, (_, i) => 5_001n + BigInt(i)),
        1_500n,
        1_200n,
      ]);
      const coins = await store.candidates(owner, 'gBTC');
      const options = { dustLimit: 0n };
      const actual = await store.selectInputs(owner, 'gBTC', 10_000n, options);
      expect([actual.inputs.map((c) => c.id), actual.change]).toEqual([[...twins].sort(), 0n]);
      expect(await outcomeOf(async () => actual)).toEqual(
        await outcomeOf(() => selectCoins(coins, 10_000n, options)),
      );
    });

    it('creates outputs all-or-nothing and never with a zero amount', async () => {
      const txid = hex32();
      const owner = hex32();
      const good: NewOutput = { txid, vout: 0, ownerPubkey: owner, assetId: 'gBTC', amount: 10n, sats: 330n };
      expect(await codeOf(store.createOutputs([good, { ...good, vout: 1, amount: 0n }]))).toBe(2004);
      expect(await store.get(`${txid}:0`)).toBeUndefined();
      await store.createOutputs([good]);
      expect(await codeOf(store.createOutputs([{ ...good, vout: 2 }, good]))).toBe(2002);
      expect(await store.get(`${txid}:2`)).toBeUndefined();
      expect(await store.listByOwner(owner)).toHaveLength(1);
    });

    it('books supply changes with the outputs, once, and burns a user VTXO that expires', async () => {
      const txid = hex32();
      const owner = hex32();
      const asset = `exp-${txid.slice(0, 8)}`;
      const lift = { assetId: asset, kind: 'lift' as const, amount: 700n, reference: `pay-${txid}` };
      await store.createOutputs(
        [
          {
            txid,
            vout: 0,
            ownerPubkey: owner,
            assetId: asset,
            amount: 700n,
            sats: 330n,
            expiresAt: NOW + 50,
          },
          {
            txid,
            vout: 1,
            ownerPubkey: hex32(),
            assetId: asset,
            amount: 0n,
            sats: 500n,
            status: 'available',
            expiresAt: NOW + 50,
          },
        ],
        [lift],
      );
      // The same trigger again books nothing (the outputs are new, the movement is not).
      const again = hex32();
      await store.createOutputs(
        [{ txid: again, vout: 0, ownerPubkey: owner, assetId: asset, amount: 1n, sats: 330n }],
        [lift],
      );
      const supply = async () => (await circulatingSupply(database.db)).get(asset);
      expect(await supply()).toBe(700n);

      const expired = await store.expireVtxos(NOW + 50);
      const mine = expired.filter((v) => v.assetId === asset).map((v) => [v.vout, v.status]);
      expect(mine.sort()).toEqual([
        [0, 'expired'],
        [1, 'expired'],
      ]);
      // 700 left circulation as a burn; the inventory VTXO (no units) booked nothing.
      expect(await supply()).toBe(0n);
      expect(await store.expireVtxos(NOW + 50)).toEqual([]);
      expect((await store.get(`${txid}:0`))?.status).toBe('expired');
    });
  });
}
