import { createHash } from 'node:crypto';
import bolt11 from 'bolt11';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RealLnd } from '../../../src/backends/lnd/client.ts';
import type { LightningInvoice } from '../../../src/backends/lnd/lightning-backend.ts';
import { BackendError } from '../../../src/backends/types.ts';
import { Secret, type DaemonEndpoint } from '../../../src/config.ts';
import { LndFake } from '../fakes/lnd-fake.ts';
import { NO_OPENSSL, hasOpenssl, makeCertificate, type TestCertificate } from '../fakes/tls.ts';
import { waitFor } from '../../support/wait.ts';
import { ShiftedClock, captureLogger, fastResilience } from './support.ts';

const openssl = hasOpenssl();
const UNAVAILABLE = 14;

describe.skipIf(!openssl)(
  `real lnd client against the lnd gRPC fake${openssl ? '' : ` (skipped: ${NO_OPENSSL})`}`,
  () => {
    let cert: TestCertificate;
    const fake = new LndFake();
    let clock: ShiftedClock;
    let client: RealLnd;
    const clients: RealLnd[] = [];

    const endpoint = (overrides: Partial<DaemonEndpoint> = {}): DaemonEndpoint => ({
      mode: 'real',
      address: fake.address,
      tlsCert: new Secret(cert.certPath),
      // lnd operators often pass the macaroon base64: the loader accepts it.
      macaroon: new Secret(Buffer.from(fake.macaroonHex, 'hex').toString('base64')),
      // Generous: on a loaded CI machine TLS setup is slow; timeouts are tested with a short one.
      timeoutMs: 5_000,
      ...overrides,
    });
    const make = (overrides: Partial<DaemonEndpoint> = {}) => {
      const c = new RealLnd(endpoint(overrides), {
        logger: captureLogger().logger,
        resilience: fastResilience(clock),
      });
      clients.push(c);
      return c;
    };

    beforeAll(async () => {
      cert = makeCertificate();
      await fake.start(cert);
    });
    afterAll(async () => {
      for (const c of clients) await c.close();
      await fake.stop();
      cert.cleanup();
    });
    beforeEach(() => {
      fake.faults.heal();
      fake.faults.calls.clear();
      fake.payOutcome = 'succeed';
      clock = new ShiftedClock();
      client = make();
    });

    it('reads node info over TLS with the macaroon', async () => {
      await client.probe();
      expect(await client.getInfo()).toEqual({
        nodePubkey: fake.nodePubkey,
        alias: 'lnd-fake',
        network: 'regtest',
        blockHeight: 150,
        syncedToChain: true,
        activeChannels: 2,
        peers: 3,
        version: '0.19.0-beta.fake commit=fake',
      });
    });

    it('creates a real BOLT11 invoice signed by the node key and looks it up', async () => {
      const invoice = await client.createInvoice({
        amountMsat: 25_000_000n,
        memo: 'lift 25k',
        expirySeconds: 600,
      });
      expect(invoice).toMatchObject({
        amountMsat: 25_000_000n,
        memo: 'lift 25k',
        state: 'open',
        settleIndex: 0n,
      });
      expect(invoice.addIndex).toBeGreaterThan(0n);
      expect(invoice.expiresAt - invoice.createdAt).toBe(600);
      const decoded = bolt11.decode(invoice.paymentRequest);
      expect(decoded.payeeNodeKey).toBe(fake.nodePubkey);
      expect(decoded.millisatoshis).toBe('25000000');
      expect(await client.lookupInvoice(invoice.paymentHash)).toEqual(invoice);
      expect(await client.lookupInvoice('00'.repeat(32))).toBeUndefined();
    });

    it('delivers settlements, and resumes from a persisted settle_index after a break', async () => {
      const a = await client.createInvoice({ amountMsat: 1_000n });
      const seen: LightningInvoice[] = [];
      const errors: Error[] = [];
      const stop = client.subscribeInvoices(
        { settleIndex: 0n },
        (i) => seen.push(i),
        (e) => errors.push(e),
      );
      await waitFor(() => fake.subscribers === 1);
      fake.settle(a.paymentHash);
      const settled = await waitFor(() =>
        seen.find((i) => i.paymentHash === a.paymentHash && i.state === 'settled'),
      );
      expect(createHash('sha256').update(Buffer.from(settled.preimage!, 'hex')).digest('hex')).toBe(
        a.paymentHash,
      );
      expect(settled.amountPaidMsat).toBe(1_000n);
      const cursor = settled.settleIndex;

      // lnd restarts: the stream breaks and the caller is told.
      fake.dropSubscribers();
      await waitFor(() => errors.length > 0);
      expect(errors[0]).toBeInstanceOf(BackendError);
      expect(errors[0]).toMatchObject({ kind: 'unavailable' });
      stop();

      // Settled while nobody listened: delivered on resubscription from the cursor.
      const b = await client.createInvoice({ amountMsat: 2_000n });
      fake.settle(b.paymentHash);
      const replay: LightningInvoice[] = [];
      const stop2 = client.subscribeInvoices({ settleIndex: cursor }, (i) => replay.push(i));
      const missed = await waitFor(() => replay.find((i) => i.paymentHash === b.paymentHash));
      expect(missed.state).toBe('settled');
      expect(missed.settleIndex).toBeGreaterThan(cursor);
      expect(replay.some((i) => i.paymentHash === a.paymentHash)).toBe(false);
      stop2();
    });

    it('decodes a payment request: network, amount, payee, expiry', async () => {
      const foreign = fake.foreignInvoice(42_000n);
      const d = await client.decodePaymentRequest(foreign.request);
      expect(d).toMatchObject({
        paymentHash: foreign.hash,
        amountMsat: 42_000n,
        network: 'regtest',
        minFinalCltvExpiry: 18,
      });
      expect(d.destination).toBe(bolt11.decode(foreign.request).payeeNodeKey);
      expect(d.expiresAt - d.createdAt).toBe(3600);
      const bad = (await client
        .decodePaymentRequest('lnbcrt1garbage')
        .catch((e: unknown) => e)) as BackendError;
      expect(bad.kind).toBe('rejected');
      expect(bad.toProtocolError().code).toBe(5003);
    });

    it('pays with an absolute fee limit and returns the preimage', async () => {
      const foreign = fake.foreignInvoice(100_000n);
      const paid = await client.payInvoice({
        paymentRequest: foreign.request,
        maxFeeSats: 5n,
        timeoutSeconds: 5,
      });
      expect(paid).toMatchObject({
        state: 'succeeded',
        paymentHash: foreign.hash,
        amountMsat: 100_000n,
        feeMsat: 1_000n,
      });
      expect(createHash('sha256').update(Buffer.from(paid.preimage!, 'hex')).digest('hex')).toBe(
        foreign.hash,
      );
    });

    it('fails a payment whose route costs more than the fee limit, without a preimage', async () => {
      const foreign = fake.foreignInvoice(100_000n);
      const result = await client.payInvoice({
        paymentRequest: foreign.request,
        maxFeeSats: 0n,
        timeoutSeconds: 5,
      });
      expect(result).toMatchObject({ state: 'failed', failureReason: 'no_route' });
      expect(result.preimage).toBeUndefined();
    });

    it('reports insufficient balance as a failed payment', async () => {
      fake.payOutcome = 'insufficient_balance';
      const foreign = fake.foreignInvoice(100_000n);
      const result = await client.payInvoice({
        paymentRequest: foreign.request,
        maxFeeSats: 5n,
        timeoutSeconds: 5,
      });
      expect(result).toMatchObject({ state: 'failed', failureReason: 'insufficient_balance' });
    });

    it('refuses to pay the same hash twice (5003) and does not retry the send', async () => {
      const foreign = fake.foreignInvoice(10_000n);
      await client.payInvoice({ paymentRequest: foreign.request, maxFeeSats: 5n, timeoutSeconds: 5 });
      const again = (await client
        .payInvoice({ paymentRequest: foreign.request, maxFeeSats: 5n, timeoutSeconds: 5 })
        .catch((e: unknown) => e)) as BackendError;
      expect(again).toBeInstanceOf(BackendError);
      expect(again.kind).toBe('rejected');
      expect(again.message).toMatch(/already paid/);
      expect(again.toProtocolError().code).toBe(5003);
      expect(fake.faults.count('sendPaymentV2')).toBe(2);
    });

    it('re-attaches to a payment after a restart and waits for its final state', async () => {
      fake.payOutcome = 'hold';
      const foreign = fake.foreignInvoice(30_000n);
      const first = client.payInvoice({
        paymentRequest: foreign.request,
        maxFeeSats: 5n,
        timeoutSeconds: 30,
      });
      await waitFor(() => fake.payments.has(foreign.hash));
      // "restart": a new client knows only the payment hash
      const restarted = make();
      const now = await restarted.trackPayment(foreign.hash);
      expect(now).toMatchObject({ state: 'in_flight', paymentHash: foreign.hash });
      const waiting = restarted.trackPayment(foreign.hash, { wait: true });
      fake.finishPayment(foreign.hash, 'succeed');
      const final = await waiting;
      expect(final).toMatchObject({
        state: 'succeeded',
        paymentHash: foreign.hash,
        preimage: foreign.preimage,
      });
      expect((await first).state).toBe('succeeded');
      expect(await restarted.trackPayment('ab'.repeat(32))).toBeUndefined();
    });

    it('reads balances and the fee estimate as integers', async () => {
      expect(await client.getBalances()).toEqual({
        onchainConfirmedSats: 1_000_000n,
        onchainUnconfirmedSats: 500_000n,
        channelLocalSats: 700_000n,
        channelRemoteSats: 300_000n,
        channelPendingSats: 30_000n,
      });
      expect(await client.estimateFeeRate(1)).toBe(10n);
      expect(await client.estimateFeeRate(144)).toBe(3n); // 626 sat/kw = 2.504 sat/vB, rounded up
      expect(await client.estimateRoutingFee('02' + '44'.repeat(32), 50_000n)).toBe(1_000n);
    });

    it('maps a wrong macaroon to a rejection, not an outage', async () => {
      const wrong = make({ macaroon: new Secret('ab'.repeat(32)) });
      const error = (await wrong.getInfo().catch((e: unknown) => e)) as BackendError;
      expect(error.kind).toBe('rejected');
      expect(error.message).toMatch(/verification failed/);
      expect(wrong.status().breaker.consecutiveFailures).toBe(0);
    });

    it('retries UNAVAILABLE on reads and gives up with 5004', async () => {
      fake.faults.failNext({ status: UNAVAILABLE, message: 'lnd is starting' }, 2);
      expect((await client.getInfo()).alias).toBe('lnd-fake');
      expect(fake.faults.count('getInfo')).toBe(3);

      fake.faults.failAlways({ status: UNAVAILABLE, message: 'lnd is starting' });
      const error = (await client.getInfo().catch((e: unknown) => e)) as BackendError;
      expect(error.kind).toBe('unavailable');
      expect(error.retryable).toBe(true);
      expect(error.toProtocolError().code).toBe(5004);
    });

    it('does not retry invoice creation that failed mid-call', async () => {
      fake.faults.failNext({ status: UNAVAILABLE, message: 'transport is closing' });
      const error = (await client
        .createInvoice({ amountMsat: 1_000n })
        .catch((e: unknown) => e)) as BackendError;
      expect(error.kind).toBe('unavailable');
      expect(fake.faults.count('addInvoice')).toBe(1);
    });

    it('times out a slow reply', async () => {
      // A reply far slower than the 200 ms timeout: the bound below tells giving up at the
      // timeout from waiting for the reply, with room for a loaded machine.
      fake.faults.delayMs = 10_000;
      const quick = make({ timeoutMs: 200 });
      const started = Date.now();
      const error = (await quick.probe().catch((e: unknown) => e)) as BackendError;
      expect(error.kind).toBe('timeout');
      expect(error.toProtocolError().code).toBe(5004);
      expect(Date.now() - started).toBeLessThan(3_000);
    });

    it('opens the breaker after 5 failures, refuses while open, half-opens after 60 s, closes on success', async () => {
      fake.faults.failAlways({ status: UNAVAILABLE, message: 'down' });
      for (let i = 0; i < 5; i++) await client.probe().catch(() => undefined);
      expect(client.status().breaker.state).toBe('open');
      const calls = fake.faults.count('getInfo');
      const refused = (await client.getInfo().catch((e: unknown) => e)) as BackendError;
      expect(refused.kind).toBe('circuit_open');
      expect(fake.faults.count('getInfo')).toBe(calls);
      fake.faults.heal();
      clock.shift(60_000);
      expect(client.status().breaker.state).toBe('half_open');
      await client.probe();
      expect(client.status().breaker.state).toBe('closed');
    });

    it('reports an lnd that is not listening as unavailable; reconnect() reaches it once it is back', async () => {
      const other = new LndFake();
      const otherCert = makeCertificate();
      await other.start(otherCert);
      const address = other.address;
      await other.stop();
      const c = new RealLnd(
        {
          mode: 'real',
          address,
          tlsCert: new Secret(otherCert.certPem),
          macaroon: new Secret(other.macaroonHex),
          timeoutMs: 500,
        },
        { logger: captureLogger().logger, resilience: fastResilience(clock) },
      );
      clients.push(c);
      const error = (await c.probe().catch((e: unknown) => e)) as BackendError;
      expect(error.kind === 'unavailable' || error.kind === 'timeout').toBe(true);
      expect(error.toProtocolError().code).toBe(5004);
      await other.start(otherCert, Number(address.split(':')[1]));
      await c.reconnect();
      await c.probe();
      expect(c.status().breaker.state).toBe('closed');
      await other.stop();
      otherCert.cleanup();
    });
  },
);
