// The cleanup job: lapsed session locks released, VTXOs past expiry expired, counts returned
// per asset; a second run (or a concurrent one) changes nothing more; the inventory update is
// published for a pool that shrank. SQLite and MariaDB.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VtxoCleanup } from '../../src/ledger/cleanup.ts';
import { VtxoStore } from '../../src/ledger/vtxo-store.ts';
import { hex32, NOW, vtxoRow } from '../store/fixtures.ts';
import { mariadbAvailable, silentLogger } from '../support/test-database.ts';
import { harness, type Harness } from './inventory-support.ts';

const kinds = [
  { kind: 'sqlite', skip: false },
  { kind: 'mariadb', skip: !mariadbAvailable },
] as const;

for (const { kind, skip } of kinds) {
  describe.skipIf(skip)(`VTXO cleanup on ${kind}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await harness(kind);
    });
    afterAll(async () => h?.dispose());

    it('releases lapsed locks, expires VTXOs past expiry, once', async () => {
      const user = hex32();
      const past = NOW - 1;
      const future = NOW + 3_600_000;
      await h.database.db
        .insertInto('vtxos')
        .values([
          // Expire: two inventory VTXOs, one user VTXO.
          vtxoRow({
            owner_pubkey: h.key.pubkey,
            status: 'available',
            amount: 0n,
            sats: 1000n,
            expires_at: past,
          }),
          vtxoRow({
            owner_pubkey: h.key.pubkey,
            status: 'available',
            amount: 0n,
            sats: 1000n,
            expires_at: past,
          }),
          vtxoRow({ owner_pubkey: user, status: 'assigned', amount: 700n, expires_at: past }),
          // Stay: not yet expired, and already spent.
          vtxoRow({
            owner_pubkey: h.key.pubkey,
            status: 'available',
            amount: 0n,
            sats: 1000n,
            expires_at: future,
          }),
          vtxoRow({ owner_pubkey: user, status: 'spent', amount: 5n, expires_at: past }),
          // A lapsed lock (VTXO itself still valid) and a live one.
          vtxoRow({
            owner_pubkey: user,
            status: 'pending_spend',
            locked_by_session: 's-lapsed',
            lock_expires_at: past,
            expires_at: future,
          }),
          vtxoRow({
            owner_pubkey: user,
            status: 'pending_spend',
            locked_by_session: 's-live',
            lock_expires_at: future,
            expires_at: future,
          }),
        ])
        .execute();
      const cleanup = new VtxoCleanup({
        vtxos: h.vtxos,
        inventory: h.inventory,
        logger: silentLogger,
        now: h.clock.now,
      });
      const before = h.published.length;
      expect(await cleanup.run()).toEqual({
        releasedLocks: 1,
        expiredVtxos: 3,
        byAsset: { gBTC: { available: 2, assigned: 1 } },
        more: false,
      });
      expect(h.published.slice(before)).toEqual([
        expect.objectContaining({ asset_id: 'gBTC', available: 1, reason: 'cleanup' }),
      ]);
      const statuses = await h.database.db
        .selectFrom('vtxos')
        .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
        .groupBy('status')
        .orderBy('status')
        .execute();
      expect(Object.fromEntries(statuses.map((s) => [s.status, Number(s.n)]))).toEqual({
        assigned: 1,
        available: 1,
        expired: 3,
        pending_spend: 1,
        spent: 1,
      });
      expect(await cleanup.run()).toEqual({ releasedLocks: 0, expiredVtxos: 0, byAsset: {}, more: false });
    });

    it('concurrent runs expire each VTXO once', async () => {
      h.clock.ms += 10_000;
      const rows = Array.from({ length: 40 }, () =>
        vtxoRow({
          owner_pubkey: h.key.pubkey,
          status: 'available',
          amount: 0n,
          sats: 1000n,
          expires_at: h.clock.ms - 5,
        }),
      );
      await h.database.db.insertInto('vtxos').values(rows).execute();
      const runners = [];
      for (let i = 0; i < 4; i++) {
        const db = kind === 'mariadb' ? await h.test.reopen() : h.database;
        runners.push(
          new VtxoCleanup({
            vtxos: new VtxoStore(db, { now: h.clock.now }),
            logger: silentLogger,
            now: h.clock.now,
          }),
        );
      }
      const results = await Promise.all(runners.map((r) => r.run()));
      expect(results.reduce((sum, r) => sum + r.expiredVtxos, 0)).toBe(40);
    });
  });
}
