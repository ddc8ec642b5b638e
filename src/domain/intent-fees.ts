// Intent fees (docs/protocol.md, "Fees"): every intent pays a flat amount of one asset (10 gBTC by
// default); a Lightning land pays instead a share of the landed amount (1000 ppm = 0.1 %), rounded
// up, at least 1, in the landed asset. The declared fee must be exactly the required one (4001).
// Pure: no I/O, bigint throughout.
import { ProtocolError } from './error-codes.ts';
import type { AssetAmount, Intent } from './intents.ts';

export interface FeeSchedule {
  /** Asset of the flat fee (FEE_ASSET). */
  readonly intentAsset: string;
  /** Flat fee of every intent but a land (FEE_INTENT_AMOUNT). */
  readonly intentAmount: bigint;
  /** A land's fee in parts per million of the landed amount (FEE_LAND_PPM). */
  readonly landPpm: bigint;
}

const MILLION = 1_000_000n;

export function requiredFee(intent: Pick<Intent, 'type' | 'params'>, schedule: FeeSchedule): AssetAmount {
  const p = intent.params;
  if (p.type === 'lightning:land') {
    const share = (p.amount * schedule.landPpm + MILLION - 1n) / MILLION; // ceil, amounts are > 0
    return { assetId: p.assetId, amount: share < 1n ? 1n : share };
  }
  return { assetId: schedule.intentAsset, amount: schedule.intentAmount };
}

/** Throws 4001 unless the intent declares exactly the required fee. */
export function checkFee(intent: Intent, schedule: FeeSchedule): void {
  const expected = requiredFee(intent, schedule);
  if (intent.fee.assetId !== expected.assetId || intent.fee.amount !== expected.amount) {
    const wire = (a: AssetAmount) => ({ asset_id: a.assetId, amount: a.amount.toString() });
    throw new ProtocolError(
      'FEE_INCORRECT',
      `the fee must be ${expected.amount} ${expected.assetId}`,
      // Amounts as decimal strings, as everywhere on the wire (bigint does not serialise).
      { expected: wire(expected), given: intent.fee.assetId === '' ? null : wire(intent.fee) },
    );
  }
}

/**
 * What an intent costs its author, per asset: what it sends plus the required fee, merged when
 * in the same asset, in order of first appearance. A split moves nothing out of the author's
 * hands, so it costs the fee only.
 */
export function debitsOf(intent: Pick<Intent, 'type' | 'params'>, schedule: FeeSchedule): AssetAmount[] {
  const p = intent.params;
  const sent: AssetAmount[] =
    p.type === 'transfer:p2p' || p.type === 'lightning:land'
      ? [{ assetId: p.assetId, amount: p.amount }]
      : p.type === 'vtxo:split'
        ? []
        : [...p.give];
  const totals = new Map<string, bigint>();
  for (const { assetId, amount } of [...sent, requiredFee(intent, schedule)]) {
    totals.set(assetId, (totals.get(assetId) ?? 0n) + amount);
  }
  return [...totals].map(([assetId, amount]) => ({ assetId, amount }));
}
