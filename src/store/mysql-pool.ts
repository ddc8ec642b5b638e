// The mysql2 pool, sized from DB_POOL_SIZE + DB_MAX_OVERFLOW, behind Kysely's MysqlPool
// interface. mysql2 queues a request for a connection forever when all are busy; a bounded
// wait (DB_POOL_TIMEOUT_MS) turns an exhausted pool into a clear error instead of a hang.
import type { MysqlPool, MysqlPoolConnection } from 'kysely';
import { createPool, type Pool, type PoolConnection } from 'mysql2';
import type { MariaDbConfig } from '../config.ts';

/** No connection became free within DB_POOL_TIMEOUT_MS. */
export class PoolTimeoutError extends Error {
  readonly code = 'DB_POOL_TIMEOUT';
  constructor(timeoutMs: number, limit: number) {
    super(
      `database pool: no free connection within ${timeoutMs} ms (all ${limit} in use; ` +
        'raise DB_POOL_SIZE / DB_MAX_OVERFLOW or DB_POOL_TIMEOUT_MS)',
    );
    this.name = 'PoolTimeoutError';
  }
}

export class TimedPool implements MysqlPool {
  readonly pool: Pool;
  readonly limit: number;
  readonly #timeoutMs: number;

  constructor(pool: Pool, limit: number, timeoutMs: number) {
    this.pool = pool;
    this.limit = limit;
    this.#timeoutMs = timeoutMs;
  }

  getConnection(callback: (error: unknown, connection: MysqlPoolConnection) => void): void {
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      callback(
        new PoolTimeoutError(this.#timeoutMs, this.limit),
        undefined as unknown as MysqlPoolConnection,
      );
    }, this.#timeoutMs);
    this.pool.getConnection((error, connection: PoolConnection | undefined) => {
      if (settled) {
        // The caller gave up; hand the connection straight back to the pool.
        connection?.release();
        return;
      }
      settled = true;
      clearTimeout(timer);
      callback(error, connection as unknown as MysqlPoolConnection);
    });
  }

  end(callback: (error: unknown) => void): void {
    this.pool.end(callback);
  }
}

export function createMariaDbPool(config: MariaDbConfig): TimedPool {
  const limit = config.poolSize + config.maxOverflow;
  const pool = createPool({
    host: config.host,
    port: config.port,
    user: config.user,
    password: config.password.reveal(),
    database: config.database,
    connectionLimit: limit,
    // Connections beyond DB_POOL_SIZE are the overflow: closed again once idle.
    maxIdle: config.poolSize,
    idleTimeout: 60_000,
    waitForConnections: true,
    queueLimit: 0,
    connectTimeout: config.connectTimeoutMs,
    enableKeepAlive: true,
    // All times are integer milliseconds; these only keep any DATETIME a string in UTC.
    timezone: 'Z',
    dateStrings: true,
    // BIGINT: a number while it is a safe integer, a string beyond; money code BigInt()s it.
    supportBigNumbers: true,
    bigNumberStrings: false,
    charset: 'UTF8MB4_BIN',
  });
  return new TimedPool(pool, limit, config.poolTimeoutMs);
}
