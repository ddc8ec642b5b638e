// Exactly once, nothing lost: the embedded relay implementation twice (two local relays), one
// or two gateways sharing the database, a relay killed and restarted, a gateway restarted.
import { afterEach, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/app.ts';
import { ClaimStore } from '../../src/nostr/claims.ts';
import type { EmbeddedRelay } from '../../src/nostr/embedded-relay.ts';
import type { Event } from 'nostr-tools';
import { waitFor } from '../support/wait.ts';
import {
  Wallet,
  createStack,
  stackName,
  startRelay,
  startTestGateway,
  waitReady,
  type SharedStack,
} from './support.ts';

let cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

async function setup(relayCount: number) {
  const stack = await createStack();
  cleanup.push(() => stack.drop());
  const relays: EmbeddedRelay[] = [];
  for (let i = 0; i < relayCount; i += 1) {
    const relay = await startRelay();
    relays.push(relay);
    cleanup.push(() => relay.stop());
  }
  return { stack, relays };
}

async function gatewayOn(stack: SharedStack, relays: readonly string[], env: Record<string, string> = {}) {
  const gateway = await startTestGateway({ stack, relays, env });
  cleanup.push(() => gateway.stop('test over'));
  await waitReady(gateway);
  await waitFor(() => gateway.nostr!.supervisorSubscribedAll(), 10_000, 'every relay subscribed');
  return gateway;
}

async function intakeJobs(gateway: Gateway, eventId?: string): Promise<number> {
  let query = gateway.database.db
    .selectFrom('job_logs')
    .select('job_id')
    .where('job_name', '=', 'nostr.intake');
  if (eventId) query = query.where('job_id', 'like', `nostr-${eventId}-%`);
  return (await query.execute()).length;
}

async function allReplies(wallet: Wallet, urls: readonly string[], request: Event) {
  const found = (await Promise.all(urls.map((url) => wallet.replies(url, request.id)))).flat();
  return new Map(found.map((r) => [r.event.id, r]));
}

describe(`delivery (${stackName})`, () => {
  it('the same request delivered by two relays is executed once and answered once', async () => {
    const { stack, relays } = await setup(2);
    const urls = relays.map((r) => r.url);
    const gateway = await gatewayOn(stack, urls);
    const pubkey = gateway.nostr!.core.keys.active.pubkey;
    const wallet = new Wallet();
    const request = wallet.serviceRequest(pubkey, 'info');
    await Promise.all(urls.map((url) => wallet.publish(url, request)));
    for (const url of urls) await wallet.waitReply(url, request.id);
    const row = await new ClaimStore(gateway.database).status(request.id);
    expect(row).toMatchObject({ status: 'done', attempts: 1 });
    await waitFor(async () => (await intakeJobs(gateway, request.id)) === 1, 5_000, 'the job log');
    expect(await intakeJobs(gateway, request.id)).toBe(1);
    expect((await allReplies(wallet, urls, request)).size).toBe(1);
  });

  it('two gateway instances on one database, both on two relays: every request runs once', async () => {
    const { stack, relays } = await setup(2);
    const urls = relays.map((r) => r.url);
    const first = await gatewayOn(stack, urls);
    const second = await gatewayOn(stack, urls);
    const pubkey = first.nostr!.core.keys.active.pubkey;
    expect(second.nostr!.core.keys.active.pubkey).toBe(pubkey);
    const wallet = new Wallet();
    const requests = Array.from({ length: 8 }, () => wallet.serviceRequest(pubkey, 'info'));
    await Promise.all(requests.flatMap((request) => urls.map((url) => wallet.publish(url, request))));
    for (const request of requests) await wallet.waitReply(urls[0]!, request.id);
    const claims = new ClaimStore(first.database);
    for (const request of requests) {
      expect(await claims.status(request.id)).toMatchObject({ status: 'done', attempts: 1 });
      expect((await allReplies(wallet, urls, request)).size).toBe(1);
    }
    // Both instances received every event; between them they ran one job per request.
    await waitFor(async () => (await intakeJobs(first)) === requests.length, 5_000, 'the job logs');
    const byInstance = await first.database.db
      .selectFrom('processed_events')
      .select(['claimed_by'])
      .where(
        'event_id',
        'in',
        requests.map((r) => r.id),
      )
      .execute();
    expect(byInstance).toHaveLength(requests.length);
    expect(first.nostr!.intake.counters.received).toBeGreaterThanOrEqual(requests.length);
    expect(second.nostr!.intake.counters.received).toBeGreaterThanOrEqual(requests.length);
  });

  it('a relay killed and restarted while requests are published loses none', async () => {
    const { stack, relays } = await setup(2);
    const [a, b] = relays as [EmbeddedRelay, EmbeddedRelay];
    const gateway = await gatewayOn(stack, [a.url, b.url]);
    const pubkey = gateway.nostr!.core.keys.active.pubkey;
    const wallet = new Wallet();
    const connection = () => gateway.nostr!.connection(a.url)!;

    await a.stop();
    await waitFor(() => connection().state !== 'connected', 5_000, 'the gateway to notice relay A is gone');
    // While A is down: requests through B are answered on B…
    const whileDown = Array.from({ length: 3 }, () => wallet.serviceRequest(pubkey, 'info'));
    for (const request of whileDown) await wallet.publish(b.url, request);
    for (const request of whileDown) await wallet.waitReply(b.url, request.id);
    // …and requests sent to A as soon as it is back, before the gateway has reconnected.
    await a.start();
    const afterRestart = Array.from({ length: 3 }, () => wallet.serviceRequest(pubkey, 'info'));
    for (const request of afterRestart) await wallet.publish(a.url, request);
    const missedLive = connection().state !== 'connected';

    // Once A is back, it holds the answer to every request: none was lost.
    for (const request of [...whileDown, ...afterRestart]) await wallet.waitReply(a.url, request.id, 20_000);
    for (const request of afterRestart) {
      expect(await new ClaimStore(gateway.database).status(request.id)).toMatchObject({
        status: 'done',
        attempts: 1,
      });
    }
    expect(connection().snapshot().counters.connects).toBeGreaterThanOrEqual(2);
    console.log(`relay restart: requests published before the gateway reconnected: ${missedLive}`);
  });

  it('a request repeated after the gateway restarts gets the stored reply, not a second run', async () => {
    const { stack, relays } = await setup(2);
    const [a, c] = relays as [EmbeddedRelay, EmbeddedRelay];
    const gateway = await gatewayOn(stack, [a.url]);
    const pubkey = gateway.nostr!.core.keys.active.pubkey;
    const wallet = new Wallet();
    const request = wallet.serviceRequest(pubkey, 'info');
    await wallet.publish(a.url, request);
    const first = await wallet.waitReply(a.url, request.id);
    await gateway.stop('restart');
    cleanup.pop();

    // The restarted gateway also listens on relay C, which never saw the request.
    const restarted = await gatewayOn(stack, [a.url, c.url]);
    await wallet.publish(c.url, request);
    const again = await wallet.waitReply(c.url, request.id);
    expect(again.event.id).toBe(first.event.id);
    expect(again.event.sig).toBe(first.event.sig);
    expect(await new ClaimStore(restarted.database).status(request.id)).toMatchObject({
      status: 'done',
      attempts: 1,
    });
    expect(await intakeJobs(restarted, request.id)).toBe(1);
    expect(restarted.nostr!.intake.counters.replies_resent).toBeGreaterThanOrEqual(1);
  });

  it('an event claimed by a process that died is handed to a worker again and answered', async () => {
    const { stack, relays } = await setup(1);
    const [a] = relays as [EmbeddedRelay];
    // The first gateway only provides the key; then the "crashed" claim is planted.
    const setupGateway = await gatewayOn(stack, [a.url]);
    const pubkey = setupGateway.nostr!.core.keys.active.pubkey;
    const wallet = new Wallet();
    const request = wallet.serviceRequest(pubkey, 'info');
    await new ClaimStore(setupGateway.database).claim(request, 'crashed-instance', Date.now() - 3_600_000);
    await setupGateway.stop('crash');
    cleanup.pop();

    const gateway = await gatewayOn(stack, [a.url], { NOSTR_CLAIM_LEASE_S: '5' });
    const reply = await wallet.waitReply(a.url, request.id, 20_000);
    expect(reply.body).toMatchObject({ status: 'ok' });
    expect(await new ClaimStore(gateway.database).status(request.id)).toMatchObject({
      status: 'done',
      attempts: 2,
    });
  });
});
