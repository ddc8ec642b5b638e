import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/store/database.ts';
import { createTestDatabase, mariadbAvailable, type TestDatabase } from '../support/test-database.ts';
import { hex32, NOW, vtxoRow } from './fixtures.ts';

const kinds = [
  { kind: 'sqlite', skip: false },
  { kind: 'mariadb', skip: !mariadbAvailable },
] as const;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * What a spend does: in one transaction, lock every input with one conditional update and
 * keep the locks only when all of them were still free. Returns whether this session won.
 */
async function lockInputs(
  database: Database,
  sessionId: string,
  vtxoIds: readonly string[],
): Promise<boolean> {
  try {
    return await database.db.transaction().execute(async (trx) => {
      const result = await trx
        .updateTable('vtxos')
        .set({
          status: 'pending_spend',
          locked_by_session: sessionId,
          locked_at: NOW,
          lock_expires_at: NOW + 60_000,
          updated_at: NOW,
          version: sql<number>`version + 1`,
        })
        .where('vtxo_id', 'in', vtxoIds)
        .where('status', '=', 'assigned')
        .executeTakeFirst();
      // Hold the locks a moment, as a session writing its first step would.
      await pause(5);
      if (result.numUpdatedRows !== BigInt(vtxoIds.length)) throw new LostRace();
      return true;
    });
  } catch (error) {
    if (error instanceof LostRace) return false;
    throw error;
  }
}

class LostRace extends Error {}

for (const { kind, skip } of kinds) {
  describe.skipIf(skip)(`VTXO locking races on ${kind}`, () => {
    let test: TestDatabase;
    let database: Database;
    beforeAll(async () => {
      test = await createTestDatabase(kind, undefined, { poolSize: 10, maxOverflow: 10 });
      database = test.database;
    });
    afterAll(async () => {
      await test?.drop();
    });

    it('let exactly one of 20 concurrent sessions lock the same VTXO', async () => {
      const vtxo = vtxoRow();
      await database.db.insertInto('vtxos').values(vtxo).execute();
      const sessions = Array.from({ length: 20 }, () => randomUUID());

      const won = await Promise.all(sessions.map((s) => lockInputs(database, s, [vtxo.vtxo_id])));

      expect(won.filter(Boolean)).toHaveLength(1);
      const winner = sessions[won.indexOf(true)];
      const row = await database.db
        .selectFrom('vtxos')
        .selectAll()
        .where('vtxo_id', '=', vtxo.vtxo_id)
        .executeTakeFirstOrThrow();
      expect([row.status, row.locked_by_session, row.version]).toEqual(['pending_spend', winner, 1]);
    });

    it('lock overlapping input sets all-or-nothing, never one VTXO for two sessions', async () => {
      const owner = hex32();
      const vtxos = Array.from({ length: 6 }, () => vtxoRow({ owner_pubkey: owner }));
      await database.db.insertInto('vtxos').values(vtxos).execute();
      const ids = vtxos.map((v) => v.vtxo_id);
      // Each session wants two neighbouring VTXOs (wrapping), so every set overlaps two others.
      const attempts = Array.from({ length: 24 }, (_, i) => ({
        session: randomUUID(),
        inputs: [ids[i % 6], ids[(i + 1) % 6]] as string[],
      }));

      const won = await Promise.all(attempts.map((a) => lockInputs(database, a.session, a.inputs)));

      const rows = await database.db.selectFrom('vtxos').selectAll().where('vtxo_id', 'in', ids).execute();
      const winners = attempts.filter((_, i) => won[i]);
      expect(winners.length).toBeGreaterThanOrEqual(1);
      // Winners hold disjoint sets, and hold all of theirs.
      const held = winners.flatMap((w) => w.inputs);
      expect(new Set(held).size).toBe(held.length);
      for (const w of winners) {
        for (const id of w.inputs)
          expect(rows.find((r) => r.vtxo_id === id)?.locked_by_session).toBe(w.session);
      }
      // Losers left nothing behind: every other VTXO is still free and untouched.
      for (const row of rows.filter((r) => !held.includes(r.vtxo_id))) {
        expect([row.status, row.locked_by_session, row.version]).toEqual(['assigned', null, 0]);
      }
    });
  });
}
