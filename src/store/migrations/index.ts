// Every migration, listed by hand so the bundle never depends on scanning a folder. Names
// sort in the order they run; add new ones at the end (0002_…), never edit an applied one.
import type { Migration, MigrationProvider } from 'kysely/migration';
import type { DialectKind } from './ddl.ts';
import * as initial from './0001_initial.ts';
import * as processedEventJson from './0002_processed_event_json.ts';
import * as vtxoSelectionIndex from './0003_vtxo_selection_index.ts';
import * as vtxoOwnerListingIndex from './0004_vtxo_owner_listing_index.ts';
import * as vtxoOwnerVersions from './0005_vtxo_owner_versions.ts';
import * as oneStepSigning from './0006_one_step_signing.ts';

export function migrationsFor(kind: DialectKind): Record<string, Migration> {
  return {
    '0001_initial': { up: (db) => initial.up(db, kind) },
    '0002_processed_event_json': { up: (db) => processedEventJson.up(db, kind) },
    '0003_vtxo_selection_index': { up: (db) => vtxoSelectionIndex.up(db, kind) },
    '0004_vtxo_owner_listing_index': { up: (db) => vtxoOwnerListingIndex.up(db, kind) },
    '0005_vtxo_owner_versions': { up: (db) => vtxoOwnerVersions.up(db, kind) },
    '0006_one_step_signing': { up: (db) => oneStepSigning.up(db, kind) },
  };
}

export function migrationProvider(kind: DialectKind): MigrationProvider {
  return { getMigrations: async () => migrationsFor(kind) };
}
