// The asset registry: which assets the gateway carries (gBTC and Taproot Assets), their limits
// and whether they are enabled. The `assets` table is written only here.
//
// gBTC is created on first start and minted through tapd. Two instances may start at once and
// a process may die between tapd's mint and our database write, so `ensureGbtc` is a small
// protocol that never mints twice:
//   1. claim: insert the gBTC row (tapd_asset_id NULL, disabled) — a duplicate key means it exists;
//   2. if the row already names a tapd asset, done;
//   3. take the mint lease (settings row `ledger.gbtc_mint`: insert, or compare-and-swap over an
//      expired lease) — whoever does not get it waits for the holder and reads the row again;
//   4. holding the lease, look for an asset named `gBTC` in tapd first (a mint whose database
//      write was lost to a crash) and mint only when there is none;
//   5. store tapd's asset id and supply and enable the asset with one conditional update
//      (`WHERE tapd_asset_id IS NULL`), then drop the lease.
// The lease (10 minutes) only has to outlive one mint call; a holder that died frees it by expiry.
import { randomUUID } from 'node:crypto';
import type { Selectable } from 'kysely';
import type { AssetsBackend, TaprootAsset } from '../backends/tapd/assets-backend.ts';
import type { Logger } from '../logging.ts';
import type { Database } from '../store/database.ts';
import { SettingsLease } from './settings.ts';
import { isUniqueViolation } from '../store/db-errors.ts';
import type { AssetsTable, AssetType } from '../store/schema.ts';
import { flag, toBigInt, toBigIntOrNull } from '../store/values.ts';

export const GBTC_ID = 'gBTC';
/** The name gBTC carries in tapd: how a restarted gateway recognises a mint it already made. */
export const GBTC_TAPD_NAME = 'gBTC';
export const GBTC_MINT_LEASE = 'ledger.gbtc_mint';
const LEASE_MS = 10 * 60_000;

export interface AssetRecord {
  readonly assetId: string;
  readonly name: string;
  readonly ticker: string;
  readonly decimals: number;
  readonly assetType: AssetType;
  readonly enabled: boolean;
  /** The issuer's figure as last read from tapd (not circulation: that is asset_movements). */
  readonly totalSupply: bigint;
  readonly tapdAssetId: string | null;
  readonly minAmount: bigint;
  /** null: no maximum. */
  readonly maxAmount: bigint | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface NewAsset {
  readonly assetId: string;
  readonly name: string;
  readonly ticker: string;
  readonly decimals: number;
  readonly assetType: AssetType;
  readonly enabled?: boolean;
  readonly tapdAssetId?: string | null;
  readonly totalSupply?: bigint;
  readonly minAmount?: bigint;
  readonly maxAmount?: bigint | null;
}

export const GBTC: NewAsset = {
  assetId: GBTC_ID,
  name: 'Gateway BTC',
  ticker: 'gBTC',
  // One unit is one sat: 8 decimals make 1 gBTC = 1 BTC.
  decimals: 8,
  assetType: 'relay_issued',
  minAmount: 1n,
  maxAmount: null,
};

/** A duplicate asset id, ticker or tapd asset id. */
export class AssetExistsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AssetExistsError';
  }
}

export class AssetValidationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AssetValidationError';
  }
}

export interface AssetServiceOptions {
  readonly database: Database;
  readonly assets: AssetsBackend;
  readonly logger: Logger;
  /** gBTC units minted on first start (GBTC_ISSUANCE). */
  readonly gbtcIssuance: bigint;
  readonly now?: () => number;
  /** How often a process without the mint lease looks again (default 500 ms). */
  readonly pollMs?: number;
  /** How long it waits for the holder before giving up (default: the lease, 10 minutes). */
  readonly waitMs?: number;
}

