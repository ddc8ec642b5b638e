// The wallet over a real relay (the embedded one, on an ephemeral port): its intent is published
// and visible to anyone, a service request makes an encrypted round trip to a fake gateway,
// sync_state is read page after page, a one-step challenge is verified and answered with
// signatures for the Ark tx and its checkpoint that the gateway side can check, a lying one is
// refused and never answered, and confirmations and failures decide outcomes.
import { join } from 'node:path';
import { schnorr } from '@noble/curves/secp256k1.js';
import { hex } from '@scure/base';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KIND, firstTag, type NostrEvent } from '../../src/domain/nostr-protocol.ts';
import { createLogger } from '../../src/logging.ts';
import { EmbeddedRelay } from '../../src/nostr/embedded-relay.ts';
import { WalletKey } from '../../src/wallet/keys.ts';
import { RelayPool } from '../../src/wallet/relays.ts';
import { ServiceError, ServiceTimeoutError } from '../../src/wallet/service.ts';
import { ArkRelayWallet } from '../../src/wallet/wallet.ts';
import { tempDir } from '../support/cli.ts';
import { waitFor } from '../support/wait.ts';
import {
  alice,
  bob,
  buildTx,
  challengeJson,
  commitmentOf,
  fund,
  gateway,
  gatewaySighashes,
  key,
  mallory,
  startSim,
  type CtxOutput,
  type Sim,
} from './fixtures.ts';

/** A ledger of `count` VTXOs served like the gateway's sync_state: by id, `limit` at most 500. */
function syncPage(count: number, params: Record<string, unknown>) {
  const ids = Array.from({ length: count }, (_, i) => `${i.toString(16).padStart(64, '0')}:0`);
  const limit = Math.min(Number(params.limit ?? 200), 500);
  const after = typeof params.cursor === 'string' ? ids.indexOf(params.cursor) + 1 : 0;
  const page = ids.slice(after, after + limit);
  return {
    pubkey: alice.pub,
    vtxos: page.map((vtxo_id) => ({
      vtxo_id,
      asset_id: 'gBTC',
      amount: '1',
      sats: '330',
      status: 'assigned',
    })),
    next_cursor: after + limit < ids.length ? page[page.length - 1] : null,
    balances: [{ asset_id: 'gBTC', available: String(count), pending: '0' }],
    assets: { gBTC: { name: 'gBTC' } },
    sessions: [],
  };
}

/** The gateway's side, written with the wallet's transport but its own key and logic. */
class FakeGateway {
  readonly key = WalletKey.from(gateway.priv);
  readonly pool: RelayPool;
  readonly responses: NostrEvent[] = [];
  readonly syncRequests: Record<string, unknown>[] = [];
  vtxoCount = 0;
  #stop: (() => void) | undefined;
  #closed = false;

  constructor(url: string) {
    this.pool = new RelayPool([url]);
  }

  async start(): Promise<void> {
    await this.pool.connect();
    this.#stop = this.pool.subscribe(
      [{ kinds: [KIND.SERVICE_REQUEST, KIND.SIGNING_RESPONSE], '#p': [this.key.pubkey] }],
      (event) =>
        void this.#on(event).catch((error: unknown) => {
          // A reply still on its way when the test closed the fake has nowhere to go.
          if (!this.#closed) throw error;
        }),
    );
  }

  async #on(event: NostrEvent): Promise<void> {
    if (event.kind === KIND.SIGNING_RESPONSE) {
      this.responses.push(event);
      return;
    }
    const body = JSON.parse(this.key.decrypt(event.pubkey, event.content)) as {
      request_id: string;
      action: string;
      params: Record<string, unknown>;
    };
    if (body.action === 'silent') return;
    if (body.action === 'sync_state') this.syncRequests.push(body.params);
    const reply =
      body.action === 'sync_state'
        ? { request_id: body.request_id, status: 'ok', result: syncPage(this.vtxoCount, body.params) }
        : body.action === 'cancel'
          ? {
              request_id: body.request_id,
              status: 'error',
              error: { code: 1002, message: 'too late to cancel' },
            }
          : {
              request_id: body.request_id,
              status: 'ok',
              result: { action: body.action, params: body.params },
            };
    await this.publish(KIND.SERVICE_RESPONSE, event.pubkey, reply, [
      ['e', event.id],
      ['d', `response:${event.id}`],
    ]);
  }

  async publish(
    kind: number,
    to: string,
    content: unknown,
    tags: string[][],
    plain = false,
  ): Promise<NostrEvent> {
    const event = this.key.signEvent({
      kind,
      created_at: Math.floor(Date.now() / 1000),
      tags: [['p', to], ...tags],
      content: plain ? JSON.stringify(content) : this.key.encrypt(to, JSON.stringify(content)),
    });
    await this.pool.publish(event);
    return event;
  }

  close(): void {
    this.#closed = true;
    this.#stop?.();
    this.pool.close();
  }
}

