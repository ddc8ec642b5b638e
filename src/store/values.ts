// Reading integer columns exactly. A BIGINT comes back as a number while it is a safe
// integer, and beyond that as a bigint (SQLite) or a decimal string (MariaDB, and any SUM()).

export type DbInteger = number | bigint | string;

/** The exact value of an integer column; throws on anything that is not a whole number. */
export function toBigInt(value: DbInteger): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new RangeError(`not an exact integer: ${value}`);
    return BigInt(value);
  }
  // BigInt('') is 0n and BigInt(' 1 ') is 1n: accept plain decimal digits only.
  if (!/^-?\d+$/.test(value)) throw new RangeError(`not an integer: "${value}"`);
  return BigInt(value);
}

export function toBigIntOrNull(value: DbInteger | null): bigint | null {
  return value === null ? null : toBigInt(value);
}

/** A boolean as stored (INTEGER 0/1). */
export function flag(value: boolean): 0 | 1 {
  return value ? 1 : 0;
}
