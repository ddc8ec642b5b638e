// A ledger on a real test database (SQLite or MariaDB) and the simulated Ark server, for the
// inventory, monitor, cleanup and L1 commitment suites.
import { ArkSimulator } from '../../src/backends/ark/simulator.ts';
import type {
  ArkBackend,
  InventoryBatch,
  InventoryBatchRequest,
} from '../../src/backends/ark/ark-backend.ts';
import { Secret } from '../../src/config.ts';
import { loadInventoryKey, type InventoryKey } from '../../src/ledger/inventory-key.ts';
import { MemoryInventoryUpdates, type InventoryUpdate } from '../../src/ledger/inventory-updates.ts';
import { InventoryService } from '../../src/ledger/inventory.ts';
import { VtxoStore } from '../../src/ledger/vtxo-store.ts';
import type { Database } from '../../src/store/database.ts';
import { testWorld, type TestWorld } from '../backends/sim/support.ts';
import { NOW } from '../store/fixtures.ts';
import {
  createTestDatabase,
  silentLogger,
  type TestDatabase,
  type TestDatabaseKind,
} from '../support/test-database.ts';

export const AT_REST = new Secret('at-rest-key-for-tests-'.padEnd(40, 'x'));

export class Clock {
  ms = NOW;
  now = (): number => this.ms;
}

/** The simulator, with a count of batch calls and an optional delay (to make races overlap). */
export class CountingArk {
  readonly ark: ArkSimulator;
  batchCalls = 0;
  delayMs = 0;
  constructor(ark: ArkSimulator) {
    this.ark = ark;
  }
  backend(): ArkBackend {
    // Everything as the simulator does it, except createInventoryBatch, counted and delayed.
    return new Proxy(this.ark, {
      get: (target, prop, receiver) => {
        if (prop === 'createInventoryBatch') {
          return async (request: InventoryBatchRequest): Promise<InventoryBatch> => {
            this.batchCalls++;
            if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
            return target.createInventoryBatch(request);
          };
        }
        const value = Reflect.get(target, prop, receiver) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }
}

export interface Harness {
  readonly test: TestDatabase;
  readonly database: Database;
  readonly world: TestWorld;
  readonly counting: CountingArk;
  readonly ark: ArkBackend;
  readonly key: InventoryKey;
  readonly vtxos: VtxoStore;
  readonly updates: MemoryInventoryUpdates;
  readonly published: InventoryUpdate[];
  readonly inventory: InventoryService;
  readonly clock: Clock;
  /** Another InventoryService on its own connection (MariaDB) or the same handle (SQLite). */
  another(): Promise<InventoryService>;
  dispose(): Promise<void>;
}

export async function harness(
  kind: TestDatabaseKind,
  assets: readonly string[] = ['gBTC'],
): Promise<Harness> {
  const test = await createTestDatabase(kind, undefined, { poolSize: 10, maxOverflow: 10 });
  const database = test.database;
  const world = testWorld();
  const counting = new CountingArk(new ArkSimulator(world.world));
  const ark = counting.backend();
  const clock = new Clock();
  for (const asset of assets) await insertAsset(database, asset);
  const key = await loadInventoryKey({
    database,
    atRestKey: AT_REST,
    configured: undefined,
    logger: silentLogger,
  });
  const vtxos = new VtxoStore(database, { now: clock.now });
  const updates = new MemoryInventoryUpdates();
  const published: InventoryUpdate[] = [];
  await updates.subscribe((u) => published.push(u));
  const service = (db: Database, store: VtxoStore) =>
    new InventoryService({
      database: db,
      vtxos: store,
      ark,
      key,
      updates,
      logger: silentLogger,
      now: clock.now,
    });
  return {
    test,
    database,
    world,
    counting,
    ark,
    key,
    vtxos,
    updates,
    published,
    inventory: service(database, vtxos),
    clock,
    async another() {
      // SQLite's busy wait is synchronous: one handle per process, as the VTXO store tests do.
      const db = kind === 'mariadb' ? await test.reopen() : database;
      return service(db, new VtxoStore(db, { now: clock.now }));
    },
    async dispose() {
      await test.drop();
      world.dispose();
    },
  };
}

export async function insertAsset(database: Database, assetId: string, enabled: 0 | 1 = 1): Promise<void> {
  await database.db
    .insertInto('assets')
    .values({
      asset_id: assetId,
      name: assetId,
      ticker: assetId.toUpperCase().slice(0, 10),
      decimals: 0,
      asset_type: 'relay_issued',
      enabled,
      total_supply: 0n,
      tapd_asset_id: null,
      min_amount: 1n,
      max_amount: null,
      created_at: NOW,
      updated_at: NOW,
    })
    .execute();
}
