// Wallets that misbehave, on purpose or by accident, must hurt nobody but themselves. A wallet
// that opens a session and never answers leaves nothing at the Ark server, and the inventory
// VTXO it held serves the next user and the next lift; a cancelled transfer sent again with
// another amount, and a transfer retried after it expired, build other Ark transactions and
// settle; the ledger check stays true while sessions are open; an error of the gateway itself
// ends the session with a code instead of leaving it stuck; amounts at the edges are 2004.
import { describe, expect, it } from 'vitest';
import type { ArkBackend } from '../../src/backends/ark/ark-backend.ts';
import { ServiceError, WalletKey } from '../../src/wallet/index.ts';
import { simLightning } from '../lightning/support.ts';
import { waitFor } from '../support/wait.ts';
import { ceremonyRig, type WalletOptions } from './rig.ts';
import { fund } from './support.ts';

describe('hostile and unlucky wallets', () => {
  // ONE inventory VTXO, big enough for everything here: a session that held it and released it
  // wrongly would stop every other transaction of this suite.
  const rig = ceremonyRig({
    env: { LIGHTNING_SWEEP_INTERVAL_MS: '1000' },
    inventory: 1,
    inventorySats: 1_000_000n,
  });
  const funded = (amounts: bigint[], options?: WalletOptions) => rig.funded(amounts, options);
  const gbtc = async (pubkey: string) =>
    (await rig.store.balances(pubkey)).find((b) => b.assetId === 'gBTC') ?? { available: 0n, pending: 0n };
  const sessionOf = (actionId: string) =>
    rig.gateway.database.db
      .selectFrom('signing_sessions')
      .selectAll()
      .where('action_id', '=', actionId)
      .executeTakeFirstOrThrow();
  /** The gateway's inventory VTXOs as the ledger has them (any status). */
  const inventory = async () =>
    (await rig.store.listByOwner(rig.gateway.inventory!.key.pubkey, { limit: 1000 })).filter(
      (v) => v.amount === 0n,
    );
  /** What the simulated Ark server says of these VTXOs. */
  const atServer = async (ids: readonly string[]) =>
    rig.gateway.backends.ark.listVtxos({
      outpoints: ids.map((id) => ({ txid: id.split(':')[0]!, vout: Number(id.split(':')[1]) })),
    });

  it('a wallet that never answers holds the inventory only until its deadline; nothing reaches the Ark server', async () => {
    const mallory = await funded([1_000n], { onChallenge: () => ({ skip: true }) });
    const bob = await funded([1_000n]);
    const intent = mallory.transferIntent({
      recipient: WalletKey.generate().pubkey,
      assetId: 'gBTC',
      amount: 100n,
    });
    await mallory.publishIntent(intent);
    await waitFor(() => (mallory.challenges.length > 0 ? true : undefined), 10_000, 'the challenge');
    // While the session is open its inputs are locked in the ledger — and free at the server.
    const locked = (await inventory()).filter((v) => v.status === 'pending_spend');
    expect(locked).toHaveLength(1);
    const held = await atServer([locked[0]!.vtxoId]);
    expect(held.map((v) => [v.spent, v.pendingBy])).toEqual([[false, undefined]]);
    // The ledger check is true during an ordinary open session.
    expect((await rig.gateway.ledger.check()).ok).toBe(true);
    // Another user meanwhile: the only inventory VTXO is taken, so the gateway says so (5004).
    expect(await gbtc(bob.pubkey)).toMatchObject({ available: 1_000n });
    const early = bob.transferIntent({
      recipient: WalletKey.generate().pubkey,
      assetId: 'gBTC',
      amount: 100n,
    });
    await bob.publishIntent(early);
    expect(await bob.outcome(early.content.action_id, 20_000)).toMatchObject({
      status: 'failed',
      code: 5004,
    });

    expect(await mallory.outcome(intent.content.action_id, 30_000)).toMatchObject({
      status: 'failed',
      code: 3003,
    });
    expect((await sessionOf(intent.content.action_id)).state).toBe('expired');
    expect(await gbtc(mallory.pubkey)).toMatchObject({ available: 1_000n, pending: 0n });
    // The same inventory VTXO now serves bob's transfer, and a paid lift is credited.
    const later = bob.transferIntent({
      recipient: WalletKey.generate().pubkey,
      assetId: 'gBTC',
      amount: 100n,
    });
    await bob.publishIntent(later);
    expect((await bob.outcome(later.content.action_id, 30_000)).status).toBe('settled');
    const lift = (await bob.liftLightning('gBTC', 5_000n)) as { bolt11: string; payment_hash: string };
    await simLightning(rig.gateway).payInvoice(lift.bolt11);
    await waitFor(
      async () => ((await gbtc(bob.pubkey)).available === 1_000n - 110n + 5_000n ? true : undefined),
      20_000,
      'the lift credited',
    );
  }, 90_000);

  it('a transfer cancelled and sent again with another amount builds another Ark tx and settles', async () => {
    const alice = await funded([3_000n], { autoSign: false });
    const recipient = WalletKey.generate().pubkey;
    const first = alice.transferIntent({ recipient, assetId: 'gBTC', amount: 700n });
    await alice.publishIntent(first);
    await waitFor(() => (alice.challenges.length === 1 ? true : undefined), 10_000, 'the first challenge');
    expect(await alice.cancel(first.content.action_id)).toMatchObject({ cancelled: true });
    expect(await alice.outcome(first.content.action_id, 10_000)).toMatchObject({
      status: 'failed',
      code: 3004,
    });
    const second = alice.transferIntent({ recipient, assetId: 'gBTC', amount: 1_300n });
    await alice.publishIntent(second);
    await waitFor(() => (alice.challenges.length === 2 ? true : undefined), 10_000, 'the second challenge');
    const [one, two] = alice.challenges.map((c) => c.challenge);
    // The same coin, the same inventory VTXO, the same recipient: only the commitment differs.
    expect(two!.context.inputs.map((i) => i.vtxo_id)).toEqual(one!.context.inputs.map((i) => i.vtxo_id));
    expect(two!.context.ark_txid).not.toBe(one!.context.ark_txid);
    await alice.respond(two!.session_id, 1);
    expect((await alice.outcome(second.content.action_id, 30_000)).status).toBe('settled');
    expect(await gbtc(recipient)).toMatchObject({ available: 1_300n });
  }, 60_000);

  it('a transfer retried after it expired (same wallet, recipient and amount) settles', async () => {
    let silent = true;
    const carol = await funded([2_000n], { onChallenge: () => (silent ? { skip: true } : undefined) });
    const recipient = WalletKey.generate().pubkey;
    const first = carol.transferIntent({ recipient, assetId: 'gBTC', amount: 500n });
    await carol.publishIntent(first);
    expect(await carol.outcome(first.content.action_id, 30_000)).toMatchObject({
      status: 'failed',
      code: 3003,
    });
    silent = false;
    const retry = carol.transferIntent({ recipient, assetId: 'gBTC', amount: 500n });
    await carol.publishIntent(retry);
    expect((await carol.outcome(retry.content.action_id, 30_000)).status).toBe('settled');
    const [a, b] = [await sessionOf(first.content.action_id), await sessionOf(retry.content.action_id)];
    expect(a.ark_txid).not.toBe(b.ark_txid);
    expect(await gbtc(recipient)).toMatchObject({ available: 500n });
  }, 60_000);

  it('an error of the gateway itself ends the session with 5004 and releases its locks', async () => {
    const dave = await funded([1_000n]);
    const ark = rig.gateway.backends.ark as { buildTransfer: ArkBackend['buildTransfer'] };
    let thrown = 0;
    ark.buildTransfer = async () => {
      thrown++;
      throw new TypeError('a bug in building');
    };
    try {
      const intent = dave.transferIntent({
        recipient: WalletKey.generate().pubkey,
        assetId: 'gBTC',
        amount: 100n,
      });
      await dave.publishIntent(intent);
      expect(await dave.outcome(intent.content.action_id, 20_000)).toMatchObject({
        status: 'failed',
        code: 5004,
      });
      expect(thrown).toBe(1);
    } finally {
      delete (ark as { buildTransfer?: unknown }).buildTransfer;
    }
    expect(await gbtc(dave.pubkey)).toMatchObject({ available: 1_000n, pending: 0n });
    expect((await inventory()).filter((v) => v.status === 'pending_spend')).toEqual([]);
  }, 60_000);

  it.each([
    ['a transfer of 2^63 - 1 (with its fee beyond int64)', '9223372036854775807'],
    ['a transfer beyond int64', '9223372036854775808'],
  ])(
    'refuses %s with 2004 or 1002, never 5004',
    async (_name, amount) => {
      const erin = await funded([100n]);
      const intent = erin.buildIntent({
        type: 'transfer:p2p',
        params: { recipient: WalletKey.generate().pubkey, asset_id: 'gBTC', amount },
        fee: { asset_id: 'gBTC', amount: 10n },
      });
      await erin.publishIntent(intent);
      const outcome = await erin.outcome(intent.content.action_id, 20_000);
      expect(outcome.status).toBe('failed');
      expect([2004, 1002]).toContain(outcome.status === 'failed' ? outcome.code : 0);
      expect(await gbtc(erin.pubkey)).toMatchObject({ available: 100n, pending: 0n });
    },
    40_000,
  );

  it.each([
    ['2^63 - 1 gBTC', '9223372036854775807'],
    ['more than the issuer has left of gBTC', '2100000000000001'],
  ])(
    'refuses a lift of %s with 2004 at once, with no invoice',
    async (_name, amount) => {
      const frank = await funded([]);
      const error = await frank
        .request('lift_lightning', { asset_id: 'gBTC', amount })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ServiceError);
      expect((error as ServiceError).code).toBe(2004);
      const invoices = await rig.gateway.database.db
        .selectFrom('lightning_invoices')
        .select('payment_hash')
        .where('user_pubkey', '=', frank.pubkey)
        .execute();
      expect(invoices).toEqual([]);
    },
    30_000,
  );

  it('a wallet holding more than one sync_state page of VTXOs signs for any of them', async () => {
    const many = await funded([]);
    // 501 VTXOs: more than the largest page (500) the wallet asks for.
    for (let i = 0; i < 501; i++) await fund(rig.gateway, many.pubkey, 20n);
    await many.syncState();
    expect(many.vtxos.list()).toHaveLength(501);
    // The VTXO that sorts last by id sits on the second page: split it.
    const last = (await rig.store.listByOwner(many.pubkey, { limit: 1000 }))
      .map((v) => v.vtxoId)
      .sort()
      .at(-1)!;
    const intent = many.splitIntent({ vtxoId: last, amounts: [5n, 5n] });
    await many.publishIntent(intent);
    expect((await many.outcome(intent.content.action_id, 30_000)).status).toBe('settled');
  }, 120_000);
});
