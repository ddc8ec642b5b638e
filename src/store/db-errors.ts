// Recognising the database errors that services act on, the same way on both dialects.
// Exactly-once inserts rely on isUniqueViolation; retry loops on isTransientConflict.

interface DriverError {
  code?: unknown;
  errno?: unknown;
  errcode?: unknown;
}

const SQLITE_CONSTRAINT_PRIMARYKEY = 1555;
const SQLITE_CONSTRAINT_UNIQUE = 2067;
const SQLITE_CONSTRAINT_CHECK = 275;
const SQLITE_BUSY = 5;
/** MariaDB's own code for a failed CHECK; mysql2 may not know its name. */
const MARIADB_CONSTRAINT_FAILED = 4025;

function fields(error: unknown): DriverError {
  return typeof error === 'object' && error !== null ? (error as DriverError) : {};
}

/** A primary or unique key already holds this value (SQLite or MariaDB ER_DUP_ENTRY). */
export function isUniqueViolation(error: unknown): boolean {
  const { code, errcode } = fields(error);
  return (
    code === 'ER_DUP_ENTRY' ||
    errcode === SQLITE_CONSTRAINT_UNIQUE ||
    errcode === SQLITE_CONSTRAINT_PRIMARYKEY
  );
}

/** A CHECK constraint (for example a negative amount) refused the row. */
export function isCheckViolation(error: unknown): boolean {
  const { code, errno, errcode } = fields(error);
  return (
    code === 'ER_CONSTRAINT_FAILED' ||
    errno === MARIADB_CONSTRAINT_FAILED ||
    errcode === SQLITE_CONSTRAINT_CHECK
  );
}

/**
 * The transaction lost a lock conflict and may simply be run again: a MariaDB deadlock or
 * lock wait timeout, or SQLite still busy after its busy timeout.
 */
export function isTransientConflict(error: unknown): boolean {
  const { code, errcode } = fields(error);
  return (
    code === 'ER_LOCK_DEADLOCK' ||
    code === 'ER_LOCK_WAIT_TIMEOUT' ||
    (typeof errcode === 'number' && (errcode & 0xff) === SQLITE_BUSY)
  );
}

/** mysql2's codes for a connection that is gone or cannot be made (the server is down or away). */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_SERVER_SHUTDOWN',
  'ER_CON_COUNT_ERROR',
  'POOL_CLOSED',
]);

/**
 * The database could not be used right now (no connection, the server going away, a lock
 * conflict): the same work may succeed later. Anything else the database refuses — a
 * constraint, bad SQL — will refuse again.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const { code } = fields(error);
  if (typeof code === 'string' && CONNECTION_CODES.has(code)) return true;
  if ((error as { fatal?: unknown } | null)?.fatal === true) return true;
  if (
    error instanceof Error &&
    /pool is closed|connection .*closed|can't add new command/i.test(error.message)
  )
    return true;
  return isTransientConflict(error);
}
