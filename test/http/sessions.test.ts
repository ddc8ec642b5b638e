// Session reads over HTTP after a real transfer, the admin-only cleanup, and the rule that no
// HTTP route creates, answers or completes a session (only GETs, and the admin cleanup).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/app.ts';
import { ArkRelayWallet, WalletKey } from '../../src/wallet/index.ts';
import { fund, readyToTransfer } from '../ceremony/support.ts';
import { createStack, startTestGateway, type SharedStack } from '../nostr/support.ts';

const ADMIN_KEY = 'sessions-test-admin-key-0123456789abcdef';

describe('session routes', () => {
  let stack: SharedStack;
  let gateway: Gateway;
  let wallet: ArkRelayWallet;
  let actionId: string;

  const get = async (path: string) => {
    const response = await fetch(`${gateway.httpUrl}${path}`);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are checked by shape below
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };

  beforeAll(async () => {
    stack = await createStack();
    gateway = await startTestGateway({
      stack,
      env: { ADMIN_API_KEY: ADMIN_KEY, ENABLE_METRICS: 'true', METRICS_PORT: '0' },
      roles: ['api', 'worker', 'scheduler'],
    });
    await readyToTransfer(gateway, 10);
    const url = gateway.nostr!.embeddedRelayUrl!;
    wallet = await ArkRelayWallet.connect({
      gatewayPubkey: gateway.nostr!.core.keys.active.pubkey,
      relays: [url],
    });
    await fund(gateway, wallet.pubkey, 500n);
    await wallet.syncState();
    const intent = wallet.transferIntent({
      recipient: WalletKey.generate().pubkey,
      assetId: 'gBTC',
      amount: 100n,
    });
    actionId = intent.content.action_id;
    await wallet.publishIntent(intent);
    expect((await wallet.outcome(actionId, 30_000)).status).toBe('settled');
  }, 90_000);
  afterAll(async () => {
    wallet?.close();
    await gateway?.stop();
    await stack?.drop();
  });

  it('lists, shows and explains a settled session', async () => {
    const list = await get(`/sessions?user=${wallet.npub}&status=confirmed`);
    expect(list.status).toBe(200);
    expect(list.body.sessions).toHaveLength(1);
    const session = list.body.sessions[0];
    expect(session).toMatchObject({
      owner_pubkey: wallet.pubkey,
      action_id: actionId,
      state: 'confirmed',
      current_step: 1,
      steps_completed: [1],
      error: null,
    });
    expect((await get(`/sessions/${session.session_id}`)).body).toEqual(session);
    const status = await get(`/signing/ceremony/${session.session_id}/status`);
    expect(
      status.body.challenges.map((c: { step: number; status: string; type: string }) => [
        c.step,
        c.status,
        c.type,
      ]),
    ).toEqual([[1, 'answered', 'sign_ark_tx']]);
    const challenge = await get(`/challenges/${status.body.challenges[0].challenge_id}`);
    // One step: the owner's Ark-tx input and its checkpoint.
    expect(challenge.body).toMatchObject({ session_id: session.session_id, step: 1, sighash_count: 2 });
    // The PSBTs go to the wallet only.
    expect(JSON.stringify(challenge.body)).not.toMatch(/psbt"/);
  });

  it('answers 404 for unknown ids and 400 for a bad user', async () => {
    expect((await get('/sessions/nope')).status).toBe(404);
    expect((await get('/challenges/nope')).status).toBe(404);
    expect((await get('/sessions?user=not-a-key')).body.error.code).toBe('validation_failed');
  });

  it('counts sessions by state', async () => {
    const stats = (await get('/sessions/stats')).body;
    expect(stats.by_state).toContainEqual({ state: 'confirmed', type: 'transfer:p2p', count: 1 });
    expect(stats.open).toBe(0);
    expect(stats.settled.count).toBe(1);
  });

  it('counts the intent, its steps and its fee in the metrics', async () => {
    const text = await (await fetch(gateway.metricsUrl!)).text();
    const line = (pattern: string) => new RegExp(`^${pattern.replace(/[{}]/g, '\\$&')}`, 'm');
    expect(text).toMatch(line('arkrelay_intents_total{type="transfer:p2p",outcome="accepted"} 1$'));
    expect(text).toMatch(line('arkrelay_intents_total{type="transfer:p2p",outcome="settled"} 1$'));
    expect(text).toMatch(line('arkrelay_fees_collected_total{asset="gBTC"} 10$'));
    expect(text).toMatch(line('arkrelay_ceremony_step_seconds_count{step="1"} 1$'));
    expect(text).not.toMatch(/arkrelay_ceremony_step_seconds_count\{[^}]*step="2"/);
  });

  it('runs the cleanup only with the admin key', async () => {
    const post = (headers: Record<string, string>) =>
      fetch(`${gateway.httpUrl}/sessions/cleanup`, { method: 'POST', headers });
    expect((await post({})).status).toBe(401);
    const ok = await post({ 'x-admin-key': ADMIN_KEY });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ resumed_groups: 0, challenges_deleted: 0 });
  });

  it('has no HTTP route that creates, answers or completes a session', async () => {
    const spec = (await get('/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
    const writes = Object.entries(spec.paths)
      .filter(([path]) => /session|challenge|signing|intent/.test(path))
      .flatMap(([path, methods]) =>
        Object.keys(methods)
          .filter((m) => m !== 'get')
          .map((m) => `${m} ${path}`),
      );
    expect(writes).toEqual(['post /sessions/cleanup']);
  });

  it('reconciles the ledger with the Ark server only with the admin key, and finds nothing to do', async () => {
    const post = (headers: Record<string, string>) =>
      fetch(`${gateway.httpUrl}/admin/ledger/reconcile`, { method: 'POST', headers });
    expect((await post({})).status).toBe(401);
    const ok = await post({ 'x-admin-key': ADMIN_KEY });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({
      transactions: { checked: 0, settled: [], held: [], voided: [] },
      locks: { checked: 0, released: [], held: [] },
      problems: [],
    });
  });
});
