// The ledger invariant, checkable at any time (GET /admin/ledger/check, and every ledger test
// after each scenario):
//
//   per asset: sum(amount of VTXOs `assigned` or `pending_spend`)
//              = sum(mint, lift, refund) - sum(land, burn)          (asset_movements)
//
// plus row-level integrity that is cheap to verify with one indexed query each: no negative
// amounts, no user VTXO of zero units, no inventory VTXO carrying units, every lock
// held by a session with an expiry, no lock left on a VTXO that is not locked, a spending txid
// exactly on spent VTXOs, ids that match txid:vout, no VTXO of an unregistered asset.
// It reads; it never repairs. The reads run in one transaction so the two sides of the
// equation are one snapshot (MariaDB REPEATABLE READ; SQLite holds its write lock meanwhile).
import { sql, type Expression, type ExpressionBuilder, type SqlBool, type Transaction } from 'kysely';
import type { Database } from '../store/database.ts';
import type { Schema } from '../store/schema.ts';
import { toBigInt } from '../store/values.ts';
import { circulatingSupply } from './movements.ts';

export interface AssetCheck {
  readonly assetId: string;
  /** Sum of the asset's `assigned` and `pending_spend` VTXOs. */
  readonly unspent: bigint;
  /** What asset_movements say is in circulation. */
  readonly expected: bigint;
  readonly ok: boolean;
  /** unspent - expected: positive = value created from nothing, negative = value lost. */
  readonly difference: bigint;
}

export interface IntegrityProblem {
  /** Stable name of the check (see INTEGRITY_CHECKS). */
  readonly check: string;
  readonly description: string;
  readonly count: number;
  /** Up to 10 offending ids (VTXO ids, or movement ids). */
  readonly sample: readonly string[];
}

export interface LedgerCheck {
  readonly ok: boolean;
  readonly checkedAt: number;
  readonly assets: readonly AssetCheck[];
  readonly problems: readonly IntegrityProblem[];
}

type Trx = Transaction<Schema>;

interface VtxoRule {
  readonly check: string;
  readonly description: string;
  readonly where: (eb: ExpressionBuilder<Schema, 'vtxos'>) => Expression<SqlBool>;
}

const UNSPENT = ['assigned', 'pending_spend'] as const;

/** Each rule selects the VTXO rows that break it; an empty result means it holds. */
export const INTEGRITY_CHECKS: readonly VtxoRule[] = [
  {
    check: 'negative_amount',
    description: 'a VTXO with a negative amount or sats',
    where: (eb) => eb.or([eb('amount', '<', 0), eb('sats', '<', 0)]),
  },
  {
    // Only inventory holds no units — available, or locked by a session that tops its sats up
    // (a lock of 0 units is inventory: releasing it makes it available again). A user's VTXO
    // always holds some.
    check: 'empty_unspent_vtxo',
    description: "a user's (assigned) VTXO holding no asset units",
    where: (eb) => eb.and([eb('status', '=', 'assigned'), eb('amount', '<=', 0)]),
  },
  {
    check: 'inventory_with_units',
    description: 'an inventory (available) VTXO carrying asset units, or no sats',
    where: (eb) =>
      eb.and([eb('status', '=', 'available'), eb.or([eb('amount', '!=', 0), eb('sats', '<=', 0)])]),
  },
  {
    check: 'lock_without_holder',
    description: 'a pending_spend VTXO without a locking session or lock expiry',
    where: (eb) =>
      eb.and([
        eb('status', '=', 'pending_spend'),
        eb.or([eb('locked_by_session', 'is', null), eb('lock_expires_at', 'is', null)]),
      ]),
  },
  {
    check: 'stale_lock',
    description: 'a VTXO that is not pending_spend but still names a lock expiry',
    where: (eb) => eb.and([eb('status', '!=', 'pending_spend'), eb('lock_expires_at', 'is not', null)]),
  },
  {
    check: 'spent_without_txid',
    description: 'a spent VTXO without the Ark txid that spent it',
    where: (eb) => eb.and([eb('status', '=', 'spent'), eb('spent_by_txid', 'is', null)]),
  },
  {
    check: 'unspent_with_spending_txid',
    description: 'a VTXO both unspent (available/assigned/pending_spend) and carrying a spending txid',
    where: (eb) =>
      eb.and([
        eb('status', 'in', ['available', 'assigned', 'pending_spend']),
        eb('spent_by_txid', 'is not', null),
      ]),
  },
  {
    check: 'id_mismatch',
    description: 'a VTXO whose id is not its txid:vout',
    // concat() exists on MariaDB and on SQLite >= 3.44 (node:sqlite bundles a newer one).
    where: (eb) => eb('vtxo_id', '!=', sql<string>`concat(txid, ':', vout)`),
  },
  {
    check: 'unknown_asset',
    description: 'a VTXO of an asset that is not in the registry',
    where: (eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom('assets')
            .select('assets.asset_id')
            .whereRef('assets.asset_id', '=', 'vtxos.asset_id'),
        ),
      ),
  },
];

