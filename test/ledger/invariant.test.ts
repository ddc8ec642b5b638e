// checkLedger: a ledger moved only through VtxoStore is consistent; each kind of corruption an
// outside write could cause (drift of an amount, a lost movement, a lock without holder, a row
// both spent and unspent…) is reported by name, with the offending ids, on SQLite and MariaDB.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { checkLedger } from '../../src/ledger/invariant.ts';
import { VtxoStore } from '../../src/ledger/vtxo-store.ts';
import type { Database } from '../../src/store/database.ts';
import { hex32, NOW, vtxoRow } from '../store/fixtures.ts';
import { expectLedgerConsistent } from '../support/ledger.ts';
import { createTestDatabase, mariadbAvailable, type TestDatabase } from '../support/test-database.ts';

for (const kind of ['sqlite', 'mariadb'] as const) {
  describe.skipIf(kind === 'mariadb' && !mariadbAvailable)(`checkLedger on ${kind}`, () => {
    let test: TestDatabase;
    let database: Database;
    let store: VtxoStore;
    const alice = hex32();
    const bob = hex32();
    const gateway = hex32();

    beforeAll(async () => {
      test = await createTestDatabase(kind);
      database = test.database;
      store = new VtxoStore(database, { now: () => NOW });
    });
    afterAll(async () => {
      await test?.drop();
    });
    beforeEach(async () => {
      for (const table of ['vtxos', 'asset_movements', 'assets'] as const)
        await database.db.deleteFrom(table).execute();
      await database.db
        .insertInto('assets')
        .values({
          asset_id: 'gBTC',
          name: 'Gateway BTC',
          ticker: 'gBTC',
          decimals: 8,
          asset_type: 'relay_issued',
          enabled: 1,
          total_supply: 0n,
          min_amount: 1n,
          created_at: NOW,
          updated_at: NOW,
        })
        .execute();
    });

    /** A lift of 1 000 to alice, a transfer of 300 to bob with change and a fee, a land of 100 by bob. */
    async function scenario() {
      const lift = hex32();
      const [v] = await store.createOutputs(
        [{ txid: lift, vout: 0, ownerPubkey: alice, assetId: 'gBTC', amount: 1_000n, sats: 330n }],
        [{ assetId: 'gBTC', kind: 'lift', amount: 1_000n, reference: lift }],
      );
      const s1 = randomUUID();
      await store.lockForSession(s1, [v!.vtxoId], alice, 'gBTC', 60_000);
      const transfer = hex32();
      const { created } = await store.markSpent(s1, transfer, {
        outputs: [
          { txid: transfer, vout: 0, ownerPubkey: bob, assetId: 'gBTC', amount: 300n, sats: 330n },
          { txid: transfer, vout: 1, ownerPubkey: alice, assetId: 'gBTC', amount: 690n, sats: 330n },
          { txid: transfer, vout: 2, ownerPubkey: gateway, assetId: 'gBTC', amount: 10n, sats: 330n },
        ],
      });
      const s2 = randomUUID();
      await store.lockForSession(s2, [created[0]!.vtxoId], bob, 'gBTC', 60_000);
      const land = hex32();
      await store.markSpent(s2, land, {
        outputs: [{ txid: land, vout: 0, ownerPubkey: bob, assetId: 'gBTC', amount: 200n, sats: 330n }],
        movements: [{ assetId: 'gBTC', kind: 'land', amount: 100n, reference: land }],
      });
      return { alice: created[1]!.vtxoId, fee: created[2]!.vtxoId };
    }

    it('finds a ledger moved through VtxoStore consistent', async () => {
      await scenario();
      // An inventory VTXO (sats, no units) does not count.
      await store.createOutputs([
        {
          txid: hex32(),
          vout: 0,
          ownerPubkey: gateway,
          assetId: 'gBTC',
          amount: 0n,
          sats: 5_000n,
          status: 'available',
        },
      ]);
      const report = await expectLedgerConsistent(database);
      expect(report.assets).toEqual([
        { assetId: 'gBTC', unspent: 900n, expected: 900n, ok: true, difference: 0n },
      ]);
      expect(report.problems).toEqual([]);
    });

    it('finds the ledger consistent while open sessions hold inventory and user VTXOs locked', async () => {
      const { alice: aliceVtxo } = await scenario();
      const [inventory] = await store.createOutputs([
        {
          txid: hex32(),
          vout: 0,
          ownerPubkey: gateway,
          assetId: 'gBTC',
          amount: 0n,
          sats: 2_000n,
          status: 'available',
        },
      ]);
      // An ordinary open session: the user's VTXO and an inventory VTXO topping its sats up.
      const session = randomUUID();
      await store.lockForSession(session, [aliceVtxo], alice, 'gBTC', 60_000);
      await store.lockInventory(session, 'gBTC', 1, 1n, 60_000);
      expect((await store.get(inventory!.vtxoId))?.status).toBe('pending_spend');
      const report = await expectLedgerConsistent(database);
      expect(report.problems).toEqual([]);
      // Released, the inventory VTXO is inventory again.
      await store.releaseSession(session);
      expect((await store.get(inventory!.vtxoId))?.status).toBe('available');
    });

    it('reports drift of an amount and a supply change booked without its VTXO', async () => {
      const ids = await scenario();
      await database.db
        .updateTable('vtxos')
        .set({ amount: 1_690n })
        .where('vtxo_id', '=', ids.alice)
        .execute();
      let report = await checkLedger(database);
      expect(report.ok).toBe(false);
      expect(report.assets).toEqual([
        { assetId: 'gBTC', unspent: 1_900n, expected: 900n, ok: false, difference: 1_000n },
      ]);
      await database.db.updateTable('vtxos').set({ amount: 690n }).where('vtxo_id', '=', ids.alice).execute();
      // A land booked twice under another reference: value lost.
      await database.db
        .insertInto('asset_movements')
        .values({ asset_id: 'gBTC', kind: 'land', amount: 50n, reference: 'stray', created_at: NOW })
        .execute();
      report = await checkLedger(database);
      expect(report.assets[0]).toMatchObject({ ok: false, difference: 50n });
    });

    // Each change turns a spent, empty row into exactly one kind of corruption.
    it.each([
      ['empty_unspent_vtxo', { status: 'assigned' as const, amount: 0n, spent_by_txid: null }],
      ['inventory_with_units', { status: 'available' as const, amount: 5n, spent_by_txid: null }],
      [
        'lock_without_holder',
        { status: 'pending_spend' as const, amount: 5n, spent_by_txid: null, lock_expires_at: NOW },
      ],
      ['stale_lock', { status: 'expired' as const, lock_expires_at: NOW }],
      ['spent_without_txid', { spent_by_txid: null }],
      ['unspent_with_spending_txid', { status: 'assigned' as const, amount: 5n }],
      ['unknown_asset', { asset_id: 'nope' }],
      ['id_mismatch', { vtxo_id: `${'cd'.repeat(32)}:7` }],
    ])('reports %s with the offending VTXO', async (check, change) => {
      // A consistent row first, then the corruption written behind the store's back.
      const row = vtxoRow({ owner_pubkey: alice, amount: 0n, status: 'spent', spent_by_txid: hex32() });
      await database.db.insertInto('vtxos').values(row).execute();
      await database.db.updateTable('vtxos').set(change).where('vtxo_id', '=', row.vtxo_id).execute();
      const report = await checkLedger(database);
      expect(report.ok).toBe(false);
      const id = 'vtxo_id' in change ? change.vtxo_id : row.vtxo_id;
      expect(report.problems).toContainEqual(expect.objectContaining({ check, count: 1, sample: [id] }));
      // Only the intended check fires.
      expect(report.problems.map((p) => p.check).filter((c) => c !== check)).toEqual([]);
    });
  });
}
