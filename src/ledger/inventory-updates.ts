// Inventory updates: after each change of the inventory (a batch created, VTXOs reconciled or
// expired), one message per asset with its available count. On Redis (REDIS_URL) they go to
// the pub/sub channel `<QUEUE_PREFIX>:inventory`, so every instance (and any operator tool)
// hears them; without Redis, to an in-process emitter. Best effort by design: the database is
// the truth, a lost message only delays a dashboard, so publishing never throws.
import { EventEmitter } from 'node:events';
import { Redis } from 'ioredis';
import type { RedisConfig } from '../config.ts';
import type { Logger } from '../logging.ts';

export interface InventoryUpdate {
  readonly asset_id: string;
  /** `available` VTXOs of the asset after the change. */
  readonly available: number;
  readonly reason: 'batch' | 'reconcile' | 'cleanup';
  /** The Ark batch (commitment) txid, for a batch. */
  readonly commitment_txid?: string;
  /** Unix ms. */
  readonly at: number;
}

export type InventoryListener = (update: InventoryUpdate) => void;

export interface InventoryUpdates {
  readonly kind: 'redis' | 'memory';
  publish(update: InventoryUpdate): Promise<void>;
  /** Resolves once listening; the returned function stops it. */
  subscribe(listener: InventoryListener): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export const inventoryChannel = (prefix: string) => `${prefix}:inventory`;

export class MemoryInventoryUpdates implements InventoryUpdates {
  readonly kind = 'memory' as const;
  readonly #emitter = new EventEmitter();

  async publish(update: InventoryUpdate): Promise<void> {
    // A copy, as Redis would deliver: a listener cannot change what the next one sees.
    const copy = JSON.parse(JSON.stringify(update)) as InventoryUpdate;
    for (const listener of this.#emitter.listeners('update') as InventoryListener[]) {
      try {
        listener(copy);
      } catch {
        // One faulty listener does not stop the others or the publisher.
      }
    }
  }

  async subscribe(listener: InventoryListener): Promise<() => Promise<void>> {
    this.#emitter.on('update', listener);
    return async () => {
      this.#emitter.off('update', listener);
    };
  }

  async close(): Promise<void> {
    this.#emitter.removeAllListeners();
  }
}

export class RedisInventoryUpdates implements InventoryUpdates {
  readonly kind = 'redis' as const;
  readonly #config: RedisConfig;
  readonly #channel: string;
  readonly #logger: Logger;
  readonly #publisher: Redis;
  #subscriber: Redis | undefined;
  readonly #listeners = new Set<InventoryListener>();

  constructor(config: RedisConfig, prefix: string, logger: Logger) {
    this.#config = config;
    this.#channel = inventoryChannel(prefix);
    this.#logger = logger;
    // A notice is worth something only now: never queue it while Redis is away.
    this.#publisher = new Redis(config.url.reveal(), {
      connectionName: 'arkrelay-inventory',
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      lazyConnect: true,
      retryStrategy: (times) => Math.min(times * 200, 2000),
    });
    this.#publisher.on('error', () => undefined);
  }

  async publish(update: InventoryUpdate): Promise<void> {
    try {
      if (this.#publisher.status === 'wait') await this.#publisher.connect();
      await this.#publisher.publish(this.#channel, JSON.stringify(update));
    } catch (error) {
      this.#logger.warn(
        { redis: this.#config.display, asset: update.asset_id, err: String(error) },
        'inventory update not published',
      );
    }
  }

  async subscribe(listener: InventoryListener): Promise<() => Promise<void>> {
    if (!this.#subscriber) {
      const subscriber = new Redis(this.#config.url.reveal(), {
        connectionName: 'arkrelay-inventory-sub',
        retryStrategy: (times) => Math.min(times * 200, 2000),
      });
      subscriber.on('error', () => undefined);
      subscriber.on('message', (channel: string, message: string) => {
        if (channel !== this.#channel) return;
        let update: InventoryUpdate;
        try {
          update = JSON.parse(message) as InventoryUpdate;
        } catch {
          return;
        }
        for (const l of this.#listeners) {
          try {
            l(update);
          } catch {
            // As in memory: one listener's failure is its own.
          }
        }
      });
      this.#subscriber = subscriber;
      await subscriber.subscribe(this.#channel);
    }
    this.#listeners.add(listener);
    return async () => {
      this.#listeners.delete(listener);
    };
  }

  async close(): Promise<void> {
    this.#listeners.clear();
    this.#publisher.disconnect();
    this.#subscriber?.disconnect();
  }
}

/** Redis pub/sub when REDIS_URL is configured, otherwise in-process. */
export function createInventoryUpdates(
  redis: RedisConfig | undefined,
  prefix: string,
  logger: Logger,
): InventoryUpdates {
  return redis ? new RedisInventoryUpdates(redis, prefix, logger) : new MemoryInventoryUpdates();
}