async function problemsOf(trx: Trx): Promise<IntegrityProblem[]> {
  const problems: IntegrityProblem[] = [];
  for (const rule of INTEGRITY_CHECKS) {
    // One connection per transaction: the queries run one after the other.
    const count = await trx
      .selectFrom('vtxos')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where(rule.where)
      .executeTakeFirst();
    const sample = await trx
      .selectFrom('vtxos')
      .select('vtxo_id')
      .where(rule.where)
      .orderBy('vtxo_id')
      .limit(10)
      .execute();
    const n = Number(count?.n ?? 0);
    if (n > 0) {
      problems.push({
        check: rule.check,
        description: rule.description,
        count: n,
        sample: sample.map((r) => r.vtxo_id),
      });
    }
  }
  const badMovements = await trx
    .selectFrom('asset_movements')
    .select('id')
    .where('amount', '<=', 0)
    .orderBy('id')
    .limit(10)
    .execute();
  if (badMovements.length > 0) {
    problems.push({
      check: 'non_positive_movement',
      description: 'an asset movement whose amount is not positive',
      count: badMovements.length,
      sample: badMovements.map((r) => String(r.id)),
    });
  }
  return problems;
}

/** Checks the invariant for every asset (registered, holding VTXOs or with movements). */
export async function checkLedger(database: Database, now: number = Date.now()): Promise<LedgerCheck> {
  return database.db.transaction().execute(async (trx) => {
    const rows = await trx
      .selectFrom('vtxos')
      .select(['asset_id', (eb) => eb.fn.sum<string | number | bigint>('amount').as('total')])
      .where('status', 'in', UNSPENT)
      .groupBy('asset_id')
      .execute();
    const expected = await circulatingSupply(trx);
    const registered = await trx.selectFrom('assets').select('asset_id').execute();
    const unspent = new Map(rows.map((r) => [r.asset_id, toBigInt(r.total)]));
    const ids = [
      ...new Set([...registered.map((r) => r.asset_id), ...unspent.keys(), ...expected.keys()]),
    ].sort();
    const assets = ids.map((assetId): AssetCheck => {
      const u = unspent.get(assetId) ?? 0n;
      const e = expected.get(assetId) ?? 0n;
      return { assetId, unspent: u, expected: e, ok: u === e, difference: u - e };
    });
    const problems = await problemsOf(trx);
    return { ok: assets.every((a) => a.ok) && problems.length === 0, checkedAt: now, assets, problems };
  });
}

/** The report as JSON (amounts as decimal strings). */
export function ledgerCheckJson(report: LedgerCheck) {
  return {
    ok: report.ok,
    checked_at: new Date(report.checkedAt).toISOString(),
    assets: report.assets.map((a) => ({
      asset_id: a.assetId,
      ok: a.ok,
      unspent: a.unspent.toString(),
      expected: a.expected.toString(),
      difference: a.difference.toString(),
    })),
    problems: report.problems.map((p) => ({ ...p, sample: [...p.sample] })),
  };
}
