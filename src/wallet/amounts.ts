// Amounts cross the protocol as JSON integers (up to 2^53 - 1) or decimal strings; inside the
// wallet they are bigint. Nothing here ever goes through a float.

export type AmountLike = bigint | number | string;

/** A non-negative integer amount; throws on floats, signs, exponents and other text. */
export function toAmount(value: unknown, what = 'amount'): bigint {
  if (typeof value === 'bigint') {
    if (value < 0n) throw new Error(`${what} is negative`);
    return value;
  }
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0)
      throw new Error(`${what} is not a safe non-negative integer`);
    return BigInt(value);
  }
  if (typeof value === 'string' && /^\d{1,30}$/.test(value)) return BigInt(value);
  throw new Error(`${what} is not an integer amount`);
}

/** As the protocol writes it: a JSON number when it is exact, a decimal string otherwise. */
export function jsonAmount(value: AmountLike): number | string {
  const amount = toAmount(value);
  return amount <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(amount) : amount.toString();
}

/** Per-asset sums: asset id → amount (may go negative as a net flow). */
export type AssetSums = Map<string, bigint>;

export function addTo(sums: AssetSums, assetId: string, amount: bigint): void {
  sums.set(assetId, (sums.get(assetId) ?? 0n) + amount);
}

/** True when both maps hold the same amount for every asset (missing counts as 0). */
export function sameSums(a: AssetSums, b: AssetSums): boolean {
  for (const key of new Set([...a.keys(), ...b.keys()])) {
    if ((a.get(key) ?? 0n) !== (b.get(key) ?? 0n)) return false;
  }
  return true;
}

export function formatSums(sums: AssetSums): string {
  const parts = [...sums.entries()].filter(([, v]) => v !== 0n).map(([k, v]) => `${v} ${k}`);
  return parts.length > 0 ? parts.join(', ') : 'nothing';
}
