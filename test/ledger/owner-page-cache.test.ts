import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { LedgerReads, vtxoJson } from '../../src/ledger/ledger-reads.ts';
import { OwnerPageCache } from '../../src/ledger/owner-page-cache.ts';
import type { Database } from '../../src/store/database.ts';
import { hex32, vtxoRow } from '../store/fixtures.ts';
import { createTestDatabase, mariadbAvailable, type TestDatabase } from '../support/test-database.ts';

let test: TestDatabase | undefined;
const others: Database[] = [];
afterEach(async () => {
  for (const other of others.splice(0)) await other.close();
  await test?.drop();
  test = undefined;
});

/** What the route would send without any cache: read and rendered now. */
async function fresh(reads: LedgerReads, owner: string, limit = 100): Promise<string> {
  const page = await reads.userVtxos(owner, { limit });
  return JSON.stringify({ pubkey: owner, vtxos: page.vtxos.map(vtxoJson), next_cursor: page.nextCursor });
}

describe('the VTXO page cache on SQLite', () => {
  it('serves a page again only while its owner is unchanged, whoever changes it', async () => {
    test = await createTestDatabase('sqlite');
    const { db } = test.database;
    const reads = new LedgerReads(test.database);
    const [alice, bob] = [hex32(), hex32()];
    await db
      .insertInto('vtxos')
      .values([vtxoRow({ owner_pubkey: alice }), vtxoRow({ owner_pubkey: bob })])
      .execute();

    const read = () => reads.userVtxosJson(alice, { limit: 100 });
    expect(await read()).toBe(await fresh(reads, alice));

    // Each kind of write to alice's VTXOs shows at once.
    await db
      .insertInto('vtxos')
      .values(vtxoRow({ owner_pubkey: alice, amount: 7n }))
      .execute();
    expect(await read()).toBe(await fresh(reads, alice));
    expect(JSON.parse(await read()).vtxos).toHaveLength(2);
    await db
      .updateTable('vtxos')
      .set({ status: 'pending_spend' })
      .where('owner_pubkey', '=', alice)
      .execute();
    expect(JSON.parse(await read()).vtxos.map((v: { status: string }) => v.status)).toEqual([
      'pending_spend',
      'pending_spend',
    ]);
    // Another connection (another process on the same file, an operator's sqlite3 shell).
    const other = await test.reopen();
    others.push(other);
    await sql`update vtxos set amount = 99 where owner_pubkey = ${alice}`.execute(other.db);
    expect(JSON.parse(await read()).vtxos.map((v: { amount: string }) => v.amount)).toEqual(['99', '99']);
    // A VTXO given to someone else leaves alice's page.
    await sql`update vtxos set owner_pubkey = ${bob} where owner_pubkey = ${alice} and amount = 99`.execute(
      other.db,
    );
    expect(JSON.parse(await read()).vtxos).toEqual([]);
    await db
      .insertInto('vtxos')
      .values(vtxoRow({ owner_pubkey: alice }))
      .execute();
    await db.deleteFrom('vtxos').where('owner_pubkey', '=', alice).execute();
    expect(await read()).toBe(await fresh(reads, alice));
  });

  it('renders once while nothing changes; a change to another owner keeps the page', async () => {
    test = await createTestDatabase('sqlite');
    const { db } = test.database;
    const cache = new OwnerPageCache(test.database);
    const [alice, bob] = [hex32(), hex32()];
    await db
      .insertInto('vtxos')
      .values([vtxoRow({ owner_pubkey: alice }), vtxoRow({ owner_pubkey: bob })])
      .execute();
    let renders = 0;
    const render = async () => `page ${++renders}`;
    expect(await cache.page(alice, 'k', render)).toBe('page 1');
    expect(await cache.page(alice, 'k', render)).toBe('page 1');
    expect(await cache.page(alice, 'other query', render)).toBe('page 2');
    await db.updateTable('vtxos').set({ amount: 5n }).where('owner_pubkey', '=', bob).execute();
    expect(await cache.page(alice, 'k', render)).toBe('page 1');
    await db.updateTable('vtxos').set({ amount: 5n }).where('owner_pubkey', '=', alice).execute();
    expect(await cache.page(alice, 'k', render)).toBe('page 3');
  });

  it('keeps a page read before a concurrent write tagged with the old version', async () => {
    test = await createTestDatabase('sqlite');
    const { db } = test.database;
    const cache = new OwnerPageCache(test.database);
    const alice = hex32();
    await db
      .insertInto('vtxos')
      .values(vtxoRow({ owner_pubkey: alice }))
      .execute();
    // The write lands after the version was read but while the page renders.
    const first = await cache.page(alice, 'k', async () => {
      await db
        .insertInto('vtxos')
        .values(vtxoRow({ owner_pubkey: alice }))
        .execute();
      return 'rendered during a write';
    });
    expect(first).toBe('rendered during a write');
    expect(await cache.page(alice, 'k', async () => 'after')).toBe('after');
  });

  it('stays within its size, dropping the least recently used pages', async () => {
    test = await createTestDatabase('sqlite');
    const cache = new OwnerPageCache(test.database, { maxChars: 1000 });
    const owners = Array.from({ length: 5 }, hex32);
    for (const owner of owners) await cache.page(owner, 'k', async () => 'x'.repeat(300));
    expect(cache.size).toEqual({ entries: 3, chars: 900 });
    let renders = 0;
    await cache.page(owners[4]!, 'k', async () => `${++renders}`);
    await cache.page(owners[0]!, 'k', async () => `${++renders}`);
    expect(renders).toBe(1); // the newest was kept, the oldest was not
    expect(await cache.page(owners[1]!, 'k', async () => 'x'.repeat(2000))).toHaveLength(2000);
    expect(cache.size.chars).toBeLessThanOrEqual(1000);
  });
});

describe.skipIf(!mariadbAvailable)('the VTXO page cache on MariaDB', () => {
  it('is off: every read renders (no versions there, several instances)', async () => {
    test = await createTestDatabase('mariadb');
    const cache = new OwnerPageCache(test.database);
    let renders = 0;
    const owner = hex32();
    await cache.page(owner, 'k', async () => `${++renders}`);
    await cache.page(owner, 'k', async () => `${++renders}`);
    expect(renders).toBe(2);
    const reads = new LedgerReads(test.database);
    await test.database.db
      .insertInto('vtxos')
      .values(vtxoRow({ owner_pubkey: owner }))
      .execute();
    expect(await reads.userVtxosJson(owner, { limit: 100 })).toBe(await fresh(reads, owner));
  });
});
