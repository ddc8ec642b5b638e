// A user's VTXOs are listed by id, one page at a time (GET /vtxos/user, sync_state). With only
// the selection index (owner, asset, status, …) every page sorted all the owner's rows first;
// (owner, vtxo_id) gives the pages in order, so a page reads its own rows and stops.
import type { Kysely } from 'kysely';
import { createIndex, type DialectKind } from './ddl.ts';

export async function up(db: Kysely<unknown>, _kind: DialectKind): Promise<void> {
  await createIndex(db, 'vtxos_owner_listing_idx', 'vtxos', ['owner_pubkey', 'vtxo_id']);
}
