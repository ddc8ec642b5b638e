import { createHash } from 'node:crypto';
import bolt11 from 'bolt11';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LightningInvoice } from '../../../src/backends/lnd/lightning-backend.ts';
import { LightningControls, LightningSimulator } from '../../../src/backends/lnd/simulator.ts';
import { SimWorld } from '../../../src/backends/sim/world.ts';
import { BackendError } from '../../../src/backends/types.ts';
import { waitFor } from '../../support/wait.ts';
import { FakeClock, testWorld, type TestWorld } from './support.ts';

const sha256 = (hexValue: string) => createHash('sha256').update(Buffer.from(hexValue, 'hex')).digest('hex');

let clock: FakeClock;
let t: TestWorld;
let ln: LightningSimulator;
let sim: LightningControls;

beforeEach(() => {
  clock = new FakeClock(Date.now());
  t = testWorld({ now: clock.now });
  ln = new LightningSimulator(t.world);
  sim = new LightningControls(t.world);
});
afterEach(() => t.dispose());

async function rejection(promise: Promise<unknown>): Promise<BackendError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BackendError);
  return error as BackendError;
}

describe('Lightning simulator', () => {
  it('issues BOLT11 invoices a standard decoder reads, signed by the node key', async () => {
    const info = await ln.getInfo();
    const invoice = await ln.createInvoice({
      amountMsat: 150_000n,
      memo: 'lift 150 gBTC',
      expirySeconds: 600,
    });
    const decoded = bolt11.decode(invoice.paymentRequest);
    expect(decoded.millisatoshis).toBe('150000');
    expect(decoded.payeeNodeKey).toBe(info.nodePubkey);
    expect(decoded.tags.find((tag) => tag.tagName === 'payment_hash')?.data).toBe(invoice.paymentHash);
    expect(decoded.timeExpireDate).toBe(invoice.expiresAt);
    expect(invoice.paymentRequest).toMatch(/^lnbcrt1500n1/);
    expect(await ln.decodePaymentRequest(invoice.paymentRequest)).toMatchObject({
      paymentHash: invoice.paymentHash,
      amountMsat: 150_000n,
      destination: info.nodePubkey,
      network: 'regtest',
      description: 'lift 150 gBTC',
    });
  });

  it('settles an invoice paid through the sim controls; the preimage hashes to the payment hash', async () => {
    const invoice = await ln.createInvoice({ amountMsat: 21_000n });
    const before = await ln.getBalances();
    const settled = await sim.payInvoice(invoice.paymentRequest);
    expect(settled).toMatchObject({ state: 'settled', settleIndex: 1n, amountPaidMsat: 21_000n });
    expect(sha256(settled.preimage!)).toBe(invoice.paymentHash);
    expect((await ln.lookupInvoice(invoice.paymentHash))?.state).toBe('settled');
    expect((await ln.getBalances()).channelLocalSats).toBe(before.channelLocalSats + 21n);
    const again = await rejection(sim.payInvoice(invoice.paymentHash));
    expect(again.kind).toBe('rejected');
    expect((await rejection(sim.payInvoice('ff'.repeat(32)))).kind).toBe('not_found');
    expect((await rejection(sim.payInvoice('lnbc-garbage'))).kind).toBe('rejected');
  });

  it('resumes the invoice subscription from a settle index, also for settlements made by another process', async () => {
    const invoices = await Promise.all([1n, 2n, 3n].map((n) => ln.createInvoice({ amountMsat: n * 1000n })));
    await sim.payInvoice(invoices[0]!.paymentHash);
    await sim.payInvoice(invoices[1]!.paymentHash);
    const seen: LightningInvoice[] = [];
    const stop = ln.subscribeInvoices({ settleIndex: 1n }, (invoice) => seen.push(invoice));
    await waitFor(() => seen.length >= 1, 2_000, 'the backlog');
    expect(seen.map((i) => [i.paymentHash, i.settleIndex])).toEqual([[invoices[1]!.paymentHash, 2n]]);
    // `arkrelay sim pay` runs in another process: its own connection to the same world file.
    const other = new SimWorld({ dataDir: t.dir, now: clock.now });
    await new LightningControls(other).payInvoice(invoices[2]!.paymentRequest);
    other.close();
    await waitFor(
      () => seen.some((i) => i.paymentHash === invoices[2]!.paymentHash),
      2_000,
      'the live settlement',
    );
    expect(seen.at(-1)).toMatchObject({ state: 'settled', settleIndex: 3n });
    stop();
  });

  it('cancels expired invoices and refuses to settle them', async () => {
    const invoice = await ln.createInvoice({ amountMsat: 1000n, expirySeconds: 60 });
    clock.advance(61_000);
    expect((await rejection(sim.payInvoice(invoice.paymentHash))).kind).toBe('rejected');
    expect((await ln.lookupInvoice(invoice.paymentHash))?.state).toBe('canceled');
  });

  it('pays an external invoice once, with its preimage, and refuses to pay it twice', async () => {
    const external = await sim.createExternalInvoice({ amountMsat: 50_000n, memo: 'land' });
    const decoded = await ln.decodePaymentRequest(external.paymentRequest);
    expect(decoded.destination).toBe(t.world.keys.lnExternal.compressedHex);
    const before = await ln.getBalances();
    const payment = await ln.payInvoice({
      paymentRequest: external.paymentRequest,
      maxFeeSats: 10n,
      timeoutSeconds: 30,
    });
    expect(payment).toMatchObject({ state: 'succeeded', amountMsat: 50_000n, feeMsat: 1_000n });
    expect(sha256(payment.preimage!)).toBe(external.paymentHash);
    expect((await ln.getBalances()).channelLocalSats).toBe(before.channelLocalSats - 51n);
    const twice = await rejection(
      ln.payInvoice({ paymentRequest: external.paymentRequest, maxFeeSats: 10n, timeoutSeconds: 30 }),
    );
    expect(twice.kind).toBe('rejected');
    expect(await ln.trackPayment(external.paymentHash)).toEqual(payment);
  });

  it('fails payments as configured: failure, fee limit, unknown destination, hold until timeout', async () => {
    const pay = async (maxFeeSats = 10n, timeoutSeconds = 30) => {
      const { paymentRequest } = await sim.createExternalInvoice({ amountMsat: 5_000n });
      return ln.payInvoice({ paymentRequest, maxFeeSats, timeoutSeconds });
    };
    sim.setPaymentBehaviour({ outcome: 'fail', failureReason: 'incorrect_payment_details' });
    expect(await pay()).toMatchObject({ state: 'failed', failureReason: 'incorrect_payment_details' });
    sim.setPaymentBehaviour({ outcome: 'succeed', feeMsat: 20_000n });
    expect(await pay(10n)).toMatchObject({ state: 'failed', failureReason: 'no_route' });
    sim.setPaymentBehaviour({ outcome: 'hold', feeMsat: 0n });
    const held = pay(10n, 5);
    await waitFor(
      async () => (await t.world.all("SELECT 1 FROM payments WHERE state = 'in_flight'")).length === 1,
      2_000,
    );
    clock.advance(5_000);
    expect(await held).toMatchObject({ state: 'failed', failureReason: 'timeout' });
    // An invoice of a node the simulator does not know cannot be routed.
    const foreign = bolt11.sign(
      bolt11.encode({
        network: { bech32: 'bcrt', pubKeyHash: 0x6f, scriptHash: 0xc4, validWitnessVersions: [0, 1] },
        millisatoshis: '1000',
        timestamp: Math.floor(clock.ms / 1000),
        tags: [
          { tagName: 'payment_hash', data: '33'.repeat(32) },
          { tagName: 'payment_secret', data: '44'.repeat(32) },
          { tagName: 'description', data: '' },
        ],
      }),
      '55'.repeat(32),
    ).paymentRequest!;
    sim.setPaymentBehaviour({ outcome: 'succeed' });
    expect(
      await ln.payInvoice({ paymentRequest: foreign, maxFeeSats: 10n, timeoutSeconds: 5 }),
    ).toMatchObject({
      state: 'failed',
      failureReason: 'no_route',
    });
  });

  it('refuses bad payment requests before paying', async () => {
    expect((await rejection(ln.decodePaymentRequest('garbage'))).kind).toBe('rejected');
    const own = await ln.createInvoice({ amountMsat: 1000n });
    expect(
      (
        await rejection(
          ln.payInvoice({ paymentRequest: own.paymentRequest, maxFeeSats: 1n, timeoutSeconds: 5 }),
        )
      ).message,
    ).toMatch(/self-payments/);
    const expired = await sim.createExternalInvoice({ amountMsat: 1000n, expirySeconds: 10 });
    clock.advance(11_000);
    expect(
      (
        await rejection(
          ln.payInvoice({ paymentRequest: expired.paymentRequest, maxFeeSats: 1n, timeoutSeconds: 5 }),
        )
      ).message,
    ).toMatch(/expired/);
  });

  it('re-attaches to an in-flight payment after a restart and never pays twice', async () => {
    sim.setPaymentBehaviour({ outcome: 'succeed', delayMs: 10_000 });
    const external = await sim.createExternalInvoice({ amountMsat: 7_000n });
    const request = { paymentRequest: external.paymentRequest, maxFeeSats: 10n, timeoutSeconds: 60 };
    const interrupted = ln.payInvoice(request).catch((e: unknown) => e);
    await waitFor(async () => (await ln.trackPayment(external.paymentHash))?.state === 'in_flight', 2_000);
    // The process dies while the payment is in flight.
    const world = t.reopen();
    expect((await interrupted) as BackendError).toBeInstanceOf(BackendError);
    ln = new LightningSimulator(world);
    expect((await ln.trackPayment(external.paymentHash))?.state).toBe('in_flight');
    expect((await rejection(ln.payInvoice(request))).message).toMatch(/in transition/);
    const tracked = ln.trackPayment(external.paymentHash, { wait: true });
    clock.advance(10_000);
    expect(await tracked).toMatchObject({ state: 'succeeded', amountMsat: 7_000n });
    expect(world.all('SELECT * FROM payments')).toHaveLength(1);
  });

  it('estimates fees and reports balances', async () => {
    expect(await ln.estimateFeeRate(1)).toBeGreaterThan(await ln.estimateFeeRate(144));
    expect(await ln.estimateRoutingFee(t.world.keys.lnExternal.compressedHex, 1000n)).toBe(1_000n);
    expect(await ln.getBalances()).toMatchObject({
      onchainConfirmedSats: 50_000_000n,
      channelLocalSats: 10_000_000n,
    });
  });
});
