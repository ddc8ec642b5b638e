// The gBTC reserve: BTC the gateway holds (Lightning channel balance + confirmed on-chain
// balance, read from lnd) against the gBTC in circulation (asset_movements: lifts minus lands
// and burns, which by the ledger invariant equals the unspent gBTC VTXOs). One gBTC unit is one
// sat, so the ratio needs no price. Each reading is a new asset_reserves row; the
// `gbtc_reserve_below_100` alert rule and GET /assets/{id}/reserve read the newest one.
//
// Conservative on purpose: unconfirmed on-chain funds, pending channels and the remote side of
// channels are not counted, and the ratio is rounded down, so `healthy` means total >= supply.
import type { LightningBackend } from '../backends/lnd/lightning-backend.ts';
import { defineTask, type TaskDefinition } from '../jobs/queue.ts';
import type { Database } from '../store/database.ts';
import { toBigInt } from '../store/values.ts';
import { GBTC_ID } from './assets.ts';
import { circulatingSupply } from './movements.ts';

export const RESERVE_CHECK_TASK = 'ledger.reserve-check';
/** 1 000 000 ppm = fully reserved. */
export const FULL_RESERVE_PPM = 1_000_000n;

export interface ReserveReading {
  readonly assetId: string;
  readonly lightningSat: bigint;
  readonly onchainSat: bigint;
  readonly totalSat: bigint;
  /** Units in circulation (gBTC: sats). */
  readonly supply: bigint;
  readonly ratioPpm: bigint;
  readonly healthy: boolean;
  readonly observedAt: number;
}

/**
 * total / supply in parts per million, rounded down (integer math). Nothing in circulation is
 * fully reserved by definition: 1 000 000.
 */
export function reserveRatioPpm(totalSat: bigint, supply: bigint): bigint {
  if (totalSat < 0n) throw new RangeError('reserve total must be >= 0');
  if (supply <= 0n) return FULL_RESERVE_PPM;
  return (totalSat * FULL_RESERVE_PPM) / supply;
}

export interface ReserveServiceOptions {
  readonly database: Database;
  readonly lightning: LightningBackend;
  readonly now?: () => number;
}

export class ReserveService {
  readonly #database: Database;
  readonly #lightning: LightningBackend;
  readonly #now: () => number;

  constructor(options: ReserveServiceOptions) {
    this.#database = options.database;
    this.#lightning = options.lightning;
    this.#now = options.now ?? Date.now;
  }

  /** Reads the balances and the supply, records one asset_reserves row and returns it. */
  async check(assetId: string = GBTC_ID): Promise<ReserveReading> {
    if (assetId !== GBTC_ID) throw new RangeError(`only ${GBTC_ID} is backed by the gateway's BTC`);
    const balances = await this.#lightning.getBalances();
    const supply = (await circulatingSupply(this.#database.db)).get(assetId) ?? 0n;
    const lightningSat = balances.channelLocalSats;
    const onchainSat = balances.onchainConfirmedSats;
    const totalSat = lightningSat + onchainSat;
    const ratioPpm = reserveRatioPpm(totalSat, supply);
    const reading: ReserveReading = {
      assetId,
      lightningSat,
      onchainSat,
      totalSat,
      supply,
      ratioPpm,
      healthy: ratioPpm >= FULL_RESERVE_PPM,
      observedAt: this.#now(),
    };
    await this.#database.db
      .insertInto('asset_reserves')
      .values({
        asset_id: assetId,
        lightning_sat: lightningSat,
        onchain_sat: onchainSat,
        total_sat: totalSat,
        supply,
        ratio_ppm: ratioPpm,
        healthy: reading.healthy ? 1 : 0,
        observed_at: reading.observedAt,
      })
      .execute();
    return reading;
  }

  /** The newest reading of an asset, or undefined when none was taken yet. */
  latest(assetId: string): Promise<ReserveReading | undefined> {
    return latestReading(this.#database, assetId);
  }
}

/** A reading as JSON (decimal strings: never a float, never past 2^53). */
export function reserveJson(reading: ReserveReading) {
  return {
    asset_id: reading.assetId,
    lightning_sat: reading.lightningSat.toString(),
    onchain_sat: reading.onchainSat.toString(),
    total_sat: reading.totalSat.toString(),
    supply: reading.supply.toString(),
    ratio_ppm: reading.ratioPpm.toString(),
    healthy: reading.healthy,
    observed_at: new Date(reading.observedAt).toISOString(),
  };
}

export type ReserveCheckData = Record<string, never>;

/** The repeating reserve check (scheduled every RESERVE_CHECK_INTERVAL_MS). */
export function reserveCheckTask(deps: {
  readonly reserves: ReserveService;
}): TaskDefinition<ReserveCheckData> {
  return defineTask<ReserveCheckData>({
    name: RESERVE_CHECK_TASK,
    queue: 'maintenance',
    // Only the present counts: the next scheduled check comes soon, no long retry chain.
    attempts: 2,
    timeoutMs: 30_000,
    handler: async () => reserveJson(await deps.reserves.check(GBTC_ID)),
  });
}

/** For a metrics source: the newest ratio of every asset with a reading. */
export async function latestRatios(
  database: Database,
): Promise<{ asset: string; ratioPpm: number; healthy: boolean }[]> {
  const assets = await database.db.selectFrom('asset_reserves').select('asset_id').distinct().execute();
  const out: { asset: string; ratioPpm: number; healthy: boolean }[] = [];
  for (const { asset_id } of assets) {
    const reading = await latestReading(database, asset_id);
    if (reading) out.push({ asset: asset_id, ratioPpm: Number(reading.ratioPpm), healthy: reading.healthy });
  }
  return out;
}

/** The newest reading of an asset, or undefined when none was taken yet. */
export async function latestReading(
  database: Database,
  assetId: string,
): Promise<ReserveReading | undefined> {
  const row = await database.db
    .selectFrom('asset_reserves')
    .selectAll()
    .where('asset_id', '=', assetId)
    .orderBy('observed_at', 'desc')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    assetId: row.asset_id,
    lightningSat: toBigInt(row.lightning_sat),
    onchainSat: toBigInt(row.onchain_sat),
    totalSat: toBigInt(row.total_sat),
    supply: toBigInt(row.supply),
    ratioPpm: toBigInt(row.ratio_ppm),
    healthy: Number(row.healthy) === 1,
    observedAt: Number(row.observed_at),
  };
}
