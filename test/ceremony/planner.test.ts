// The planner under real concurrency, on SQLite and MariaDB: 50 payments from one user's VTXOs
// at once (select, then lock, as intents do) never hold a VTXO twice, never pay more than the
// balance, and a refused plan leaves nothing locked. Units balance per asset in every plan.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Planner, type Leg } from '../../src/ceremony/planner.ts';
import type { ProtocolError } from '../../src/domain/error-codes.ts';
import { VtxoStore } from '../../src/ledger/vtxo-store.ts';
import { createTestDatabase, mariadbAvailable, type TestDatabase } from '../support/test-database.ts';
import { hex32, vtxoRow } from '../store/fixtures.ts';

const kinds = [
  { kind: 'sqlite', skip: false },
  { kind: 'mariadb', skip: !mariadbAvailable },
] as const;

const leg = (author: string, amount: bigint): Leg => ({
  sessionId: randomUUID(),
  author,
  pays: [{ assetId: 'gBTC', amount: amount + 10n }],
  outputs: [{ owner: hex32(), assetId: 'gBTC', amount, role: 'recipient' }],
  fee: { assetId: 'gBTC', amount: 10n },
});

for (const { kind, skip } of kinds) {
  describe.skipIf(skip)(`Planner on ${kind}`, () => {
    let test: TestDatabase;
    let planners: Planner[];
    let store: VtxoStore;
    const gateway = hex32();
    const options = { gatewayPubkey: gateway, dust: 330n, lockTtlMs: 60_000, inventoryAssetId: 'gBTC' };

    beforeAll(async () => {
      test = await createTestDatabase(kind, undefined, { poolSize: 10, maxOverflow: 10 });
      store = new VtxoStore(test.database);
      planners = [new Planner(store)];
      if (kind === 'mariadb')
        for (let i = 0; i < 3; i++) planners.push(new Planner(new VtxoStore(await test.reopen())));
      // Inventory enough to top every plan's sats up.
      await test.database.db
        .insertInto('vtxos')
        .values(
          Array.from({ length: 120 }, () =>
            vtxoRow({ owner_pubkey: gateway, amount: 0n, sats: 5_000n, status: 'available' }),
          ),
        )
        .execute();
    }, 60_000);
    afterAll(async () => {
      await test?.drop();
    });

    it('50 concurrent payments from one user never hold a VTXO twice nor overspend', async () => {
      const owner = hex32();
      await test.database.db
        .insertInto('vtxos')
        .values(Array.from({ length: 30 }, () => vtxoRow({ owner_pubkey: owner, amount: 100n })))
        .execute();
      const legs = Array.from({ length: 50 }, () => leg(owner, 140n)); // 150 each: two inputs
      const results = await Promise.allSettled(
        legs.map((l, i) => planners[i % planners.length]!.plan([l], options)),
      );
      for (const r of results) {
        if (r.status === 'rejected') expect([2001, 2002]).toContain((r.reason as ProtocolError).code);
      }
      const plans = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      expect(plans.length).toBeGreaterThan(0);
      const held = plans.flatMap((p) => p.inputs.filter((i) => !i.gateway).map((i) => i.vtxoId));
      expect(new Set(held).size).toBe(held.length);
      const paid = plans.reduce((sum, p) => sum + p.inputs.reduce((s, i) => s + i.amount, 0n), 0n);
      expect(paid).toBeLessThanOrEqual(3_000n);
      // Every plan balances its units: inputs = recipient + fee + change.
      for (const p of plans) {
        const units = (xs: readonly { amount: bigint }[]) => xs.reduce((s, x) => s + x.amount, 0n);
        expect(units(p.inputs)).toBe(units(p.outputs));
      }
      // What the database says agrees: exactly the planned inputs are locked, by their sessions.
      const rows = await store.listByOwner(owner);
      const locked = rows.filter((r) => r.status === 'pending_spend').map((r) => r.vtxoId);
      expect(locked.sort()).toEqual([...held].sort());
      const balance = (await store.balances(owner))[0]!;
      expect(balance.available + balance.pending).toBe(3_000n);
      expect(balance.available >= 0n).toBe(true);
    }, 60_000);

    it('a refused plan leaves nothing locked', async () => {
      const owner = hex32();
      await test.database.db
        .insertInto('vtxos')
        .values([vtxoRow({ owner_pubkey: owner, amount: 50n })])
        .execute();
      const l = leg(owner, 500n);
      await expect(planners[0]!.plan([l], options)).rejects.toMatchObject({ code: 2001 });
      expect((await store.listByOwner(owner)).map((r) => r.status)).toEqual(['assigned']);
    });
  });
}
