// Lands end to end: the reference wallet signs a `lightning:land`, the ceremony spends its VTXOs
// to the gateway, and the gateway pays an invoice of the simulated external node — once. Success
// announces the preimage; a definitive failure refunds exactly once (31341 5003); a payment
// interrupted by a shutdown is re-attached by the next process and settles without a second
// payment; bad invoices are refused before anything is locked. The ledger invariant (lands
// counted) holds after every scenario.
import { randomBytes } from 'node:crypto';
import { hex } from '@scure/base';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Gateway } from '../../src/app.ts';
import { encodeBolt11 } from '../../src/backends/lnd/bolt11.ts';
import { LightningSimulator } from '../../src/backends/lnd/simulator.ts';
import { LIGHTNING_SWEEP_TASK } from '../../src/lightning/tasks.ts';
import { VtxoStore } from '../../src/ledger/vtxo-store.ts';
import { ArkRelayWallet } from '../../src/wallet/index.ts';
import { addInventory, fund, gbtcReady } from '../ceremony/support.ts';
import { createStack, stackName, waitReady, type SharedStack } from '../nostr/support.ts';
import { expectLedgerConsistent } from '../support/ledger.ts';
import { waitFor } from '../support/wait.ts';
import {
  countCalls,
  movements,
  outboxEvents,
  simLightning,
  startLightningGateway,
  waitForPaymentStatus,
} from './support.ts';

