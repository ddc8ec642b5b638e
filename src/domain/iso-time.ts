// Times are stored as unix milliseconds (MariaDB may hand a BIGINT back as a string) and leave
// the gateway as ISO 8601 UTC. One conversion for every read.

/** A stored time as ISO 8601 UTC. */
export function isoTime(ms: number | bigint | string): string {
  return new Date(Number(ms)).toISOString();
}

/** The same; an absent time (null or undefined) is null. */
export function isoTimeOrNull(ms: number | bigint | string | null | undefined): string | null {
  return ms === null || ms === undefined ? null : isoTime(ms);
}
