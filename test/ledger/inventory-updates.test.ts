// Inventory updates reach subscribers: in process without Redis, over Redis pub/sub (another
// connection, as another instance would listen) with it; an unreachable Redis loses the
// notice but never fails the publisher.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Secret } from '../../src/config.ts';
import {
  MemoryInventoryUpdates,
  RedisInventoryUpdates,
  type InventoryUpdate,
} from '../../src/ledger/inventory-updates.ts';
import { waitFor } from '../support/wait.ts';
import { silentLogger } from '../support/test-database.ts';

const REDIS_URL = process.env.REDIS_URL;
const update = (available: number): InventoryUpdate => ({
  asset_id: 'gBTC',
  available,
  reason: 'batch',
  at: 1,
});

describe('inventory updates', () => {
  it('in process: every subscriber gets each update; unsubscribed ones no more', async () => {
    const updates = new MemoryInventoryUpdates();
    const a: InventoryUpdate[] = [];
    const b: InventoryUpdate[] = [];
    const stopA = await updates.subscribe((u) => a.push(u));
    await updates.subscribe(() => {
      throw new Error('a faulty listener');
    });
    await updates.subscribe((u) => b.push(u));
    await updates.publish(update(5));
    await stopA();
    await updates.publish(update(6));
    expect(a).toEqual([update(5)]);
    expect(b).toEqual([update(5), update(6)]);
  });

  it.skipIf(!REDIS_URL)('over Redis: a subscriber on another connection hears the update', async () => {
    const config = { url: new Secret(REDIS_URL!), display: 'redis' };
    const prefix = `arkrelay-test-${randomBytes(4).toString('hex')}`;
    const publisher = new RedisInventoryUpdates(config, prefix, silentLogger);
    const listener = new RedisInventoryUpdates(config, prefix, silentLogger);
    const other = new RedisInventoryUpdates(config, `${prefix}-other`, silentLogger);
    try {
      const heard: InventoryUpdate[] = [];
      const elsewhere: InventoryUpdate[] = [];
      await listener.subscribe((u) => heard.push(u));
      await other.subscribe((u) => elsewhere.push(u));
      await publisher.publish(update(7));
      await waitFor(() => heard.length > 0 || undefined, 5000, 'the update over Redis');
      expect(heard).toEqual([update(7)]);
      // Another QUEUE_PREFIX is another gateway: it hears nothing.
      expect(elsewhere).toEqual([]);
    } finally {
      await Promise.all([publisher.close(), listener.close(), other.close()]);
    }
  });

  it('an unreachable Redis: publish resolves, nothing thrown', async () => {
    const updates = new RedisInventoryUpdates(
      { url: new Secret('redis://127.0.0.1:1'), display: 'redis://127.0.0.1:1' },
      'x',
      silentLogger,
    );
    try {
      await expect(updates.publish(update(1))).resolves.toBeUndefined();
    } finally {
      await updates.close();
    }
  });
});
