// Property: any sequence of lifts, transfers (with change and a gateway fee), splits, lands,
// locks held until they lapse, releases, clock ticks (lock expiry, VTXO expiry) and refused
// splits with a zero part, driven through VtxoStore and asset movements on a real database,
// keeps the ledger invariant after every step, never leaves a zero or negative unspent VTXO,
// and leaves exactly the VTXOs an independent model of the same steps expects.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProtocolError } from '../../src/domain/error-codes.ts';
import { checkLedger, ledgerCheckJson } from '../../src/ledger/invariant.ts';
import { VtxoStore, type NewOutput } from '../../src/ledger/vtxo-store.ts';
import type { Database } from '../../src/store/database.ts';
import { toBigInt } from '../../src/store/values.ts';
import { hex32 } from '../store/fixtures.ts';
import { createTestDatabase, mariadbAvailable, type TestDatabase } from '../support/test-database.ts';

type Op =
  | { readonly t: 'lift'; readonly owner: number; readonly amount: bigint; readonly ttl: number | null }
  | { readonly t: 'transfer'; readonly from: number; readonly to: number; readonly amount: bigint }
  | {
      readonly t: 'split';
      readonly owner: number;
      readonly pick: number;
      readonly weights: readonly number[];
    }
  | { readonly t: 'land'; readonly owner: number; readonly amount: bigint }
  | { readonly t: 'hold'; readonly owner: number; readonly pick: number; readonly ttl: number }
  | { readonly t: 'release'; readonly pick: number }
  | { readonly t: 'tick'; readonly ms: number }
  | { readonly t: 'badSplit'; readonly owner: number; readonly pick: number; readonly negative: boolean };

const OWNERS = 3;
const HOUR = 3_600_000;
const FEE = 1n;
const owner = fc.integer({ min: 0, max: OWNERS - 1 });
const amount = fc.oneof(fc.bigInt(1n, 5_000n), fc.bigInt(1n, 2n ** 55n));
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    t: fc.constant('lift' as const),
    owner,
    amount,
    ttl: fc.option(fc.integer({ min: 1, max: 24 * HOUR })),
  }),
  fc.record({ t: fc.constant('transfer' as const), from: owner, to: owner, amount }),
  fc.record({
    t: fc.constant('split' as const),
    owner,
    pick: fc.nat(),
    weights: fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 2, maxLength: 4 }),
  }),
  fc.record({ t: fc.constant('land' as const), owner, amount }),
  fc.record({
    t: fc.constant('hold' as const),
    owner,
    pick: fc.nat(),
    ttl: fc.integer({ min: 1, max: 2 * HOUR }),
  }),
  fc.record({ t: fc.constant('release' as const), pick: fc.nat() }),
  fc.record({ t: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 12 * HOUR }) }),
  fc.record({ t: fc.constant('badSplit' as const), owner, pick: fc.nat(), negative: fc.boolean() }),
);

/** The model: what should be unspent, independently of the store. */
interface ModelVtxo {
  owner: string;
  amount: bigint;
  expiresAt: number | null;
  lockedBy: string | null;
  lockExpiresAt: number | null;
}

const kinds = [
  { kind: 'sqlite', skip: false, runs: 100 },
  { kind: 'mariadb', skip: !mariadbAvailable, runs: 15 },
] as const;