export function toAssetRecord(row: Selectable<AssetsTable>): AssetRecord {
  return {
    assetId: row.asset_id,
    name: row.name,
    ticker: row.ticker,
    decimals: Number(row.decimals),
    assetType: row.asset_type,
    enabled: Number(row.enabled) === 1,
    totalSupply: toBigInt(row.total_supply),
    tapdAssetId: row.tapd_asset_id,
    minAmount: toBigInt(row.min_amount),
    maxAmount: toBigIntOrNull(row.max_amount),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

const ASSET_ID = /^[A-Za-z0-9_.-]{1,64}$/;
const TAPD_ID = /^[0-9a-f]{64}$/;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function validate(asset: NewAsset): void {
  const fail = (message: string): never => {
    throw new AssetValidationError(message);
  };
  if (!ASSET_ID.test(asset.assetId)) fail('asset_id must be 1-64 of A-Z a-z 0-9 _ . -');
  if (!/^[\x20-\x7e]{1,128}$/.test(asset.name)) fail('name must be 1-128 printable characters');
  if (!/^[A-Za-z0-9_.-]{1,32}$/.test(asset.ticker)) fail('ticker must be 1-32 of A-Z a-z 0-9 _ . -');
  if (!Number.isInteger(asset.decimals) || asset.decimals < 0 || asset.decimals > 18)
    fail('decimals must be 0-18');
  if (asset.assetType !== 'relay_issued' && asset.assetType !== 'permissionless')
    fail('asset_type must be relay_issued or permissionless');
  if (asset.tapdAssetId != null && !TAPD_ID.test(asset.tapdAssetId))
    fail('tapd_asset_id must be 64 lowercase hex');
  const min = asset.minAmount ?? 1n;
  if (min < 0n) fail('min_amount must be >= 0');
  if (asset.maxAmount != null && asset.maxAmount < min) fail('max_amount must be >= min_amount');
  if ((asset.totalSupply ?? 0n) < 0n) fail('total_supply must be >= 0');
}

/** Every asset (or only enabled ones), by id: the registry as everything else reads it. */
export async function listAssets(
  database: Database,
  options: { readonly enabledOnly?: boolean; readonly ids?: readonly string[] } = {},
): Promise<AssetRecord[]> {
  if (options.ids?.length === 0) return [];
  let query = database.db.selectFrom('assets').selectAll().orderBy('asset_id');
  if (options.enabledOnly) query = query.where('enabled', '=', 1);
  if (options.ids) query = query.where('asset_id', 'in', options.ids);
  return (await query.execute()).map(toAssetRecord);
}

export class AssetService {
  readonly #database: Database;
  readonly #backend: AssetsBackend;
  readonly #logger: Logger;
  readonly #issuance: bigint;
  readonly #now: () => number;
  readonly #pollMs: number;
  readonly #waitMs: number;

  constructor(options: AssetServiceOptions) {
    if (options.gbtcIssuance <= 0n) throw new RangeError('gbtcIssuance must be > 0');
    this.#database = options.database;
    this.#backend = options.assets;
    this.#logger = options.logger;
    this.#issuance = options.gbtcIssuance;
    this.#now = options.now ?? Date.now;
    this.#pollMs = options.pollMs ?? 500;
    this.#waitMs = options.waitMs ?? LEASE_MS;
  }

  /** Every asset (or only enabled ones), by id. */
  list(options: { readonly enabledOnly?: boolean } = {}): Promise<AssetRecord[]> {
    return listAssets(this.#database, options);
  }

  async get(assetId: string): Promise<AssetRecord | undefined> {
    const row = await this.#database.db
      .selectFrom('assets')
      .selectAll()
      .where('asset_id', '=', assetId)
      .executeTakeFirst();
    return row && toAssetRecord(row);
  }

  /**
   * Registers an asset; AssetExistsError when its id, ticker or tapd id is taken. A Taproot Asset
   * registered without a supply takes the issuer's from tapd: lifts never put more in circulation.
   */
  async create(asset: NewAsset): Promise<AssetRecord> {
    validate(asset);
    const totalSupply =
      asset.totalSupply ?? (asset.tapdAssetId ? await this.#tapdSupply(asset.tapdAssetId) : 0n);
    const now = this.#now();
    try {
      await this.#database.db
        .insertInto('assets')
        .values({
          asset_id: asset.assetId,
          name: asset.name,
          ticker: asset.ticker,
          decimals: asset.decimals,
          asset_type: asset.assetType,
          enabled: flag(asset.enabled ?? true),
          total_supply: totalSupply,
          tapd_asset_id: asset.tapdAssetId ?? null,
          min_amount: asset.minAmount ?? 1n,
          max_amount: asset.maxAmount ?? null,
          created_at: now,
          updated_at: now,
        })
        .execute();
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new AssetExistsError(`an asset with id ${asset.assetId}, this ticker or this tapd id exists`);
      }
      throw error;
    }
    return (await this.get(asset.assetId))!;
  }

  /** Enables or disables an asset; undefined for an unknown one. Idempotent. */
  async setEnabled(assetId: string, enabled: boolean): Promise<AssetRecord | undefined> {
    await this.#database.db
      .updateTable('assets')
      .set({ enabled: flag(enabled), updated_at: this.#now() })
      .where('asset_id', '=', assetId)
      .execute();
    return this.get(assetId);
  }

  /**
   * Makes sure gBTC exists and is minted in tapd exactly once (see the protocol at the top).
   * Safe to call from every process at every start; rejects with the BackendError when tapd
   * cannot be reached (call it again later: nothing is half-done in a way that mints twice).
   */
  async ensureGbtc(): Promise<AssetRecord> {
    await this.#claimGbtcRow();
    const deadline = this.#now() + this.#waitMs;
    for (;;) {
      const row = (await this.get(GBTC_ID))!;
      if (row.tapdAssetId) return row;
      const lease = new SettingsLease(this.#database, GBTC_MINT_LEASE, {
        ttlMs: LEASE_MS,
        holder: randomUUID(),
        now: this.#now,
      });
      const token = await lease.acquire();
      if (token) {
        try {
          return await this.#mintOrAdopt();
        } finally {
          await lease.drop(token);
        }
      }
      if (this.#now() > deadline) throw new Error('gBTC is being minted by another process; gave up waiting');
      await pause(this.#pollMs);
    }
  }

  /** What tapd says the issuer minted of `tapdAssetId`; 0 when tapd does not know it. */
  async #tapdSupply(tapdAssetId: string): Promise<bigint> {
    const found = (await this.#backend.listAssets()).find((a) => a.assetId === tapdAssetId);
    return found?.mintedSupply ?? 0n;
  }

  /** Re-reads an asset's issuer supply from tapd into `total_supply`. */
  async refreshIssuerSupply(assetId: string): Promise<AssetRecord | undefined> {
    const asset = await this.get(assetId);
    if (!asset?.tapdAssetId) return asset;
    const found = (await this.#backend.listAssets()).find((a) => a.assetId === asset.tapdAssetId);
    if (!found) return asset;
    await this.#database.db
      .updateTable('assets')
      .set({ total_supply: found.mintedSupply, updated_at: this.#now() })
      .where('asset_id', '=', assetId)
      .execute();
    return this.get(assetId);
  }

  async #claimGbtcRow(): Promise<void> {
    const existing = await this.get(GBTC_ID);
    if (existing) return;
    try {
      // Disabled until tapd has minted it: nothing is lifted into an asset that does not exist yet.
      await this.create({ ...GBTC, enabled: false });
      this.#logger.info({ asset: GBTC_ID }, 'gBTC registered; minting through tapd');
    } catch (error) {
      if (!(error instanceof AssetExistsError)) throw error;
    }
  }

  async #mintOrAdopt(): Promise<AssetRecord> {
    // Another process may have finished between our read and taking the lease.
    const again = (await this.get(GBTC_ID))!;
    if (again.tapdAssetId) return again;
    const named = (await this.#backend.listAssets()).filter((a) => a.name === GBTC_TAPD_NAME);
    let tapd: TaprootAsset | { assetId: string; mintedSupply: bigint };
    if (named.length > 0) {
      // A mint whose database write was lost (crash): adopt it instead of minting again.
      tapd = named[0]!;
      if (named.length > 1) {
        this.#logger.error(
          { assets: named.map((a) => a.assetId) },
          'tapd holds several assets named gBTC; adopting the first — check the issuer',
        );
      } else {
        this.#logger.warn({ tapdAssetId: tapd.assetId }, 'found an earlier gBTC mint in tapd; adopting it');
      }
    } else {
      const minted = await this.#backend.mintAsset({
        name: GBTC_TAPD_NAME,
        amount: this.#issuance,
        decimalDisplay: GBTC.decimals,
        grouped: true,
      });
      tapd = { assetId: minted.assetId, mintedSupply: this.#issuance };
      this.#logger.info({ tapdAssetId: minted.assetId, amount: this.#issuance.toString() }, 'gBTC minted');
    }
    await this.#database.db
      .updateTable('assets')
      .set({
        tapd_asset_id: tapd.assetId,
        total_supply: tapd.mintedSupply,
        enabled: 1,
        updated_at: this.#now(),
      })
      .where('asset_id', '=', GBTC_ID)
      .where('tapd_asset_id', 'is', null)
      .execute();
    return (await this.get(GBTC_ID))!;
  }
}
