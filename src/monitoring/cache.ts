// The read cache for hot, expensive reads (balances, stats): Redis when REDIS_URL is set, so
// every instance sees one cache and one invalidation, otherwise an in-memory LRU. A cache
// failure is a miss, never an error: the database stays the source of truth.
import { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import type { RedisConfig } from '../config.ts';

export interface CacheStats {
  readonly backend: 'redis' | 'memory';
  readonly hits: number;
  readonly misses: number;
  readonly errors: number;
  readonly hit_rate: number;
  readonly entries: number | null;
}

export interface Cache {
  get<T>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown, ttlMs: number): Promise<void>;
  /** Removes one key, or every key starting with `prefix*`. */
  invalidate(keyOrPrefix: string): Promise<void>;
  /** Returns the cached value, or computes, stores and returns it. */
  wrap<T>(key: string, ttlMs: number, compute: () => Promise<T>): Promise<T>;
  stats(): Promise<CacheStats>;
  close(): Promise<void>;
}

abstract class CountingCache implements Cache {
  protected hits = 0;
  protected misses = 0;
  protected errors = 0;
  abstract get<T>(key: string): Promise<T | undefined>;
  abstract set(key: string, value: unknown, ttlMs: number): Promise<void>;
  abstract invalidate(keyOrPrefix: string): Promise<void>;
  abstract stats(): Promise<CacheStats>;
  abstract close(): Promise<void>;

  async wrap<T>(key: string, ttlMs: number, compute: () => Promise<T>): Promise<T> {
    const cached = await this.get<T>(key);
    if (cached !== undefined) return cached;
    const value = await compute();
    await this.set(key, value, ttlMs);
    return value;
  }

  protected counts(backend: CacheStats['backend'], entries: number | null): CacheStats {
    const total = this.hits + this.misses;
    return {
      backend,
      hits: this.hits,
      misses: this.misses,
      errors: this.errors,
      hit_rate: total === 0 ? 0 : Math.round((this.hits / total) * 10_000) / 10_000,
      entries,
    };
  }
}

/** Values are stored as JSON on both backends, so a cached object is never shared by reference. */
const encode = (value: unknown) =>
  JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? { $bigint: v.toString() } : v));
const decode = <T>(text: string): T =>
  JSON.parse(text, (_k, v: unknown) =>
    v && typeof v === 'object' && '$bigint' in v && typeof (v as { $bigint: unknown }).$bigint === 'string'
      ? BigInt((v as { $bigint: string }).$bigint)
      : v,
  ) as T;

export class MemoryCache extends CountingCache {
  readonly #lru: LRUCache<string, string>;
  constructor(maxEntries = 10_000) {
    super();
    this.#lru = new LRUCache({ max: maxEntries, ttlAutopurge: false });
  }
  async get<T>(key: string): Promise<T | undefined> {
    const text = this.#lru.get(key);
    if (text === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    return decode<T>(text);
  }
  async set(key: string, value: unknown, ttlMs: number): Promise<void> {
    this.#lru.set(key, encode(value), { ttl: ttlMs });
  }
  async invalidate(keyOrPrefix: string): Promise<void> {
    if (!keyOrPrefix.endsWith('*')) {
      this.#lru.delete(keyOrPrefix);
      return;
    }
    const prefix = keyOrPrefix.slice(0, -1);
    for (const key of [...this.#lru.keys()]) if (key.startsWith(prefix)) this.#lru.delete(key);
  }
  async stats(): Promise<CacheStats> {
    return this.counts('memory', this.#lru.size);
  }
  async close(): Promise<void> {
    this.#lru.clear();
  }
}

export class RedisCache extends CountingCache {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #connected: Promise<void>;
  constructor(config: RedisConfig, prefix: string) {
    super();
    this.#prefix = `${prefix}:cache:`;
    // Never queue or retry a cache command while Redis is away: a miss now beats a slow read.
    this.#redis = new Redis(config.url.reveal(), {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: 500,
      connectionName: 'arkrelay-cache',
      retryStrategy: (times) => Math.min(times * 200, 2000),
    });
    this.#redis.on('error', () => undefined);
    // Commands are not queued while disconnected, so the first ones wait (briefly) for the
    // initial connection instead of all missing at start-up.
    this.#connected = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 1000);
      this.#redis.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
  async get<T>(key: string): Promise<T | undefined> {
    try {
      await this.#connected;
      const text = await this.#redis.get(this.#prefix + key);
      if (text === null) {
        this.misses++;
        return undefined;
      }
      this.hits++;
      return decode<T>(text);
    } catch {
      this.errors++;
      this.misses++;
      return undefined;
    }
  }
  async set(key: string, value: unknown, ttlMs: number): Promise<void> {
    await this.#connected;
    await this.#redis
      .set(this.#prefix + key, encode(value), 'PX', Math.max(1, Math.round(ttlMs)))
      .catch(() => {
        this.errors++;
      });
  }
  async invalidate(keyOrPrefix: string): Promise<void> {
    try {
      await this.#connected;
      if (!keyOrPrefix.endsWith('*')) {
        await this.#redis.del(this.#prefix + keyOrPrefix);
        return;
      }
      let cursor = '0';
      do {
        const [next, keys] = await this.#redis.scan(
          cursor,
          'MATCH',
          `${this.#prefix}${keyOrPrefix}`,
          'COUNT',
          500,
        );
        cursor = next;
        if (keys.length > 0) await this.#redis.del(...keys);
      } while (cursor !== '0');
    } catch {
      this.errors++;
    }
  }
  async stats(): Promise<CacheStats> {
    return this.counts('redis', null);
  }
  async close(): Promise<void> {
    this.#redis.disconnect();
  }
}

export function createCache(redis: RedisConfig | undefined, prefix: string): Cache {
  return redis ? new RedisCache(redis, prefix) : new MemoryCache();
}
