// An event that arrives while the database cannot claim it is not lost: intake keeps it (not as
// "seen", so a relay resending it is welcome) and claims it once the database answers again. The
// database being away is played by making the claim store throw, as a lost connection does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/app.ts';
import type { ClaimStore } from '../../src/nostr/claims.ts';
import { createStack, stackName, startTestGateway, waitReady, Wallet, type SharedStack } from './support.ts';
import { waitFor } from '../support/wait.ts';

describe(`intake while the database is away (${stackName})`, () => {
  let stack: SharedStack;
  let gateway: Gateway;

  beforeAll(async () => {
    stack = await createStack();
    gateway = await startTestGateway({ stack });
    await waitReady(gateway);
  });
  afterAll(async () => {
    await gateway?.stop('test over');
    await stack?.drop();
  });

  it('answers a request that arrived during the outage once the database is back, once', async () => {
    const relay = gateway.nostr!.embeddedRelayUrl!;
    const claims = gateway.nostr!.core.claims as ClaimStore & { claim: ClaimStore['claim'] };
    const wallet = new Wallet();
    const request = wallet.serviceRequest(gateway.nostr!.core.keys.active.pubkey, 'info', {});
    let refused = 0;
    claims.claim = async () => {
      refused++;
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:3306'), { code: 'ECONNREFUSED' });
    };
    try {
      await wallet.publish(relay, request);
      await waitFor(() => (refused >= 2 ? true : undefined), 10_000, 'the claim tried again');
      expect(gateway.nostr!.intake.waiting).toBe(1);
      expect(await wallet.replies(relay, request.id)).toEqual([]);
    } finally {
      delete (claims as { claim?: unknown }).claim;
    }
    const reply = await wallet.waitReply(relay, request.id, 20_000);
    expect(reply.body).toMatchObject({ status: 'ok' });
    expect(gateway.nostr!.intake.waiting).toBe(0);
    // Handled once: one reply, one claim row.
    expect(await wallet.replies(relay, request.id)).toHaveLength(1);
  }, 40_000);
});
