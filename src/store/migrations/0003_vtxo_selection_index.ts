// Coin selection reads one owner's spendable VTXOs of one asset, ordered by amount. This
// index serves it from the index alone (owner, asset, status, then amount order, with id and
// expiry covered): the one-input lookup is a seek instead of a scan of the owner's VTXOs, and
// the full candidate read needs no table lookups. It supersedes the shorter owner index.
import { sql, type Kysely } from 'kysely';
import { createIndex, type DialectKind } from './ddl.ts';

export async function up(db: Kysely<unknown>, kind: DialectKind): Promise<void> {
  await createIndex(db, 'vtxos_selection_idx', 'vtxos', [
    'owner_pubkey',
    'asset_id',
    'status',
    'amount',
    'vtxo_id',
    'expires_at',
  ]);
  const drop =
    kind === 'mariadb'
      ? sql`drop index if exists vtxos_owner_asset_status_idx on vtxos`
      : sql`drop index if exists vtxos_owner_asset_status_idx`;
  await drop.execute(db);
}
