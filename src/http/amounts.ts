// Amounts in HTTP schemas. The ledger stores them as signed 64-bit integers, so an amount the
// schema accepts must fit one: a decimal string is matched by an exact pattern (a 20-digit
// number is a 400, never a database error), and a JSON number is bounded where it stays exact.
import { Type } from 'typebox';

export const MAX_INT64 = 2n ** 63n - 1n;
/** 21 million BTC: no output can hold more sats. */
export const MAX_MONEY_SATS = 2_100_000_000_000_000;

/** A regular expression source matching the decimal integers from `min` (0 or 1) to `max`, exactly. */
export function decimalRange(min: 0 | 1, max: bigint): string {
  const digits = max.toString();
  const n = digits.length;
  const parts: string[] = [];
  if (min === 0) parts.push('0');
  // Fewer digits than max: any number without a leading zero.
  if (n > 1) parts.push(n === 2 ? '[1-9]' : `[1-9]\\d{0,${n - 2}}`);
  // As many digits: a common prefix, one smaller digit, then anything.
  for (let i = 0; i < n; i++) {
    const d = Number(digits[i]);
    const low = i === 0 ? 1 : 0;
    if (d > low) {
      const range = d - 1 === low ? `${low}` : `[${low}-${d - 1}]`;
      const rest = n - i - 1;
      parts.push(`${digits.slice(0, i)}${range}${rest > 0 ? `\\d{${rest}}` : ''}`);
    }
  }
  parts.push(digits);
  return `^(?:${parts.join('|')})$`;
}

/** An amount as a decimal string, `min` to 9 223 372 036 854 775 807 (a signed 64-bit integer). */
export function Int64String(min: 0 | 1, description = 'whole number in the base unit, as a decimal string') {
  return Type.String({
    pattern: decimalRange(min, MAX_INT64),
    maxLength: 19,
    description: `${description}: ${min} to ${MAX_INT64} (a signed 64-bit integer)`,
  });
}