describe(`Lightning lands (${stackName})`, () => {
  let stack: SharedStack;
  let gateway: Gateway | undefined;
  let store: VtxoStore;
  const wallets: ArkRelayWallet[] = [];

  async function start(): Promise<Gateway> {
    // Sweeps as often as the configuration allows: "nothing more happens" is checked over sweeps.
    gateway = await startLightningGateway(stack, { LIGHTNING_SWEEP_INTERVAL_MS: '500' });
    await waitReady(gateway);
    store = new VtxoStore(gateway.database);
    return gateway;
  }
  async function funded(g: Gateway, amount: bigint) {
    const w = await ArkRelayWallet.connect({
      gatewayPubkey: g.nostr!.core.keys.active.pubkey,
      relays: [g.nostr!.embeddedRelayUrl!],
    });
    wallets.push(w);
    await fund(g, w.pubkey, amount);
    await w.syncState();
    return w;
  }
  const gbtc = async (pubkey: string) =>
    (await store.balances(pubkey)).find((b) => b.assetId === 'gBTC') ?? { available: 0n, pending: 0n };
  /** Resolves once `count` Lightning sweeps that started at or after `from` have completed. */
  const sweptSince = (g: Gateway, from: number, count: number) =>
    waitFor(
      async () => {
        const done = await g.database.db
          .selectFrom('job_logs')
          .select('id')
          .where('job_name', '=', LIGHTNING_SWEEP_TASK)
          .where('status', '=', 'completed')
          .where('started_at', '>=', from)
          .execute();
        return done.length >= count || undefined;
      },
      15_000,
      `${count} Lightning sweeps`,
    );
  const sessionsOf = (g: Gateway, actionId: string) =>
    g.database.db
      .selectFrom('signing_sessions')
      .select('session_id')
      .where('action_id', '=', actionId)
      .execute();

  beforeAll(async () => {
    stack = await createStack();
    const g = await start();
    await gbtcReady(g);
    await addInventory(g, 60);
  }, 90_000);
  afterEach(async () => {
    if (gateway) {
      simLightning(gateway).setPaymentBehaviour({ outcome: 'succeed', delayMs: 0 });
      await expectLedgerConsistent(gateway.database);
    }
  });
  afterAll(async () => {
    for (const w of wallets) w.close();
    await gateway?.stop();
    await stack?.drop();
  });

  it('pays the invoice once, announces the preimage and takes the units out of circulation', async () => {
    const g = gateway!;
    const payments = countCalls(g, 'payInvoice');
    const w = await funded(g, 10_000n);
    const invoice = await simLightning(g).createExternalInvoice({ amountMsat: 3_000_000n, memo: 'coffee' });
    const intent = w.landIntent({ assetId: 'gBTC', amount: 3_000n, invoice: invoice.paymentRequest });
    await w.publishIntent(intent);
    const outcome = await w.outcome(intent.content.action_id, 40_000);
    if (outcome.status !== 'settled') throw new Error(`land failed: ${JSON.stringify(outcome)}`);
    const lightning = (outcome.confirmation as unknown as { lightning: Record<string, string> }).lightning;
    expect(lightning).toMatchObject({ payment_hash: invoice.paymentHash, preimage: invoice.preimage });
    expect(outcome.confirmation.action_ids).toEqual([intent.content.action_id]);
    const row = await waitForPaymentStatus(g, invoice.paymentHash, 'succeeded');
    expect(row.preimage).toBe(invoice.preimage);
    // 3 000 landed + 3 fee (0.1 %) left the user.
    expect(await gbtc(w.pubkey)).toMatchObject({ available: 6_997n, pending: 0n });
    const landed = await movements(g, 'land', invoice.paymentHash);
    expect(landed.map((m) => String(m.amount))).toEqual(['3000']);
    // The land VTXO is inventory now: the gateway's sats, no units.
    const landVtxo = await store.get(String(landed[0]!.vtxo_id));
    expect([landVtxo?.status, landVtxo?.amount]).toEqual(['available', 0n]);
    // A couple of sweeps later: nothing more happens.
    await sweptSince(g, Date.now(), 2);
    expect(payments.count).toBe(1);
    const http = await fetch(`${g.httpUrl}/lightning/payments/${invoice.paymentHash}`);
    expect(await http.json()).toMatchObject({
      status: 'succeeded',
      preimage: invoice.preimage,
      amount: '3000',
    });
    const status = (await (await fetch(`${g.httpUrl}/lightning/status`)).json()) as Record<string, unknown>;
    expect(status).toMatchObject({ mode: 'sim', monitor: { running: true }, node: { network: 'regtest' } });
  }, 60_000);

  it('refunds a land whose payment fails for good exactly once (31341 5003)', async () => {
    const g = gateway!;
    const payments = countCalls(g, 'payInvoice');
    simLightning(g).setPaymentBehaviour({ outcome: 'fail', failureReason: 'no_route' });
    const w = await funded(g, 2_000n);
    const invoice = await simLightning(g).createExternalInvoice({ amountMsat: 1_000_000n });
    const intent = w.landIntent({ assetId: 'gBTC', amount: 1_000n, invoice: invoice.paymentRequest });
    await w.publishIntent(intent);
    const outcome = await w.outcome(intent.content.action_id, 40_000);
    expect(outcome).toMatchObject({ status: 'failed', code: 5003 });
    const row = await waitForPaymentStatus(g, invoice.paymentHash, 'refunded');
    expect(row.failure_reason).toBe('no_route');
    // A couple of sweeps later: still one refund, one notice, one payment attempt.
    await sweptSince(g, Date.now(), 2);
    const refunds = await g.database.db
      .selectFrom('ark_transactions')
      .select('ark_txid')
      .where('tx_kind', '=', 'refund')
      .execute();
    expect(refunds.filter((r) => row.refund_vtxo_id!.startsWith(r.ark_txid))).toHaveLength(1);
    const notices = (await outboxEvents(g, 31341)).filter((e) =>
      e.tags.some((t) => t[0] === 'e' && t[1] === intent.event.id),
    );
    expect(notices).toHaveLength(1);
    expect(payments.count).toBe(1);
    // The landed 1 000 came back as a new VTXO on the user's script; the 1 fee stays with the gateway.
    expect(await gbtc(w.pubkey)).toMatchObject({ available: 1_999n, pending: 0n });
    const refund = await store.get(row.refund_vtxo_id!);
    expect([refund?.ownerPubkey, refund?.amount, refund?.status]).toEqual([w.pubkey, 1_000n, 'assigned']);
    expect(await movements(g, 'land', invoice.paymentHash)).toHaveLength(0);
    // The refund exists on the Ark server, spendable.
    expect(
      await g.backends.ark.listVtxos({ outpoints: [{ txid: refund!.txid, vout: refund!.vout }] }),
    ).toHaveLength(1);
  }, 60_000);

  it('re-attaches a payment in flight across a restart and settles it without paying again', async () => {
    let g = gateway!;
    // Every simulated node instance, the restarted process's from its first moment, counted.
    const pays = vi.spyOn(LightningSimulator.prototype, 'payInvoice');
    const tracks = vi.spyOn(LightningSimulator.prototype, 'trackPayment');
    try {
      // The payment takes 6 s to route: long enough to stop the gateway in the middle of it.
      simLightning(g).setPaymentBehaviour({ outcome: 'succeed', delayMs: 6_000 });
      const w = await funded(g, 5_000n);
      const invoice = await simLightning(g).createExternalInvoice({ amountMsat: 2_000_000n });
      const intent = w.landIntent({ assetId: 'gBTC', amount: 2_000n, invoice: invoice.paymentRequest });
      await w.publishIntent(intent);
      await waitForPaymentStatus(g, invoice.paymentHash, 'in_flight', 40_000);
      await waitFor(() => pays.mock.calls.length === 1 || undefined, 10_000, 'the payment to be sent');
      await g.stop();
      gateway = undefined;
      const tracksBefore = tracks.mock.calls.length;
      g = await start();
      const row = await waitForPaymentStatus(g, invoice.paymentHash, 'succeeded', 40_000);
      expect(row.preimage).toBe(invoice.preimage);
      // Re-attached by looking the payment up, never by sending it again.
      expect(tracks.mock.calls.length).toBeGreaterThan(tracksBefore);
      expect(pays.mock.calls.map((c) => c[0].paymentRequest)).toEqual([invoice.paymentRequest]);
      expect((await movements(g, 'land', invoice.paymentHash)).map((m) => String(m.amount))).toEqual([
        '2000',
      ]);
      const confirmations = (await outboxEvents(g, 31340)).filter((e) =>
        e.content.includes(invoice.paymentHash),
      );
      expect(confirmations).toHaveLength(1);
      // The land's Ark tx committed to its allocation: the land output is the gateway's.
      const { commitment, created } = JSON.parse(confirmations[0]!.content) as {
        commitment: { preimage: string };
        created: { vtxo_id: string; owner: string; amount: string }[];
      };
      const committed = JSON.parse(commitment.preimage) as { outputs: { owner: string; amount: string }[] };
      expect(committed.outputs).toContainEqual(
        expect.objectContaining({ owner: g.inventory!.key.pubkey, amount: '2000' }),
      );
      expect(created.length).toBeGreaterThan(0);
      expect(await new VtxoStore(g.database).balances(w.pubkey)).toEqual([
        expect.objectContaining({ assetId: 'gBTC', available: 2_998n, pending: 0n }),
      ]);
    } finally {
      pays.mockRestore();
      tracks.mockRestore();
    }
  }, 120_000);

  describe('refuses a bad invoice before anything is locked', () => {
    const key = hex.encode(randomBytes(32));
    const fake = (
      network: 'bitcoin' | 'regtest',
      amountMsat: bigint,
      timestamp: number,
      expirySeconds = 3600,
    ) =>
      encodeBolt11(
        {
          network,
          amountMsat,
          paymentHash: hex.encode(randomBytes(32)),
          paymentSecret: hex.encode(randomBytes(32)),
          memo: 'x',
          timestamp,
          expirySeconds,
        },
        key,
      );
    const now = () => Math.floor(Date.now() / 1000);
    it.each([
      ['for another network', 1002, () => fake('bitcoin', 500_000n, now())],
      ['asking another amount', 1002, () => fake('regtest', 499_000n, now())],
      ['expired', 1003, () => fake('regtest', 500_000n, now() - 7_200, 600)],
      ['that is garbage', 1002, () => 'lnbcrt5u1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq'],
    ])(
      'an invoice %s (%i)',
      async (_name, code, invoice) => {
        const g = gateway!;
        const w = await funded(g, 1_000n);
        const intent = w.landIntent({ assetId: 'gBTC', amount: 500n, invoice: invoice() });
        await w.publishIntent(intent);
        expect(await w.outcome(intent.content.action_id, 20_000)).toMatchObject({ status: 'failed', code });
        expect(await gbtc(w.pubkey)).toMatchObject({ available: 1_000n, pending: 0n });
        expect(await sessionsOf(g, intent.content.action_id)).toHaveLength(0);
        const locked = await g.database.db
          .selectFrom('vtxos')
          .select('vtxo_id')
          .where('owner_pubkey', '=', w.pubkey)
          .where('status', '!=', 'assigned')
          .execute();
        expect(locked).toHaveLength(0);
      },
      40_000,
    );
  });
});
