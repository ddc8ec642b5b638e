// Bad events change nothing: a relay that forwards anything (wrong id, wrong signature, no p
// tag, expired, oversized). Where the author is verified the documented error comes back;
// where it is not, there is no answer and no row. Also the rate limit (1008) and NIP-42 AUTH.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finalizeEvent, type Event } from 'nostr-tools';
import type { Gateway } from '../../src/app.ts';
import { ClaimStore } from '../../src/nostr/claims.ts';
import type { EmbeddedRelay } from '../../src/nostr/embedded-relay.ts';
import { waitFor } from '../support/wait.ts';
import { RawRelay } from './raw-relay.ts';
import {
  Wallet,
  createStack,
  stackName,
  startRelay,
  startTestGateway,
  waitReady,
  type SharedStack,
} from './support.ts';

describe(`rejections (${stackName})`, () => {
  let stack: SharedStack;
  let raw: RawRelay;
  let relay: EmbeddedRelay;
  let gateway: Gateway;
  let pubkey: string;

  beforeAll(async () => {
    stack = await createStack();
    raw = await RawRelay.start();
    relay = await startRelay();
    gateway = await startTestGateway({
      stack,
      relays: [raw.url, relay.url],
      env: { NOSTR_RATE_LIMIT_PER_MINUTE: '5' },
    });
    await waitReady(gateway);
    await waitFor(() => gateway.nostr!.supervisorSubscribedAll(), 10_000, 'subscriptions');
    pubkey = gateway.nostr!.core.keys.active.pubkey;
  });

  afterAll(async () => {
    await gateway?.stop('test over');
    await raw?.stop();
    await relay?.stop();
    await stack?.drop();
  });

  const claimOf = (id: string) => new ClaimStore(gateway.database).status(id);

  /** Delivers through the raw relay and waits until the gateway has looked at it. */
  async function deliver(event: unknown): Promise<void> {
    const before = gateway.nostr!.intake.counters.received;
    raw.deliver(event);
    await waitFor(() => gateway.nostr!.intake.counters.received > before, 5_000, 'the gateway to receive it');
  }

  it.each([
    ['a wrong id', (e: Event) => ({ ...e, content: `${e.content}x` })],
    ['a wrong signature', (e: Event) => ({ ...e, sig: e.sig.replace(/^./, (c) => (c === '0' ? '1' : '0')) })],
    [
      'a signature by another key',
      (e: Event) => ({ ...e, sig: new Wallet().serviceRequest(pubkey, 'info').sig }),
    ],
    ['no valid shape', (e: Event) => ({ ...e, pubkey: 'not-hex' })],
  ])('an event with %s gets no answer and leaves no row', async (_what, spoil) => {
    const wallet = new Wallet();
    const event = spoil(wallet.serviceRequest(pubkey, 'info'));
    const invalidBefore =
      gateway.nostr!.intake.counters.invalid_signature + gateway.nostr!.intake.counters.malformed;
    await deliver(event);
    const counters = gateway.nostr!.intake.counters;
    expect(counters.invalid_signature + counters.malformed).toBe(invalidBefore + 1);
    expect(await claimOf(event.id)).toBeUndefined();
    // A well-formed request sent afterwards is answered: the gateway went on.
    const ok = wallet.serviceRequest(pubkey, 'info');
    raw.deliver(ok);
    await wallet.waitReply(relay.url, ok.id);
    expect(await wallet.replies(relay.url, event.id)).toEqual([]);
  });

  it.each([
    [
      'not p-tagged to this gateway',
      (w: Wallet) =>
        w.serviceRequest(
          pubkey,
          'info',
          {},
          {
            tags: [
              ['p', new Wallet().pubkey],
              ['d', 'x'],
            ],
          },
        ),
      1006,
    ],
    [
      'expired',
      (w: Wallet) =>
        w.serviceRequest(
          pubkey,
          'info',
          {},
          {
            tags: [
              ['p', pubkey],
              ['d', 'old'],
              ['expiration', String(Math.floor(Date.now() / 1000) - 60)],
            ],
          },
        ),
      1003,
    ],
    ['oversized', (w: Wallet) => w.serviceRequest(pubkey, 'info', {}, { content: 'A'.repeat(70_000) }), 1002],
  ])('a verified event %s is answered with its error code and runs nothing', async (_what, make, code) => {
    const wallet = new Wallet();
    const event = make(wallet);
    await deliver(event);
    const reply = await wallet.waitReply(relay.url, event.id);
    expect(reply.body).toMatchObject({ status: 'error', error: { code } });
    expect(await claimOf(event.id)).toMatchObject({ status: 'done' });
    const jobs = await gateway.database.db
      .selectFrom('job_logs')
      .select('id')
      .where('job_id', 'like', `nostr-${event.id}-%`)
      .execute();
    expect(jobs).toEqual([]);
  });

  it('an expired 31510 intent gets a 31341 failure notice with 1003', async () => {
    const wallet = new Wallet();
    const intent = finalizeEvent(
      {
        kind: 31510,
        created_at: Math.floor(Date.now() / 1000) - 120,
        tags: [
          ['p', pubkey],
          ['d', 'action-1'],
          ['expiration', String(Math.floor(Date.now() / 1000) - 60)],
        ],
        content: JSON.stringify({ v: 1, action_id: 'action-1', type: 'transfer:p2p', params: {} }),
      },
      wallet.secret,
    );
    await deliver(intent);
    const reply = await wallet.waitReply(relay.url, intent.id);
    expect(reply.event.kind).toBe(31341);
    expect(reply.body).toMatchObject({ action_id: 'action-1', code: 1003 });
  });

  it('more than the per-author limit per minute gets 1008', async () => {
    const wallet = new Wallet();
    const requests = Array.from({ length: 6 }, () => wallet.serviceRequest(pubkey, 'info'));
    for (const request of requests) await deliver(request);
    const last = requests.at(-1)!;
    const reply = await wallet.waitReply(relay.url, last.id);
    expect(reply.body).toMatchObject({ status: 'error', error: { code: 1008 } });
    expect(await claimOf(last.id)).toBeUndefined();
    for (const request of requests.slice(0, 5)) {
      expect((await wallet.waitReply(relay.url, request.id)).body).toMatchObject({ status: 'ok' });
    }
  });
});

describe('NIP-42', () => {
  it('the supervisor answers a relay AUTH challenge with the gateway key', async () => {
    const stack = await createStack();
    const relay = await startRelay(undefined, { auth: '127.0.0.1' });
    const gateway = await startTestGateway({ stack, relays: [relay.url] });
    try {
      await waitReady(gateway);
      const pubkey = gateway.nostr!.core.keys.active.pubkey;
      await waitFor(
        () => relay.authenticatedPubkeys().includes(pubkey),
        10_000,
        'the gateway to authenticate',
      );
      expect(gateway.nostr!.connection(relay.url)!.snapshot().authenticated).toBe(true);
    } finally {
      await gateway.stop('test over');
      await relay.stop();
      await stack.drop();
    }
  });
});
