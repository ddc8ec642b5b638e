// A fixed-rate quote between two assets: `price` = how many base units of `quote` one base unit
// of `base` is worth, as an integer fraction (no floats anywhere), less a spread in basis points.
// Amounts round down in the solver's favour.
export interface FixedRate {
  readonly base: string;
  readonly quote: string;
  /** Units of `quote` per unit of `base` = numerator / denominator. */
  readonly numerator: bigint;
  readonly denominator: bigint;
  /** Kept by the solver, in 1/10 000 of the amount received (default 0). */
  readonly spreadBps?: bigint;
}

/** What the user receives of `receiveAsset` for giving `amount` of `giveAsset`; undefined: no market. */
export function quoteAmount(
  rate: FixedRate,
  giveAsset: string,
  amount: bigint,
  receiveAsset: string,
): bigint | undefined {
  let gross: bigint;
  if (giveAsset === rate.base && receiveAsset === rate.quote)
    gross = (amount * rate.numerator) / rate.denominator;
  else if (giveAsset === rate.quote && receiveAsset === rate.base)
    gross = (amount * rate.denominator) / rate.numerator;
  else return undefined;
  const spread = rate.spreadBps ?? 0n;
  return (gross * (10_000n - spread)) / 10_000n;
}

export function describeRate(rate: FixedRate): string {
  return `${rate.denominator} ${rate.base} = ${rate.numerator} ${rate.quote}${rate.spreadBps ? ` (spread ${rate.spreadBps} bps)` : ''}`;
}
