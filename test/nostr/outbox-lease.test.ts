// Two API processes drain one outbox at once: each event is leased by exactly one of them, and
// neither waits on nor deadlocks over the other's rows (FOR UPDATE SKIP LOCKED on MariaDB;
// SQLite's write transactions are serial). On MariaDB each "process" has its own connection pool.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NostrEvent } from '../../src/domain/nostr-protocol.ts';
import { Outbox } from '../../src/nostr/outbox.ts';
import { createTestDatabase, mariadbAvailable, type TestDatabase } from '../support/test-database.ts';

const EVENTS = 600;

const event = (i: number): NostrEvent => ({
  id: i.toString(16).padStart(64, '0'),
  pubkey: 'ab'.repeat(32),
  created_at: 1_700_000_000,
  kind: 31502,
  tags: [],
  content: `event ${i}`,
  sig: 'cd'.repeat(64),
});

for (const kind of ['sqlite', 'mariadb'] as const) {
  describe.skipIf(kind === 'mariadb' && !mariadbAvailable)(
    `outbox leases from two processes on ${kind}`,
    () => {
      let test: TestDatabase;
      beforeAll(async () => {
        test = await createTestDatabase(kind, undefined, { poolSize: 4, maxOverflow: 4 });
      });
      afterAll(async () => {
        await test?.drop();
      });

      it('gives every event to exactly one drainer, without a lock conflict', async () => {
        const first = new Outbox(test.database);
        // MariaDB: a pool of its own, as another process has. SQLite: the same handle — a second one
        // in this process would block the event loop in its busy wait while the first holds the lock.
        const second = new Outbox(kind === 'mariadb' ? await test.reopen() : test.database);
        const now = Date.now();
        await first.add(
          Array.from({ length: EVENTS }, (_, i) => event(i)),
          undefined,
          now,
        );
        const drain = async (outbox: Outbox) => {
          const mine: string[] = [];
          for (;;) {
            const rows = await outbox.lease(25, now);
            if (rows.length === 0) return mine;
            mine.push(...rows.map((r) => r.eventId));
            await outbox.published(
              rows.map((r) => r.eventId),
              now,
            );
          }
        };
        // Several drains per process at once, as a supervisor's timer and a notify can overlap.
        const results = await Promise.all([drain(first), drain(second), drain(first), drain(second)]);
        const all = results.flat();
        expect(all).toHaveLength(EVENTS);
        expect(new Set(all).size).toBe(EVENTS);
        expect(await first.pendingCount()).toBe(0);
      }, 60_000);
    },
  );
}
