// Lifts end to end: the reference wallet asks `lift_lightning`, an external payer pays the
// invoice on the simulated node, and the gateway credits a real Ark VTXO exactly once — when the
// settlement is delivered twice, when it happens while the gateway is down, and both. The ledger
// invariant (lifts counted) holds after every scenario.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/app.ts';
import { simPay } from '../../src/backends/sim/cli.ts';
import { advanceCursor } from '../../src/lightning/invoice-monitor.ts';
import { VtxoStore } from '../../src/ledger/vtxo-store.ts';
import { ArkRelayWallet } from '../../src/wallet/index.ts';
import { addInventory, gbtcReady } from '../ceremony/support.ts';
import { createStack, stackName, waitReady, type SharedStack } from '../nostr/support.ts';
import { expectLedgerConsistent } from '../support/ledger.ts';
import { waitFor } from '../support/wait.ts';
import {
  movements,
  outboxEvents,
  simLightning,
  startLightningGateway,
  waitForInvoiceStatus,
} from './support.ts';

interface LiftReply {
  bolt11: string;
  payment_hash: string;
  expires_at: number;
  amount: string;
  amount_msat: string;
  asset_id: string;
}

describe(`Lightning lifts (${stackName})`, () => {
  let stack: SharedStack;
  let gateway: Gateway | undefined;
  const wallets: ArkRelayWallet[] = [];

  async function start(): Promise<Gateway> {
    gateway = await startLightningGateway(stack, { ENABLE_METRICS: 'true', METRICS_PORT: '0' });
    await waitReady(gateway);
    return gateway;
  }
  async function wallet(g: Gateway) {
    const w = await ArkRelayWallet.connect({
      gatewayPubkey: g.nostr!.core.keys.active.pubkey,
      relays: [g.nostr!.embeddedRelayUrl!],
    });
    wallets.push(w);
    return w;
  }
  /** What a lift left behind: the user's VTXOs of the lift, its movements, its announcements. */
  async function creditsOf(g: Gateway, owner: string, hash: string) {
    const vtxos = await new VtxoStore(g.database).listByOwner(owner, { statuses: ['assigned'] });
    const lifts = await movements(g, 'lift', hash);
    const confirmations = (await outboxEvents(g, 31340)).filter((e) => e.content.includes(hash));
    return { vtxos, lifts, confirmations };
  }

  beforeAll(async () => {
    stack = await createStack();
    const g = await start();
    await gbtcReady(g);
    await addInventory(g, 40);
  }, 90_000);
  afterEach(async () => {
    if (gateway) await expectLedgerConsistent(gateway.database);
  });
  afterAll(async () => {
    for (const w of wallets) w.close();
    await gateway?.stop();
    await stack?.drop();
  });

  it('credits a paid invoice once although the settlement arrives twice', async () => {
    const g = gateway!;
    const w = await wallet(g);
    const paid: Record<string, unknown>[] = [];
    w.on('notification', ({ body }) => paid.push(body));
    const reply = (await w.liftLightning('gBTC', 5_000n)) as LiftReply;
    expect(reply).toMatchObject({ amount: '5000', amount_msat: '5000000', asset_id: 'gBTC' });
    expect(reply.bolt11.startsWith('lnbcrt')).toBe(true);
    const settled = await simLightning(g).payInvoice(reply.bolt11);
    const row = await waitForInvoiceStatus(g, reply.payment_hash, 'credited');
    // The same settlement again, twice at once, and once more replayed by a subscription that
    // resumes from before it (as after a restart that lost the cursor's last step).
    await Promise.all([g.lightning!.lift.onInvoice(settled), g.lightning!.lift.onInvoice(settled)]);
    await g.database.db.updateTable('subscription_cursors').set({ settle_index: 0 }).execute();
    await advanceCursor(g.database, settled.settleIndex - 1n, Date.now());
    await g.lightning!.monitor.stop();
    await g.lightning!.monitor.start();
    await waitFor(
      () => (g.lightning!.monitor.details().handled as number) > 0 || undefined,
      10_000,
      'the replay',
    );
    const { vtxos, lifts, confirmations } = await creditsOf(g, w.pubkey, reply.payment_hash);
    expect(vtxos.map((v) => [v.assetId, v.amount, v.vtxoId])).toEqual([
      ['gBTC', 5_000n, row.credited_vtxo_id],
    ]);
    expect(lifts.map((m) => String(m.amount))).toEqual(['5000']);
    expect(confirmations).toHaveLength(1);
    expect(JSON.parse(confirmations[0]!.content)).toMatchObject({
      action_ids: [],
      fees: [],
      created: [{ vtxo_id: row.credited_vtxo_id, owner: w.pubkey, asset_id: 'gBTC', amount: '5000' }],
      lightning: { payment_hash: reply.payment_hash },
    });
    await waitFor(() => paid.find((n) => n.type === 'lift_paid'), 10_000, 'the lift_paid notification');
    expect(paid.filter((n) => n.type === 'lift_paid')).toHaveLength(1);
    // The credited VTXO exists on the Ark server, paid to the user's own script.
    const onServer = await g.backends.ark.listVtxos({
      outpoints: [{ txid: vtxos[0]!.txid, vout: vtxos[0]!.vout }],
    });
    expect(onServer).toHaveLength(1);
    expect((await w.syncState()).vtxos.map((v) => v.amount)).toEqual([5_000n]);
    // Counted once in lifts_total, however often the settlement arrived.
    const metrics = await (await fetch(g.metricsUrl!)).text();
    expect(metrics).toMatch(/^arkrelay_lifts_total\{asset="gBTC",outcome="credited"\} 1$/m);
  }, 60_000);

  it('credits once after a restart when the invoice was paid (twice delivered) while the gateway was down', async () => {
    const w = await wallet(gateway!);
    const reply = (await w.liftLightning('gBTC', 1_234n)) as LiftReply;
    w.close();
    const config = gateway!.config;
    await gateway!.stop();
    gateway = undefined;
    // Paid with nobody listening: `arkrelay sim pay` writes the simulated world directly.
    const paid = await simPay(config, reply.bolt11);
    expect(paid.state).toBe('settled');
    const g = await start();
    // Delivered by the subscription's replay and the sweep, and once more by hand.
    const row = await waitForInvoiceStatus(g, reply.payment_hash, 'credited', 30_000);
    const invoice = await g.backends.lightning.lookupInvoice(reply.payment_hash);
    await g.lightning!.lift.onInvoice(invoice!);
    await g.lightning!.lift.sweep();
    const { vtxos, lifts, confirmations } = await creditsOf(g, w.pubkey, reply.payment_hash);
    expect(vtxos.map((v) => [v.amount, v.vtxoId])).toEqual([[1_234n, row.credited_vtxo_id]]);
    expect(lifts).toHaveLength(1);
    expect(confirmations).toHaveLength(1);
  }, 90_000);

  it('recovers a crash between the settlement and the credit: the sweep credits the settled row once', async () => {
    const g = gateway!;
    const w = await wallet(g);
    // The subscription is off, as if the process died right after recording the settlement.
    await g.lightning!.monitor.stop();
    const reply = (await w.liftLightning('gBTC', 777n)) as LiftReply;
    const settled = await simLightning(g).payInvoice(reply.bolt11);
    await g.database.db
      .updateTable('lightning_invoices')
      .set({ status: 'settled', settle_index: settled.settleIndex, settled_at: Date.now() })
      .where('payment_hash', '=', reply.payment_hash)
      .execute();
    // Two sweeps race; each would credit, the claim and the Issuer let one through.
    await Promise.all([g.lightning!.lift.sweep(), g.lightning!.lift.sweep()]);
    await waitForInvoiceStatus(g, reply.payment_hash, 'credited');
    const { vtxos, lifts } = await creditsOf(g, w.pubkey, reply.payment_hash);
    expect(vtxos.map((v) => v.amount)).toEqual([777n]);
    expect(lifts).toHaveLength(1);
    await g.lightning!.monitor.start();
  }, 60_000);

  it('refuses a lift of an unknown asset (2004) and a malformed amount (1002)', async () => {
    const w = await wallet(gateway!);
    await expect(w.liftLightning('gNOPE', 5n)).rejects.toMatchObject({ code: 2004 });
    await expect(w.request('lift_lightning', { asset_id: 'gBTC', amount: 1.5 })).rejects.toMatchObject({
      code: 1002,
    });
  }, 30_000);

  it('marks an invoice lnd cancelled and tells the user (lift_expired); nothing is credited', async () => {
    const g = gateway!;
    const w = await wallet(g);
    const notes: Record<string, unknown>[] = [];
    w.on('notification', ({ body }) => notes.push(body));
    const reply = (await w.liftLightning('gBTC', 300n)) as LiftReply;
    await simLightning(g).cancelInvoice(reply.payment_hash);
    await waitForInvoiceStatus(g, reply.payment_hash, 'cancelled');
    await waitFor(() => notes.find((n) => n.type === 'lift_expired'), 10_000, 'lift_expired');
    expect((await creditsOf(g, w.pubkey, reply.payment_hash)).lifts).toHaveLength(0);
  }, 30_000);
});
