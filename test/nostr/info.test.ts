// An independent client (plain nostr-tools) asks `info` through the embedded relay and reads the
// answer; NIP-04 gets NIP-04, NIP-44 gets NIP-44, NIP-04 turned off gets 1007; unknown actions
// 1005, malformed content 1002. Also: /nostr/status and friends, and no secret in any log.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/app.ts';
import {
  LogCapture,
  Wallet,
  createStack,
  stackName,
  startTestGateway,
  waitReady,
  type SharedStack,
} from './support.ts';

describe(`info over Nostr (${stackName})`, () => {
  let stack: SharedStack;
  let gateway: Gateway;
  let relay: string;
  let gatewayPubkey: string;
  const capture = new LogCapture();
  const adminKey = 'admin-key-'.padEnd(40, 'k');

  beforeAll(async () => {
    stack = await createStack();
    gateway = await startTestGateway({ stack, logger: capture.logger, env: { ADMIN_API_KEY: adminKey } });
    await waitReady(gateway);
    relay = gateway.nostr!.embeddedRelayUrl!;
    gatewayPubkey = gateway.nostr!.core.keys.active.pubkey;
  });

  afterAll(async () => {
    await gateway?.stop('test over');
    await stack?.drop();
  });

  it('answers info to an independent nostr-tools client (NIP-44 in, NIP-44 out)', async () => {
    const wallet = new Wallet();
    const request = wallet.serviceRequest(gatewayPubkey, 'info', {}, { requestId: 'info-1' });
    // Measured as a wallet sees it: subscribed first, then publish, until the reply arrives.
    const { Relay } = await import('nostr-tools/relay');
    const live = await Relay.connect(relay);
    const arrived = new Promise<number>((resolve) => {
      live.subscribe([{ kinds: [31501], '#e': [request.id] }], { onevent: () => resolve(performance.now()) });
    });
    const started = performance.now();
    await live.publish(request);
    const latencyMs = Math.round((await arrived) - started);
    live.close();
    console.log(`info round trip (${stackName}): ${latencyMs} ms`);
    const reply = await wallet.waitReply(relay, request.id);
    expect(reply.scheme).toBe('nip44');
    expect(reply.event.kind).toBe(31501);
    expect(reply.event.pubkey).toBe(gatewayPubkey);
    expect(reply.event.tags).toEqual(
      expect.arrayContaining([
        ['p', wallet.pubkey],
        ['e', request.id],
        ['d', `response:${request.id}`],
      ]),
    );
    expect(reply.event.tags.find((t) => t[0] === 'expiration')).toBeDefined();
    expect(reply.body).toMatchObject({
      request_id: 'info-1',
      status: 'ok',
      result: {
        gateway_pubkey: gatewayPubkey,
        protocol_version: '1.1',
        encryption: ['nip44', 'nip04'],
        actions: expect.arrayContaining(['info']),
        kinds: { accepts: [31500, 31510, 31512] },
        limits: { max_event_bytes: 65536, max_open_sessions: 8, max_inventory_locked: 8 },
      },
    });
  });

  it('answers a NIP-04 request in NIP-04', async () => {
    const wallet = new Wallet();
    const request = wallet.serviceRequest(gatewayPubkey, 'info', {}, { scheme: 'nip04' });
    await wallet.publish(relay, request);
    const reply = await wallet.waitReply(relay, request.id);
    expect(reply.scheme).toBe('nip04');
    expect(reply.event.content).toContain('?iv=');
    expect(reply.body).toMatchObject({ status: 'ok', result: { gateway_pubkey: gatewayPubkey } });
  });

  it.each([
    ['an unknown action', (w: Wallet) => w.serviceRequest(gatewayPubkey, 'teleport', {}), 1005],
    ['params on info', (w: Wallet) => w.serviceRequest(gatewayPubkey, 'info', { x: 1 }), 1002],
    [
      'content that is not JSON',
      (w: Wallet) =>
        w.serviceRequest(gatewayPubkey, 'info', {}, { content: w.encrypt(gatewayPubkey, 'hello', 'nip44') }),
      1002,
    ],
    [
      'content that does not decrypt',
      (w: Wallet) =>
        w.serviceRequest(
          gatewayPubkey,
          'info',
          {},
          {
            content:
              'AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4/QA==',
          },
        ),
      1002,
    ],
  ])('answers %s with its error code', async (_what, make, code) => {
    const wallet = new Wallet();
    const request = make(wallet);
    await wallet.publish(relay, request);
    const reply = await wallet.waitReply(relay, request.id);
    expect(reply.body).toMatchObject({ status: 'error', error: { code } });
  });

  it('reports status over HTTP, and start/stop need the admin key', async () => {
    const url = gateway.httpUrl!;
    const status = (await (await fetch(`${url}/nostr/status`)).json()) as Record<string, unknown>;
    expect(status).toMatchObject({
      running: true,
      pubkey: gatewayPubkey,
      npub: expect.stringMatching(/^npub1/),
      embedded_relay: relay,
      relays: [{ url: relay, state: 'connected', subscribed: true }],
    });
    expect((status.intake as Record<string, number>).claimed).toBeGreaterThan(0);
    const relays = (await (await fetch(`${url}/nostr/relays`)).json()) as { relays: unknown[] };
    expect(relays.relays).toHaveLength(1);

    expect((await fetch(`${url}/nostr/stop`, { method: 'POST' })).status).toBe(401);
    const stopped = await fetch(`${url}/nostr/stop`, {
      method: 'POST',
      headers: { 'x-admin-key': adminKey },
    });
    expect(await stopped.json()).toEqual({ running: false });
    expect((await fetch(`${url}/ready`)).status).toBe(503);
    const started = await fetch(`${url}/nostr/start`, {
      method: 'POST',
      headers: { 'x-admin-key': adminKey },
    });
    expect(await started.json()).toEqual({ running: true });
    await waitReady(gateway);

    // A request published while intake was stopped is still answered (catch-up from the cursor).
    const wallet = new Wallet();
    const request = wallet.serviceRequest(gatewayPubkey, 'info');
    await wallet.publish(relay, request);
    expect((await wallet.waitReply(relay, request.id)).body).toMatchObject({ status: 'ok' });

    const health = (await (await fetch(`${url}/health`)).json()) as {
      dependencies: Record<string, { status: string; critical: boolean }>;
    };
    expect(health.dependencies[`relay:${relay}`]).toMatchObject({ status: 'up', critical: false });
  });

  it('never logs the private key or a decrypted request', () => {
    const secretHex = Buffer.from(gateway.nostr!.core.keys.active.secret).toString('hex');
    expect(capture.text.length).toBeGreaterThan(0);
    expect(capture.text).not.toContain(secretHex);
    expect(capture.text).not.toContain('"request_id"');
    expect(capture.text).not.toContain('info-1');
  });
});

describe(`NIP-04 turned off (${stackName})`, () => {
  it('answers a NIP-04 request with 1007, in NIP-44', async () => {
    const stack = await createStack();
    const gateway = await startTestGateway({ stack, env: { NOSTR_ALLOW_NIP04: 'false' } });
    try {
      await waitReady(gateway);
      const relay = gateway.nostr!.embeddedRelayUrl!;
      const pubkey = gateway.nostr!.core.keys.active.pubkey;
      const wallet = new Wallet();
      const request = wallet.serviceRequest(pubkey, 'info', {}, { scheme: 'nip04', requestId: 'legacy' });
      await wallet.publish(relay, request);
      const reply = await wallet.waitReply(relay, request.id);
      expect(reply.scheme).toBe('nip44');
      expect(reply.body).toMatchObject({ request_id: 'legacy', status: 'error', error: { code: 1007 } });
      const ok = wallet.serviceRequest(pubkey, 'info');
      await wallet.publish(relay, ok);
      const answer = await wallet.waitReply(relay, ok.id);
      expect(answer.body).toMatchObject({ status: 'ok', result: { encryption: ['nip44'] } });
    } finally {
      await gateway.stop('test over');
      await stack.drop();
    }
  });
});
