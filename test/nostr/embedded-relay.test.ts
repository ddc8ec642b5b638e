// The embedded relay checks every event's signature (through libsecp256k1, swapped into the relay
// library): a valid event is stored and served, a tampered signature or id is refused.
import { finalizeEvent, generateSecretKey, Relay } from 'nostr-tools';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmbeddedRelay } from '../../src/nostr/embedded-relay.ts';
import { queryRelay } from '../support/relay-query.ts';
import { startRelay } from './support.ts';

describe('embedded relay signature checks', () => {
  let relay: EmbeddedRelay;
  beforeAll(async () => {
    relay = await startRelay();
  });
  afterAll(async () => {
    await relay?.stop();
  });

  const event = (content: string) =>
    finalizeEvent(
      { kind: 1, created_at: Math.floor(Date.now() / 1000), tags: [], content },
      generateSecretKey(),
    );

  it('stores a validly signed event and refuses a tampered signature', async () => {
    const connection = await Relay.connect(relay.url);
    try {
      const good = event('good');
      await connection.publish(good);
      const flipped = good.sig.slice(0, -1) + (good.sig.endsWith('0') ? '1' : '0');
      const bad = { ...event('bad'), sig: flipped };
      await expect(connection.publish(bad)).rejects.toThrow(/sig|invalid/i);
      const notHex = { ...event('not hex'), sig: 'zz'.repeat(64) };
      await expect(connection.publish(notHex)).rejects.toThrow();
    } finally {
      connection.close();
    }
    const stored = await queryRelay(relay.url, { kinds: [1] });
    expect(stored.map((e) => e.content)).toEqual(['good']);
  });
});