let relay: EmbeddedRelay;
let fake: FakeGateway;
let wallet: ArkRelayWallet;

beforeEach(async () => {
  relay = new EmbeddedRelay({
    file: join(tempDir('arkrelay-wallet-relay-'), 'relay.sqlite'),
    port: 0,
    logger: createLogger({ level: 'silent' }),
  });
  await relay.start();
  fake = new FakeGateway(relay.url);
  await fake.start();
  wallet = await ArkRelayWallet.connect({
    key: alice.priv,
    gatewayPubkey: gateway.pub,
    relays: [relay.url],
    requestTimeoutMs: 5_000,
  });
});

afterEach(async () => {
  wallet.close();
  fake.close();
  await relay.stop();
});

describe('wallet over the embedded relay', () => {
  it('publishes a signed intent anyone can read back', async () => {
    const intent = wallet.transferIntent({
      recipient: bob.pub,
      assetId: 'gBTC',
      amount: 600n,
      actionId: 'visible-1',
    });
    expect(intent.event.tags).toEqual([
      ['p', gateway.pub],
      ['d', 'visible-1'],
      ['expiration', String(intent.content.expires_at)],
    ]);
    await wallet.publishIntent(intent);
    const reader = new RelayPool([relay.url]);
    await reader.connect();
    const found = await reader.query([
      { kinds: [KIND.ACTION_INTENT], '#p': [gateway.pub], '#d': ['visible-1'] },
    ]);
    reader.close();
    expect(found.map((e) => e.id)).toEqual([intent.event.id]);
    expect(JSON.parse(found[0]!.content)).toEqual({
      v: 1,
      action_id: 'visible-1',
      type: 'transfer:p2p',
      params: { recipient: bob.pub, asset_id: 'gBTC', amount: 600 },
      fee: { asset_id: 'gBTC', amount: 10 },
      expires_at: intent.content.expires_at,
    });
  });

  it('makes an encrypted request round trip and surfaces errors and timeouts', async () => {
    const sent = await wallet.sendRequest('lift_lightning', { asset_id: 'gBTC', amount: 5 });
    // On the relay the request is ciphertext, addressed to the gateway.
    expect(sent.event.content).not.toContain('lift_lightning');
    expect(firstTag(sent.event, 'p')).toBe(gateway.pub);
    expect(firstTag(sent.event, 'd')).toBe(sent.requestId);
    expect(await sent.result).toEqual({ action: 'lift_lightning', params: { asset_id: 'gBTC', amount: 5 } });
    expect(await wallet.submitBatch('b-1', [])).toEqual({
      action: 'submit_batch',
      params: { batch_id: 'b-1', intents: [] },
    });
    const error = await wallet.cancel('x').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ServiceError);
    expect((error as ServiceError).code).toBe(1002);
    await expect(wallet.request('silent', {}, { timeoutMs: 300 })).rejects.toBeInstanceOf(
      ServiceTimeoutError,
    );
  });

  it('reads every page of sync_state, so it knows each VTXO it owns', async () => {
    fake.vtxoCount = 1_234;
    const state = await wallet.syncState();
    expect(state.vtxos).toHaveLength(1_234);
    expect(wallet.vtxos.list()).toHaveLength(1_234);
    // The last VTXO, on the third page, is one the wallet will sign for.
    expect(wallet.vtxos.get(`${(1_233).toString(16).padStart(64, '0')}:0`)).toMatchObject({ amount: 1n });
    // The largest pages the gateway serves, each continuing where the last ended.
    expect(fake.syncRequests).toEqual([
      { limit: 500 },
      { limit: 500, cursor: `${(499).toString(16).padStart(64, '0')}:0` },
      { limit: 500, cursor: `${(999).toString(16).padStart(64, '0')}:0` },
    ]);
    expect(state.raw).toMatchObject({ next_cursor: null, balances: [{ available: '1234' }] });
    expect(state.raw.vtxos).toHaveLength(1_234);
  });

  describe('ceremony', () => {
    let sim: Sim;
    let v1: string;
    beforeEach(async () => {
      sim = startSim();
      v1 = await fund(sim, alice, 2000n);
      wallet.vtxos.add({ vtxoId: v1, assetId: 'gBTC', amount: 1000n, sats: 2000n });
    });
    afterEach(() => sim.dispose());

    const input = () => ({ vtxo_id: v1, owner: alice.pub, asset_id: 'gBTC', amount: 1000n, sats: 2000n });
    const outputs = (recipient = bob.pub): CtxOutput[] => [
      { owner: recipient, asset_id: 'gBTC', amount: 600n, sats: 1000n, role: 'recipient' },
      { owner: alice.pub, asset_id: 'gBTC', amount: 390n, sats: 660n, role: 'change' },
      { owner: gateway.pub, asset_id: 'gBTC', amount: 10n, sats: 340n, role: 'fee' },
    ];

    async function challenge(
      actionId: string,
      intentEventId: string,
      sessionId: string,
      psbtOutputs: CtxOutput[],
    ) {
      // The Ark tx commits to the honest allocation, whatever it really pays.
      const built = await buildTx(sim, [input()], psbtOutputs, actionId, commitmentOf([actionId], outputs()));
      const json = challengeJson(built, {
        sessionId,
        intentActionId: actionId,
        server: sim.server,
        inputs: [input()],
        outputs: outputs(),
      });
      const event = await fake.publish(KIND.SIGNING_CHALLENGE, alice.pub, json, [
        ['e', intentEventId],
        ['d', `${sessionId}:1`],
        ['expiration', String(json.expires_at)],
      ]);
      return { built, event };
    }

    it('answers an honest challenge at once for the Ark tx and its checkpoint, over the gateway’s sighashes', async () => {
      const intent = wallet.transferIntent({
        recipient: bob.pub,
        assetId: 'gBTC',
        amount: 600n,
        actionId: 'pay-1',
      });
      const { built, event } = await challenge('pay-1', intent.event.id, 's-honest', outputs());
      await waitFor(() => fake.responses.length === 1, 5_000, 'the 31512 response');
      const response = fake.responses[0]!;
      expect(response.pubkey).toBe(alice.pub);
      expect(firstTag(response, 'e')).toBe(event.id);
      expect(firstTag(response, 'd')).toMatch(/^s-honest:1:[0-9a-f-]{36}$/);
      const body = JSON.parse(fake.key.decrypt(alice.pub, response.content)) as {
        session_id: string;
        step: number;
        signatures: { psbt_index: number; input_index: number; sig: string }[];
        payload_ref: string;
      };
      expect(body).toMatchObject({ session_id: 's-honest', step: 1 });
      // One answer: the Ark tx's input 0 and checkpoint 0's input 0, each naming its PSBT.
      const owed = gatewaySighashes([built.arkPsbt, ...built.checkpointPsbts], [input()], alice.pub);
      expect(body.signatures.map((s) => [s.psbt_index, s.input_index])).toEqual([
        [0, 0],
        [1, 0],
      ]);
      for (const [i, slot] of owed.entries()) {
        expect(
          schnorr.verify(hex.decode(body.signatures[i]!.sig), hex.decode(slot.digest), hex.decode(alice.pub)),
        ).toBe(true);
      }
    });

    it('refuses a challenge paying another recipient and sends nothing', async () => {
      const refusals: string[] = [];
      wallet.on('refused', (r) => refusals.push(r.reason));
      const intent = wallet.transferIntent({
        recipient: bob.pub,
        assetId: 'gBTC',
        amount: 600n,
        actionId: 'pay-2',
      });
      await challenge('pay-2', intent.event.id, 's-liar', outputs(mallory.pub));
      await waitFor(() => refusals.length === 1, 5_000, 'the refusal');
      expect(refusals[0]).toMatch(/not locked to/);
      // An honest challenge published after it is answered, so the liar's silence is real.
      await challenge('pay-2', intent.event.id, 's-after', outputs());
      await waitFor(() => fake.responses.length === 1, 5_000, 'the later response');
      expect(firstTag(fake.responses[0]!, 'd')).toMatch(/^s-after:1:[0-9a-f-]{36}$/);
    });

    it('lets a test sign with another key or a wrong digest', async () => {
      wallet.close();
      const other = key(9);
      let calls = 0;
      wallet = await ArkRelayWallet.connect({
        key: alice.priv,
        gatewayPubkey: gateway.pub,
        relays: [relay.url],
        onChallenge: () =>
          calls++ === 0 ? { signingKey: other.priv } : { digest: () => new Uint8Array(32).fill(1) },
      });
      wallet.vtxos.add({ vtxoId: v1, assetId: 'gBTC', amount: 1000n, sats: 2000n });
      const intent = wallet.transferIntent({
        recipient: bob.pub,
        assetId: 'gBTC',
        amount: 600n,
        actionId: 'pay-3',
      });
      const { built } = await challenge('pay-3', intent.event.id, 's-k1', outputs());
      await challenge('pay-3', intent.event.id, 's-k2', outputs());
      await waitFor(() => fake.responses.length === 2, 5_000, 'two responses');
      const owed = gatewaySighashes([built.arkPsbt, ...built.checkpointPsbts], [input()], alice.pub);
      for (const response of fake.responses) {
        const body = JSON.parse(fake.key.decrypt(alice.pub, response.content)) as {
          signatures: { sig: string }[];
        };
        // None verifies under Alice's key over the real digests: the gateway must reject both.
        expect(body.signatures).toHaveLength(owed.length);
        owed.forEach((slot, i) =>
          expect(
            schnorr.verify(
              hex.decode(body.signatures[i]!.sig),
              hex.decode(slot.digest),
              hex.decode(alice.pub),
            ),
          ).toBe(false),
        );
      }
    });
  });

  it('settles on a confirmation and fails on a failure notice', async () => {
    const paid = wallet.transferIntent({
      recipient: bob.pub,
      assetId: 'gBTC',
      amount: 600n,
      actionId: 'out-1',
    });
    const failed = wallet.transferIntent({
      recipient: bob.pub,
      assetId: 'gBTC',
      amount: 600n,
      actionId: 'out-2',
    });
    const settledP = wallet.outcome('out-1', 5_000);
    const failedP = wallet.outcome('out-2', 5_000);
    const created = { vtxo_id: `${'cd'.repeat(32)}:1`, owner: alice.pub, asset_id: 'gBTC', amount: '390' };
    await fake.publish(
      KIND.CONFIRMATION,
      alice.pub,
      {
        action_ids: ['out-1'],
        ark_txid: 'cd'.repeat(32),
        spent: [],
        created: [created],
        fees: [],
        settled_at: 1,
      },
      [
        ['e', paid.event.id],
        ['d', `confirmation:${'cd'.repeat(32)}`],
      ],
      true,
    );
    // 3002 leaves the step open: it does not decide the outcome; 2001 does.
    await fake.publish(
      KIND.FAILURE_NOTICE,
      alice.pub,
      { action_id: 'out-2', code: 3002, message: 'bad sig', details: {} },
      [
        ['e', failed.event.id],
        ['d', 'failure:x'],
      ],
    );
    await fake.publish(
      KIND.FAILURE_NOTICE,
      alice.pub,
      { action_id: 'out-2', code: 2001, message: 'insufficient balance', details: {} },
      [
        ['e', failed.event.id],
        ['d', 'failure:y'],
      ],
    );
    const settled = await settledP;
    expect(settled.status).toBe('settled');
    expect(settled.status === 'settled' && settled.confirmation.ark_txid).toBe('cd'.repeat(32));
    expect(await failedP).toMatchObject({ status: 'failed', code: 2001 });
    // The confirmation taught the wallet its new VTXO.
    expect(wallet.vtxos.get(created.vtxo_id)).toEqual({
      vtxoId: created.vtxo_id,
      assetId: 'gBTC',
      amount: 390n,
    });
  });
});
