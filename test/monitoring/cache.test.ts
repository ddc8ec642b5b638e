import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { Secret } from '../../src/config.ts';
import { MemoryCache, RedisCache, type Cache } from '../../src/monitoring/cache.ts';

const redisUrl = process.env.REDIS_URL;
const backends: [string, () => Cache][] = [
  ['memory', () => new MemoryCache()],
  ...(redisUrl
    ? ([
        [
          'redis',
          () =>
            new RedisCache(
              { url: new Secret(redisUrl), display: redisUrl },
              `t${randomBytes(4).toString('hex')}`,
            ),
        ],
      ] as [string, () => Cache][])
    : []),
];

describe.each(backends)('%s cache', (_name, make) => {
  let cache: Cache;
  afterEach(async () => cache?.close());

  it('counts hits and misses, keeps bigints exact, and computes once per key', async () => {
    cache = make();
    let computed = 0;
    const compute = async () => {
      computed++;
      return { balance: 2n ** 70n, owner: 'ab' };
    };
    const first = await cache.wrap('balance:ab', 10_000, compute);
    const second = await cache.wrap('balance:ab', 10_000, compute);
    expect(second).toEqual({ balance: 2n ** 70n, owner: 'ab' });
    expect(first).toEqual(second);
    expect(computed).toBe(1);
    expect(await cache.stats()).toMatchObject({ hits: 1, misses: 1, hit_rate: 0.5 });
  });

  it('invalidates one key or a prefix, and expires entries', async () => {
    cache = make();
    await cache.set('vtxos:a', 1, 10_000);
    await cache.set('vtxos:b', 2, 10_000);
    await cache.set('other', 3, 10_000);
    await cache.invalidate('vtxos:*');
    expect(await cache.get('vtxos:a')).toBeUndefined();
    expect(await cache.get('vtxos:b')).toBeUndefined();
    expect(await cache.get('other')).toBe(3);
    await cache.invalidate('other');
    expect(await cache.get('other')).toBeUndefined();
    await cache.set('short', 1, 30);
    await new Promise((r) => setTimeout(r, 80));
    expect(await cache.get('short')).toBeUndefined();
  });
});

describe('redis cache while Redis is away', () => {
  it('treats an unreachable Redis as a miss, never an error', async () => {
    const cache = new RedisCache(
      { url: new Secret('redis://127.0.0.1:6390'), display: 'redis://127.0.0.1:6390' },
      'down',
    );
    expect(await cache.wrap('k', 1000, async () => 'computed')).toBe('computed');
    expect((await cache.stats()).errors).toBeGreaterThan(0);
    await cache.close();
  });
});
