// Asset movements: every change to an asset's circulating supply, booked once, in the same
// transaction as the VTXO change it accounts for. The ledger invariant rests on them:
//
//   per asset: sum(amount of VTXOs `assigned` or `pending_spend`)
//              = sum(mint, lift, refund) - sum(land, burn)
//
// Inventory VTXOs (`available`) carry sats for the gateway, not asset units (amount 0), so they
// never count. A user VTXO that expires leaves circulation: it is booked as a `burn` with the
// reference `expiry:<vtxo_id>`. A `fee` row is informational — fees are VTXOs the gateway owns,
// already inside the unspent sum.
import type { Kysely, Transaction } from 'kysely';
import type { AssetMovementKind, Schema } from '../store/schema.ts';
import { isUniqueViolation } from '../store/db-errors.ts';
import { toBigInt } from '../store/values.ts';

export interface NewMovement {
  readonly assetId: string;
  readonly kind: AssetMovementKind;
  /** > 0; the kind gives the direction. */
  readonly amount: bigint;
  /** What caused it (payment hash, Ark txid, session id, `expiry:<vtxo_id>`); unique per kind and asset. */
  readonly reference: string;
  readonly userPubkey?: string | null;
  readonly vtxoId?: string | null;
  readonly arkTxid?: string | null;
}

export const ADDS: readonly AssetMovementKind[] = ['mint', 'lift', 'refund'];
export const REMOVES: readonly AssetMovementKind[] = ['land', 'burn'];

/**
 * Books `movement` inside `trx`; true when booked now, false when the same (kind, reference,
 * asset) was booked before — a retried trigger must not move the supply twice. On MariaDB a
 * duplicate key does not abort the transaction; on SQLite the statement alone fails.
 */
export async function bookMovement(
  trx: Transaction<Schema>,
  movement: NewMovement,
  now: number,
): Promise<boolean> {
  if (typeof movement.amount !== 'bigint' || movement.amount <= 0n) {
    throw new RangeError(`movement amount must be a positive bigint, got ${String(movement.amount)}`);
  }
  if (!movement.reference || movement.reference.length > 128)
    throw new RangeError('movement reference must be 1-128 chars');
  try {
    await trx
      .insertInto('asset_movements')
      .values({
        asset_id: movement.assetId,
        kind: movement.kind,
        amount: movement.amount,
        reference: movement.reference,
        user_pubkey: movement.userPubkey ?? null,
        vtxo_id: movement.vtxoId ?? null,
        ark_txid: movement.arkTxid ?? null,
        created_at: now,
      })
      .execute();
    return true;
  } catch (error) {
    if (isUniqueViolation(error)) return false;
    throw error;
  }
}

/** Per asset, what the movements say should be in circulation: adds minus removes. */
export async function circulatingSupply(
  db: Transaction<Schema> | Kysely<Schema>,
): Promise<Map<string, bigint>> {
  const rows = await db
    .selectFrom('asset_movements')
    .select(['asset_id', 'kind', (eb) => eb.fn.sum<string | number | bigint>('amount').as('total')])
    .groupBy(['asset_id', 'kind'])
    .execute();
  const supply = new Map<string, bigint>();
  for (const row of rows) {
    const sign = ADDS.includes(row.kind) ? 1n : REMOVES.includes(row.kind) ? -1n : 0n;
    supply.set(row.asset_id, (supply.get(row.asset_id) ?? 0n) + sign * toBigInt(row.total));
  }
  return supply;
}