for (const { kind, skip, runs } of kinds) {
  describe.skipIf(skip)(`ledger property on ${kind}`, () => {
    let test: TestDatabase;
    let database: Database;
    let clock = Date.UTC(2026, 0, 1);
    let store: VtxoStore;
    let run = 0;

    beforeAll(async () => {
      test = await createTestDatabase(kind);
      database = test.database;
      store = new VtxoStore(database, { now: () => clock });
    });
    afterAll(async () => {
      await test?.drop();
    });

    async function expectInvariant(step: string): Promise<void> {
      const report = await checkLedger(database);
      if (!report.ok) expect.fail(`after ${step}: ${JSON.stringify(ledgerCheckJson(report), null, 2)}`);
    }

    async function play(ops: readonly Op[]): Promise<void> {
      // Each run has its own asset and owners; earlier runs' expiries and locks are cleared
      // first, so this run's expiry batch holds only its own VTXOs.
      const asset = `P${run++}`;
      clock += 30 * 24 * HOUR;
      await store.expireLocks(clock);
      while ((await store.expireVtxos(clock)).length > 0);
      await database.db
        .insertInto('assets')
        .values({
          asset_id: asset,
          name: asset,
          ticker: asset,
          decimals: 0,
          asset_type: 'permissionless',
          enabled: 1,
          total_supply: 0n,
          min_amount: 1n,
          created_at: clock,
          updated_at: clock,
        })
        .execute();
      const owners = Array.from({ length: OWNERS }, () => hex32());
      const gateway = hex32();
      const model = new Map<string, ModelVtxo>();
      const held: string[] = [];

      const out = (txid: string, vout: number, ownerPubkey: string, value: bigint): NewOutput => ({
        txid,
        vout,
        ownerPubkey,
        assetId: asset,
        amount: value,
        sats: 330n,
      });
      const addOutputs = (outputs: readonly NewOutput[]) => {
        for (const o of outputs) {
          model.set(`${o.txid}:${o.vout}`, {
            owner: o.ownerPubkey,
            amount: o.amount,
            expiresAt: o.expiresAt ?? null,
            lockedBy: null,
            lockExpiresAt: null,
          });
        }
      };
      /** The owner's VTXOs a session may take now, by id. */
      const spendable = (who: string) =>
        [...model]
          .filter(
            ([, v]) =>
              v.owner === who && v.lockedBy === null && (v.expiresAt === null || v.expiresAt > clock),
          )
          .sort(([a], [b]) => (a < b ? -1 : 1));
      /** Select, lock and spend `value` of `who`'s coins; false when the balance is short. */
      const pay = async (
        who: string,
        value: bigint,
        outputs: (txid: string, change: bigint) => NewOutput[],
        land?: bigint,
      ) => {
        let selection;
        try {
          selection = await store.selectInputs(who, asset, value, { dustLimit: 1n });
        } catch (error) {
          if (error instanceof ProtocolError && (error.code === 2001 || error.code === 2004)) {
            const total = spendable(who).reduce((n, [, v]) => n + v.amount, 0n);
            // Refused only when the model agrees the balance is short.
            expect(total < value).toBe(true);
            return false;
          }
          throw error;
        }
        const session = randomUUID();
        const ids = selection.inputs.map((c) => c.id);
        await store.lockForSession(session, ids, who, asset, HOUR);
        const txid = hex32();
        const created = outputs(txid, selection.change);
        await store.markSpent(session, txid, {
          outputs: created,
          ...(land
            ? { movements: [{ assetId: asset, kind: 'land' as const, amount: land, reference: txid }] }
            : {}),
        });
        for (const id of ids) {
          expect(model.get(id)?.owner).toBe(who);
          model.delete(id);
        }
        addOutputs(created);
        return true;
      };

      for (const [i, o] of ops.entries()) {
        switch (o.t) {
          case 'lift': {
            const txid = hex32();
            const output = {
              ...out(txid, 0, owners[o.owner]!, o.amount),
              expiresAt: o.ttl === null ? null : clock + o.ttl,
            };
            await store.createOutputs(
              [output],
              [{ assetId: asset, kind: 'lift', amount: o.amount, reference: txid }],
            );
            addOutputs([output]);
            break;
          }
          case 'transfer': {
            const from = owners[o.from]!;
            await pay(from, o.amount, (txid, change) => [
              out(txid, 0, owners[o.to]!, o.amount),
              ...(change > 0n ? [out(txid, 1, from, change)] : []),
            ]);
            break;
          }
          case 'land': {
            const who = owners[o.owner]!;
            // The landed amount leaves circulation; the fee stays, as a gateway VTXO.
            await pay(
              who,
              o.amount + FEE,
              (txid, change) => [
                out(txid, 0, gateway, FEE),
                ...(change > 0n ? [out(txid, 1, who, change)] : []),
              ],
              o.amount,
            );
            break;
          }
          case 'split': {
            const who = owners[o.owner]!;
            const coins = spendable(who).filter(([, v]) => v.amount >= BigInt(o.weights.length));
            if (coins.length === 0) break;
            const [id, coin] = coins[o.pick % coins.length]!;
            const k = BigInt(o.weights.length);
            const sum = BigInt(o.weights.reduce((a, b) => a + b, 0));
            const parts = o.weights.map((w) => 1n + ((coin.amount - k) * BigInt(w)) / sum);
            parts[parts.length - 1]! += coin.amount - parts.reduce((a, b) => a + b, 0n);
            const session = randomUUID();
            await store.lockForSession(session, [id], who, asset, HOUR);
            const txid = hex32();
            const created = parts.map((p, vout) => out(txid, vout, who, p));
            await store.markSpent(session, txid, { outputs: created });
            model.delete(id);
            addOutputs(created);
            break;
          }
          case 'badSplit': {
            const who = owners[o.owner]!;
            const coins = spendable(who);
            if (coins.length === 0) break;
            const [id, coin] = coins[o.pick % coins.length]!;
            const session = randomUUID();
            await store.lockForSession(session, [id], who, asset, HOUR);
            const txid = hex32();
            // A part of 0 (or a negative one balanced by a larger one): refused, nothing recorded.
            const bad = o.negative ? [coin.amount + 1n, -1n] : [coin.amount, 0n];
            const refused = await store
              .markSpent(session, txid, { outputs: bad.map((p, vout) => out(txid, vout, who, p)) })
              .then(
                () => undefined,
                (e: unknown) => e,
              );
            expect(refused).toBeInstanceOf(ProtocolError);
            expect((refused as ProtocolError).code).toBe(2004);
            expect(await store.get(`${txid}:0`)).toBeUndefined();
            expect(await store.releaseSession(session)).toBe(1);
            break;
          }
          case 'hold': {
            const who = owners[o.owner]!;
            const coins = spendable(who);
            if (coins.length === 0) break;
            const [id, coin] = coins[o.pick % coins.length]!;
            const session = randomUUID();
            await store.lockForSession(session, [id], who, asset, o.ttl);
            coin.lockedBy = session;
            coin.lockExpiresAt = clock + o.ttl;
            held.push(session);
            break;
          }
          case 'release': {
            if (held.length === 0) break;
            const session = held.splice(o.pick % held.length, 1)[0]!;
            const mine = [...model.values()].filter((v) => v.lockedBy === session);
            expect(await store.releaseSession(session)).toBe(mine.length);
            for (const v of mine) {
              v.lockedBy = null;
              v.lockExpiresAt = null;
            }
            break;
          }
          case 'tick': {
            clock += o.ms;
            const lapsed = [...model.values()].filter(
              (v) => v.lockExpiresAt !== null && v.lockExpiresAt <= clock,
            );
            expect(await store.expireLocks(clock)).toBe(lapsed.length);
            for (const v of lapsed) {
              v.lockedBy = null;
              v.lockExpiresAt = null;
            }
            const due = [...model]
              .filter(([, v]) => v.lockedBy === null && v.expiresAt !== null && v.expiresAt <= clock)
              .map(([id]) => id)
              .sort();
            const expired = (await store.expireVtxos(clock))
              .filter((v) => v.assetId === asset)
              .map((v) => v.vtxoId);
            expect(expired.sort()).toEqual(due);
            for (const id of due) model.delete(id);
            break;
          }
        }
        await expectInvariant(`step ${i} ${o.t}`);
      }

      // The store holds exactly the model's unspent VTXOs, with their owners, amounts and locks.
      const rows = await database.db
        .selectFrom('vtxos')
        .select(['vtxo_id', 'owner_pubkey', 'amount', 'status', 'locked_by_session'])
        .where('asset_id', '=', asset)
        .where('status', 'in', ['assigned', 'pending_spend'])
        .execute();
      const actual = Object.fromEntries(
        rows.map((r) => [
          r.vtxo_id,
          { owner: r.owner_pubkey, amount: toBigInt(r.amount), lockedBy: r.locked_by_session },
        ]),
      );
      const expected = Object.fromEntries(
        [...model].map(([id, v]) => [id, { owner: v.owner, amount: v.amount, lockedBy: v.lockedBy }]),
      );
      expect(actual).toEqual(expected);
      for (const r of rows) expect(toBigInt(r.amount) > 0n).toBe(true);
    }

    it(
      'keeps the invariant and matches the model for random operation sequences',
      async () => {
        await fc.assert(
          fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 30 }), (ops) => play(ops)),
          { numRuns: runs },
        );
      },
      kind === 'mariadb' ? 240_000 : 120_000,
    );
  });
}
