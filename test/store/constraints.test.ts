import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCheckViolation, isUniqueViolation } from '../../src/store/db-errors.ts';
import { toBigInt } from '../../src/store/values.ts';
import { createTestDatabase, mariadbAvailable, type TestDatabase } from '../support/test-database.ts';
import {
  challengeRow,
  hex32,
  intentRow,
  movementRow,
  NOW,
  processedEventRow,
  sessionRow,
  vtxoRow,
} from './fixtures.ts';

const kinds = [
  { kind: 'sqlite', skip: false },
  { kind: 'mariadb', skip: !mariadbAvailable },
] as const;

const MAX_INT64 = 2n ** 63n - 1n;

/** Resolves with the error a write failed with; fails the test when the write succeeds. */
async function failure(write: Promise<unknown>): Promise<unknown> {
  try {
    await write;
  } catch (error) {
    return error;
  }
  throw new Error('the write was accepted');
}

async function expectDuplicate(write: Promise<unknown>): Promise<void> {
  const error = await failure(write);
  expect(isUniqueViolation(error), String(error)).toBe(true);
}

for (const { kind, skip } of kinds) {
  describe.skipIf(skip)(`store constraints on ${kind}`, () => {
    let test: TestDatabase;
    const db = () => test.database.db;
    beforeAll(async () => {
      test = await createTestDatabase(kind);
    });
    afterAll(async () => {
      await test?.drop();
    });

    it('refuse a second intent with the same author and action_id, even under another event id', async () => {
      const first = intentRow();
      await db().insertInto('intents').values(first).execute();
      const replay = intentRow({ author_pubkey: first.author_pubkey, action_id: first.action_id });
      await expectDuplicate(db().insertInto('intents').values(replay).execute());
      // The same action_id from another author is a different action.
      await db()
        .insertInto('intents')
        .values(intentRow({ action_id: first.action_id }))
        .execute();
      const rows = await db()
        .selectFrom('intents')
        .where('action_id', '=', first.action_id)
        .select('author_pubkey')
        .execute();
      expect(rows).toHaveLength(2);
    });

    it('claim an event id once', async () => {
      const claim = processedEventRow();
      await db().insertInto('processed_events').values(claim).execute();
      await expectDuplicate(
        db()
          .insertInto('processed_events')
          .values({ ...claim, claimed_by: 'other-instance' })
          .execute(),
      );
      const row = await db()
        .selectFrom('processed_events')
        .selectAll()
        .where('event_id', '=', claim.event_id)
        .executeTakeFirstOrThrow();
      expect([row.claimed_by, row.attempts]).toEqual(['test-1', 1]);
    });

    it('open one challenge per session step', async () => {
      const session = sessionRow();
      await db().insertInto('signing_sessions').values(session).execute();
      await db().insertInto('signing_challenges').values(challengeRow(session.session_id, 1)).execute();
      await expectDuplicate(
        db().insertInto('signing_challenges').values(challengeRow(session.session_id, 1)).execute(),
      );
      await db().insertInto('signing_challenges').values(challengeRow(session.session_id, 2)).execute();
    });

    it('start one session per intent', async () => {
      const session = sessionRow();
      await db().insertInto('signing_sessions').values(session).execute();
      await expectDuplicate(
        db()
          .insertInto('signing_sessions')
          .values(sessionRow({ intent_event_id: session.intent_event_id }))
          .execute(),
      );
    });

    it('book a movement once per kind, reference and asset', async () => {
      const lift = movementRow();
      await db().insertInto('asset_movements').values(lift).execute();
      await expectDuplicate(
        db()
          .insertInto('asset_movements')
          .values(movementRow({ reference: lift.reference }))
          .execute(),
      );
      await db()
        .insertInto('asset_movements')
        .values(movementRow({ reference: lift.reference, kind: 'refund' }))
        .execute();
    });

    it('pay one Lightning invoice per land intent', async () => {
      const payment = {
        payment_hash: hex32(),
        intent_event_id: hex32(),
        user_pubkey: hex32(),
        asset_id: 'gBTC',
        amount: 1_000n,
        amount_msat: 1_000_000n,
        bolt11: 'lnbcrt10u1...',
        fee_limit_sat: 10n,
        status: 'pending' as const,
        created_at: NOW,
        updated_at: NOW,
      };
      await db().insertInto('lightning_payments').values(payment).execute();
      await expectDuplicate(
        db()
          .insertInto('lightning_payments')
          .values({ ...payment, payment_hash: hex32() })
          .execute(),
      );
      await expectDuplicate(
        db()
          .insertInto('lightning_payments')
          .values({ ...payment, intent_event_id: hex32() })
          .execute(),
      );
    });

    it('refuse a VTXO with a negative amount and a second row for the same outpoint', async () => {
      const negative = await failure(
        db()
          .insertInto('vtxos')
          .values(vtxoRow({ amount: -1n }))
          .execute(),
      );
      expect(isCheckViolation(negative), String(negative)).toBe(true);
      const vtxo = vtxoRow();
      await db().insertInto('vtxos').values(vtxo).execute();
      await expectDuplicate(
        db()
          .insertInto('vtxos')
          .values({ ...vtxo, vtxo_id: `${vtxo.txid}-0` })
          .execute(),
      );
    });

    it('keep amounts above 2^53 exact, in rows and in sums', async () => {
      const big = vtxoRow({ amount: MAX_INT64, sats: 2n ** 53n + 1n });
      const owner = big.owner_pubkey;
      const half = vtxoRow({ owner_pubkey: owner, amount: 2n ** 61n + 3n, sats: 1n });
      const small = vtxoRow({ owner_pubkey: owner, amount: 2n ** 61n + 5n, sats: 1n });
      await db().insertInto('vtxos').values([big, half, small]).execute();

      const row = await db()
        .selectFrom('vtxos')
        .select(['amount', 'sats'])
        .where('vtxo_id', '=', big.vtxo_id)
        .executeTakeFirstOrThrow();
      expect(toBigInt(row.amount)).toBe(MAX_INT64);
      expect(toBigInt(row.sats)).toBe(2n ** 53n + 1n);

      const sum = await db()
        .selectFrom('vtxos')
        .select((eb) => eb.fn.sum<number | bigint | string>('amount').as('total'))
        .where('owner_pubkey', '=', owner)
        .where('vtxo_id', '!=', big.vtxo_id)
        .executeTakeFirstOrThrow();
      expect(toBigInt(sum.total)).toBe(2n ** 62n + 8n);

      // Safe integers stay plain numbers, so times and counters need no conversion.
      const plain = await db()
        .selectFrom('vtxos')
        .select(['created_at', 'vout'])
        .where('vtxo_id', '=', big.vtxo_id)
        .executeTakeFirstOrThrow();
      expect(plain).toEqual({ created_at: NOW, vout: 0 });
    });

    it('store doubles and 0/1 flags as given', async () => {
      await db()
        .insertInto('system_metrics')
        .values({
          instance_id: 'i-1',
          sampled_at: NOW,
          cpu_percent: 12.5,
          memory_rss_bytes: 123_456_789,
          load_avg_1m: 0.25,
        })
        .execute();
      const metric = await db()
        .selectFrom('system_metrics')
        .selectAll()
        .where('instance_id', '=', 'i-1')
        .executeTakeFirstOrThrow();
      expect([metric.cpu_percent, metric.memory_rss_bytes, metric.load_avg_1m, metric.disk_percent]).toEqual([
        12.5,
        123_456_789,
        0.25,
        null,
      ]);
      expect(typeof metric.id).toBe('number');

      await db()
        .insertInto('alert_rules')
        .values({ rule_name: 'high_cpu', enabled: 1, state: 'ok', updated_at: NOW })
        .execute();
      const rule = await db()
        .selectFrom('alert_rules')
        .select('enabled')
        .where('rule_name', '=', 'high_cpu')
        .executeTakeFirstOrThrow();
      expect(rule.enabled).toBe(1);
    });

    it('count rows matched by an update, not rows changed, as conditional updates expect', async () => {
      const vtxo = vtxoRow();
      await db().insertInto('vtxos').values(vtxo).execute();
      const same = await db()
        .updateTable('vtxos')
        .set({ status: 'assigned' })
        .where('vtxo_id', '=', vtxo.vtxo_id)
        .where('status', '=', 'assigned')
        .executeTakeFirst();
      expect(same.numUpdatedRows).toBe(1n);
      const none = await db()
        .updateTable('vtxos')
        .set({ status: 'spent' })
        .where('vtxo_id', '=', vtxo.vtxo_id)
        .where('status', '=', 'pending_spend')
        .executeTakeFirst();
      expect(none.numUpdatedRows).toBe(0n);
    });

    it('roll a failed transaction back completely', async () => {
      const vtxo = vtxoRow();
      const intent = intentRow();
      await expect(
        db()
          .transaction()
          .execute(async (trx) => {
            await trx.insertInto('vtxos').values(vtxo).execute();
            await trx.insertInto('intents').values(intent).execute();
            throw new Error('boom');
          }),
      ).rejects.toThrow('boom');
      expect(
        await db().selectFrom('vtxos').select('vtxo_id').where('vtxo_id', '=', vtxo.vtxo_id).execute(),
      ).toEqual([]);
      expect(
        await db()
          .selectFrom('intents')
          .select('intent_event_id')
          .where('intent_event_id', '=', intent.intent_event_id)
          .execute(),
      ).toEqual([]);

      // A constraint failure inside a transaction undoes the statements before it too.
      const kept = intentRow();
      await expectDuplicate(
        db()
          .transaction()
          .execute(async (trx) => {
            await trx.insertInto('intents').values(kept).execute();
            await trx
              .insertInto('intents')
              .values({ ...intentRow(), intent_event_id: kept.intent_event_id })
              .execute();
          }),
      );
      expect(
        await db()
          .selectFrom('intents')
          .select('intent_event_id')
          .where('intent_event_id', '=', kept.intent_event_id)
          .execute(),
      ).toEqual([]);
    });

    it('read a time back to the millisecond', async () => {
      // *_at columns are plain BIGINT unix ms: no time zone or precision loss on either side.
      const at = 4_102_444_800_123; // 2100-01-01T00:00:00.123Z
      await db().insertInto('settings').values({ name: 'probe', value_json: '1', updated_at: at }).execute();
      const row = await sql<{
        updated_at: number;
      }>`select updated_at from settings where name = 'probe'`.execute(db());
      expect(row.rows[0]?.updated_at).toBe(at);
    });
  });
}
