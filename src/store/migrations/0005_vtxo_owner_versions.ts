// SQLite only: a version per VTXO owner, bumped by triggers on every insert, update and delete
// of that owner's VTXOs — whoever writes (this process, another process on the same file, an
// operator's SQL). The read cache (src/ledger/owner-page-cache.ts) keeps a user's rendered
// VTXO pages tagged with the version they were read at, and serves one again only while the
// version is unchanged: one primary-key read instead of re-reading and re-rendering the page.
//
// Not on MariaDB: there, every ceremony touches the gateway's inventory owner, and a version
// row per owner would make all of them queue on that one row lock until they commit. The
// cache stays off on MariaDB (several instances, no shared memory) and the table is not made.
import { sql, type Kysely } from 'kysely';
import type { DialectKind } from './ddl.ts';

/** Bumps an owner's version: the statement every trigger runs for each owner it touches. */
const bump = (owner: string) => `
    insert into vtxo_owner_versions (owner_pubkey, version) values (${owner}, 1)
      on conflict (owner_pubkey) do update set version = version + 1;`;

export async function up(db: Kysely<unknown>, kind: DialectKind): Promise<void> {
  if (kind !== 'sqlite') return;
  await sql`create table if not exists vtxo_owner_versions (
    owner_pubkey text not null primary key,
    version integer not null
  ) without rowid`.execute(db);
  // Existing owners start at 1, as if each had just been written.
  await sql`insert or ignore into vtxo_owner_versions (owner_pubkey, version)
    select distinct owner_pubkey, 1 from vtxos`.execute(db);
  await sql
    .raw(
      `create trigger if not exists vtxos_owner_version_insert after insert on vtxos begin${bump('new.owner_pubkey')}
  end`,
    )
    .execute(db);
  await sql
    .raw(
      `create trigger if not exists vtxos_owner_version_update after update on vtxos begin${bump('new.owner_pubkey')}
    insert into vtxo_owner_versions (owner_pubkey, version) select old.owner_pubkey, 1
      where old.owner_pubkey <> new.owner_pubkey
      on conflict (owner_pubkey) do update set version = version + 1;
  end`,
    )
    .execute(db);
  await sql
    .raw(
      `create trigger if not exists vtxos_owner_version_delete after delete on vtxos begin${bump('old.owner_pubkey')}
  end`,
    )
    .execute(db);
}
