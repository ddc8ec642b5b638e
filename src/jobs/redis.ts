// The one place that opens Redis connections. Messages name the URL only through
// config.redis.display (password hidden); the URL itself is revealed only to ioredis.
import { Redis, type RedisOptions } from 'ioredis';
import type { RedisConfig } from '../config.ts';
import { deadline } from '../deadline.ts';
import { DependencyUnavailableError, StartupError } from '../errors.ts';
import type { Logger } from '../logging.ts';

export const PING_TIMEOUT_MS = 1000;
export const STARTUP_TIMEOUT_MS = 3000;

/** The short reason of a connection error: its code (ECONNREFUSED) or Redis's own first words. */
function reason(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') return code;
  const message = error instanceof Error ? error.message : String(error);
  // ioredis's words for "a command was refused because the socket is down".
  if (/enableOfflineQueue|Connection is closed/.test(message)) return 'not connected';
  return message.length > 120 ? `${message.slice(0, 119)}…` : message;
}

/** One 'ready' listener per client however many callers wait (a burst of enqueues at start). */
const nextReady = new WeakMap<Redis, Promise<void>>();

/** Waits for a (re)connection that may be about to happen; never longer than `ms`. */
async function whenReady(client: Redis, ms: number): Promise<boolean> {
  if (client.status === 'ready') return true;
  if (client.status === 'end') return false;
  let ready = nextReady.get(client);
  if (!ready) {
    ready = new Promise<void>((resolve) =>
      client.once('ready', () => {
        nextReady.delete(client);
        resolve();
      }),
    );
    nextReady.set(client, ready);
  }
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const outcome = await Promise.race([ready.then(() => true as const), expired]);
  clearTimeout(timer);
  return outcome;
}

/**
 * A shared client for BullMQ queues and workers (BullMQ duplicates it for each worker's
 * blocking reads) and a small probe client for health checks. The shared one waits out outages
 * (maxRetriesPerRequest: null, as BullMQ workers require); the probe never queues a command
 * while disconnected, so a health check fails at once instead of hanging.
 */
export class RedisConnection {
  readonly client: Redis;
  readonly display: string;
  readonly #probe: Redis;
  /** Connections BullMQ derives from `client` (one blocking reader per worker): ours to close. */
  readonly #derived = new Set<Redis>();
  readonly #logger: Logger;
  #lastError = 'not connected yet';
  #down = false;
  /** Set by close(): every client (derived ones share the options) stops reconnecting. */
  #closing = false;

  constructor(config: RedisConfig, logger: Logger) {
    this.display = config.display;
    this.#logger = logger;
    const common: RedisOptions = { connectionName: 'arkrelay' };
    this.client = new Redis(config.url.reveal(), {
      ...common,
      maxRetriesPerRequest: null,
      connectTimeout: 5000,
      retryStrategy: (times) => (this.#closing ? null : Math.min(times * 250, 2000)),
    });
    this.#probe = new Redis(config.url.reveal(), {
      ...common,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: PING_TIMEOUT_MS,
      // Short, so the probe sees Redis come back within a second of it returning.
      retryStrategy: (times) => (this.#closing ? null : Math.min(times * 100, 500)),
    });
    const duplicate = this.client.duplicate.bind(this.client);
    this.client.duplicate = (override?: Partial<RedisOptions>) => {
      const derived = duplicate(override);
      this.#derived.add(derived);
      derived.once('end', () => this.#derived.delete(derived));
      return derived;
    };
    // Without listeners ioredis prints every reconnect failure; log an outage once instead.
    this.client.on('error', (error) => {
      this.#lastError = reason(error);
      if (this.#down) return;
      this.#down = true;
      this.#logger.warn({ redis: this.display, error: this.#lastError }, 'redis connection lost');
    });
    this.client.on('ready', () => {
      if (this.#down) this.#logger.info({ redis: this.display }, 'redis connection restored');
      this.#down = false;
    });
    this.#probe.on('error', (error) => {
      this.#lastError = reason(error);
    });
  }

  /** True while the shared client can send commands right now. */
  get ready(): boolean {
    return this.client.status === 'ready';
  }

  /** Resolves once the shared client is connected; rejects if it is not within `ms`. */
  async available(ms = 2000): Promise<void> {
    if (!(await whenReady(this.client, ms))) throw this.unavailable();
  }

  unavailable(): Error {
    return new DependencyUnavailableError(
      'redis',
      `redis at ${this.display} is unreachable (${this.#lastError})`,
    );
  }

  /** Round trip in ms; rejects within `timeoutMs` when Redis does not answer. */
  async ping(timeoutMs = PING_TIMEOUT_MS): Promise<number> {
    const started = performance.now();
    // Lost and waiting to retry (every 500 ms at most): the outage is known, say so at once.
    if (this.#probe.status === 'reconnecting') throw this.unavailable();
    if (!(await whenReady(this.#probe, timeoutMs))) throw this.unavailable();
    const left = Math.max(1, timeoutMs - (performance.now() - started));
    await deadline(this.#probe.ping(), left, () => new Error(`no answer within ${timeoutMs} ms`)).catch(
      (error: unknown) => {
        this.#lastError = reason(error);
        throw this.unavailable();
      },
    );
    return performance.now() - started;
  }

  async close(): Promise<void> {
    this.#closing = true;
    this.#probe.disconnect();
    // quit() lets replies still due arrive; bounded, in case Redis stops answering meanwhile.
    if (this.client.status === 'ready') {
      await deadline(this.client.quit(), 2000, () => new Error('quit timed out')).catch(() => undefined);
    }
    // BullMQ quits the derived ones it could; any left are waiting on a Redis that is gone.
    for (const client of [this.client, ...this.#derived]) client.disconnect();
  }
}

/**
 * Start-up check: resolves when Redis answers PING within `timeoutMs`, otherwise throws a
 * StartupError naming REDIS_URL (one line, password hidden).
 */
export async function connectRedis(config: RedisConfig, timeoutMs = STARTUP_TIMEOUT_MS): Promise<void> {
  let lastError: unknown;
  const client = new Redis(config.url.reveal(), {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: timeoutMs,
    retryStrategy: () => null,
  });
  client.on('error', (error) => {
    lastError = error;
  });
  try {
    await deadline(
      client.connect().then(() => client.ping()),
      timeoutMs,
      () => new Error(`no answer within ${timeoutMs} ms`),
    );
  } catch (error) {
    throw new StartupError(
      'REDIS_URL',
      `cannot connect to ${config.display} (${reason(lastError ?? error)})`,
    );
  } finally {
    client.disconnect();
  }
}
