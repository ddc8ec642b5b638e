import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RealTapd, createRealTapd } from '../../../src/backends/tapd/client.ts';
import { BackendError } from '../../../src/backends/types.ts';
import { Secret, loadConfig, type DaemonEndpoint } from '../../../src/config.ts';
import { TapdFake } from '../fakes/tapd-fake.ts';
import { NO_OPENSSL, hasOpenssl, makeCertificate, type TestCertificate } from '../fakes/tls.ts';
import { ShiftedClock, captureLogger, fastResilience } from './support.ts';

const openssl = hasOpenssl();

describe.skipIf(!openssl)(
  `real tapd client against the tapd REST fake${openssl ? '' : ` (skipped: ${NO_OPENSSL})`}`,
  () => {
    let cert: TestCertificate;
    const fake = new TapdFake();
    let clock: ShiftedClock;
    let client: RealTapd;
    let lines: string[];

    const endpoint = (overrides: Partial<DaemonEndpoint> = {}): DaemonEndpoint => ({
      mode: 'real',
      address: fake.address,
      tlsCert: new Secret(cert.certPath),
      macaroon: new Secret(fake.macaroonHex),
      timeoutMs: 300,
      ...overrides,
    });

    beforeAll(async () => {
      cert = makeCertificate();
      await fake.start(cert);
    });
    afterAll(async () => {
      await fake.stop();
      cert.cleanup();
    });
    beforeEach(async () => {
      fake.faults.heal();
      fake.faults.calls.clear();
      clock = new ShiftedClock();
      const captured = captureLogger();
      lines = captured.lines;
      client = new RealTapd(endpoint(), { logger: captured.logger, resilience: fastResilience(clock) });
    });

    it('reads info, mints an asset through MintAsset + FinalizeBatch, and sees it in assets and balances', async () => {
      await client.probe();
      expect(await client.getInfo()).toMatchObject({
        network: 'regtest',
        blockHeight: 100,
        version: '0.7.0-fake',
      });
      const minted = await client.mintAsset({
        name: 'gBTC',
        amount: 21_000_000n,
        decimalDisplay: 8,
        grouped: true,
      });
      expect(minted.assetId).toMatch(/^[0-9a-f]{64}$/);
      expect(minted.anchorTxid).toMatch(/^[0-9a-f]{64}$/);
      expect(minted.groupKey).toMatch(/^02[0-9a-f]{64}$/);
      const assets = await client.listAssets();
      expect(assets).toContainEqual(
        expect.objectContaining({
          assetId: minted.assetId,
          name: 'gBTC',
          mintedSupply: 21_000_000n,
          decimalDisplay: 8,
        }),
      );
      expect(await client.listBalances()).toContainEqual({
        assetId: minted.assetId,
        name: 'gBTC',
        balance: 21_000_000n,
      });
      expect(fake.faults.count('POST /v1/taproot-assets/assets/mint/finalize')).toBe(1);
    });

    it('creates an address, sends, and lists transfers with proof delivery status', async () => {
      if (fake.assets.length === 0)
        await client.mintAsset({ name: 'X', amount: 10n, decimalDisplay: 0, grouped: false });
      const assetId = fake.assets[0]!.id.toString('hex');
      const addr = await client.newAddress(assetId, 5n);
      expect(addr).toMatchObject({ assetId, amount: 5n });
      expect(addr.encoded).toMatch(/^taprt1/);
      const transfer = await client.send([addr.encoded]);
      expect(transfer.anchorTxid).toMatch(/^[0-9a-f]{64}$/);
      expect(transfer.outputs[0]).toMatchObject({ assetId, proofDelivery: 'pending' });
      expect((await client.listTransfers()).map((t) => t.anchorTxid)).toContain(transfer.anchorTxid);
    });

    it('adds an asset invoice and pays one over the streaming send-payment route', async () => {
      const assetId = 'ab'.repeat(32);
      const invoice = await client.addAssetInvoice({ assetId, assetAmount: 100n, memo: 'lift' });
      expect(invoice).toMatchObject({
        assetId,
        assetAmount: 100n,
        state: 'open',
        addIndex: 7n,
        memo: 'lift',
      });
      expect(invoice.paymentHash).toMatch(/^[0-9a-f]{64}$/);
      const paid = await client.payAssetInvoice({
        paymentRequest: 'lnbcrt1x',
        assetId,
        maxFeeSats: 10n,
        timeoutSeconds: 1,
      });
      expect(paid.state).toBe('succeeded');
      expect(paid.preimage).toMatch(/^[0-9a-f]{64}$/);
      fake.paymentOutcome = 'FAILED';
      const failed = await client.payAssetInvoice({
        paymentRequest: 'lnbcrt1x',
        assetId,
        maxFeeSats: 10n,
        timeoutSeconds: 1,
      });
      expect(failed).toMatchObject({ state: 'failed', failureReason: 'no_route' });
      expect(failed.preimage).toBeUndefined();
      fake.paymentOutcome = 'SUCCEEDED';
    });

    it('maps a daemon refusal to a 5002 rejection without retrying it', async () => {
      fake.faults.failNext({ status: 500, grpcCode: 2, message: 'insufficient asset balance' });
      const error = await client.send(['taprt1abc']).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BackendError);
      expect(error).toMatchObject({ kind: 'rejected', backend: 'tapd', retryable: false });
      expect((error as BackendError).message).toContain('insufficient asset balance');
      expect((error as BackendError).toProtocolError().code).toBe(5002);
      expect(fake.faults.count('POST /v1/taproot-assets/send')).toBe(1);
    });

    it('maps grpc NOT_FOUND to not_found (5002)', async () => {
      fake.faults.failNext({ status: 404, grpcCode: 5, message: 'asset not found' });
      const error = (await client.newAddress('cd'.repeat(32), 1n).catch((e: unknown) => e)) as BackendError;
      expect(error.kind).toBe('not_found');
      expect(error.toProtocolError().code).toBe(5002);
    });

    it('retries an unavailable daemon for reads and succeeds when it recovers', async () => {
      fake.faults.failNext({ status: 503, grpcCode: 14, message: 'server is still starting' }, 2);
      expect((await client.getInfo()).network).toBe('regtest');
      expect(fake.faults.count('GET /v1/taproot-assets/getinfo')).toBe(3);
    });

    it('does not retry a send that failed mid-call (it might have gone through)', async () => {
      fake.faults.failNext({ status: 503, grpcCode: 14, message: 'unavailable' }, 2);
      const error = (await client.send(['taprt1abc']).catch((e: unknown) => e)) as BackendError;
      expect(error.kind).toBe('unavailable');
      expect(error.toProtocolError().code).toBe(5004);
      expect(fake.faults.count('POST /v1/taproot-assets/send')).toBe(1);
    });

    it('times out a slow reply with a 5004 timeout', async () => {
      // A reply far slower than the 300 ms timeout: the bound below tells giving up at the
      // timeout from waiting for the reply, with room for a loaded machine.
      fake.faults.delayMs = 10_000;
      const started = Date.now();
      const error = (await client.probe().catch((e: unknown) => e)) as BackendError;
      expect(error.kind).toBe('timeout');
      expect(error.toProtocolError().code).toBe(5004);
      expect(Date.now() - started).toBeLessThan(3_000);
    });

    it('rejects a wrong macaroon (checked by the fake) as a refusal, not an outage', async () => {
      const wrong = new RealTapd(endpoint({ macaroon: new Secret('00'.repeat(32)) }), {
        logger: captureLogger().logger,
        resilience: fastResilience(clock),
      });
      const error = (await wrong.getInfo().catch((e: unknown) => e)) as BackendError;
      expect(error.kind).toBe('rejected');
      expect(error.message).toMatch(/verification failed/);
      await wrong.close();
    });

    it('refuses a server whose certificate is not the configured one', async () => {
      const other = makeCertificate();
      try {
        const pinned = new RealTapd(
          endpoint({ tlsCert: new Secret(Buffer.from(other.certPem).toString('base64')) }),
          {
            logger: captureLogger().logger,
            resilience: fastResilience(clock),
          },
        );
        const error = (await pinned.getInfo().catch((e: unknown) => e)) as BackendError;
        expect(error.kind).toBe('unavailable');
        expect(error.message).toMatch(/TLS certificate not accepted/);
        await pinned.close();
      } finally {
        other.cleanup();
      }
    });

    it('opens the breaker after 5 failures, refuses while open, half-opens after 60 s and closes on success', async () => {
      fake.faults.failAlways({ status: 503, grpcCode: 14, message: 'down' });
      for (let i = 0; i < 5; i++) await client.probe().catch(() => undefined);
      expect(client.status().breaker).toMatchObject({ state: 'open', consecutiveFailures: 5 });
      const seen = fake.faults.count('GET /v1/taproot-assets/getinfo');

      const refused = (await client.getInfo().catch((e: unknown) => e)) as BackendError;
      expect(refused.kind).toBe('circuit_open');
      expect(refused.toProtocolError().code).toBe(5004);
      expect(fake.faults.count('GET /v1/taproot-assets/getinfo')).toBe(seen);

      fake.faults.heal();
      clock.shift(59_000);
      expect(client.status().breaker.state).toBe('open');
      clock.shift(1_000);
      expect(client.status().breaker.state).toBe('half_open');
      await client.probe();
      expect(client.status().breaker).toMatchObject({ state: 'closed', consecutiveFailures: 0 });
      expect(client.status().lastError).toMatchObject({ kind: 'unavailable' });
    });

    it('a failed half-open trial reopens the breaker', async () => {
      fake.faults.failAlways({ status: 503, grpcCode: 14, message: 'down' });
      for (let i = 0; i < 5; i++) await client.probe().catch(() => undefined);
      clock.shift(60_000);
      await client.probe().catch(() => undefined);
      expect(client.status().breaker.state).toBe('open');
    });

    it('reconnect() rebuilds the connection and closes the breaker', async () => {
      fake.faults.failAlways({ status: 503, grpcCode: 14, message: 'down' });
      for (let i = 0; i < 5; i++) await client.probe().catch(() => undefined);
      fake.faults.heal();
      await client.reconnect();
      expect(client.status().breaker.state).toBe('closed');
      await client.probe();
    });

    it('takes its retry and breaker tuning from configuration (DAEMON_* variables)', async () => {
      const config = loadConfig({
        TAPD_HOST: fake.address,
        TAPD_TLS_CERT: cert.certPath,
        TAPD_MACAROON: fake.macaroonHex,
        DAEMON_RETRY_ATTEMPTS: '1',
        DAEMON_BREAKER_FAILURES: '2',
      });
      expect(config.daemons.tapd.mode).toBe('real');
      const tapd = await createRealTapd(config.daemons.tapd, { logger: captureLogger().logger });
      expect(tapd.mode).toBe('real');
      await tapd.probe();
      fake.faults.failAlways({ status: 503, grpcCode: 14, message: 'down' });
      await tapd.getInfo().catch(() => undefined);
      expect(tapd.status().breaker.state).toBe('closed');
      await tapd.getInfo().catch(() => undefined);
      expect(tapd.status().breaker.state).toBe('open');
      expect(fake.faults.count('GET /v1/taproot-assets/getinfo')).toBe(3);
      await tapd.close();
    });

    it('reports an unreachable daemon as unavailable and never logs the macaroon', async () => {
      const { logger, lines: logged } = captureLogger();
      const down = new RealTapd(endpoint({ address: '127.0.0.1:1' }), {
        logger,
        resilience: fastResilience(clock),
      });
      const error = (await down.getInfo().catch((e: unknown) => e)) as BackendError;
      expect(error).toMatchObject({ kind: 'unavailable', daemonCode: 'ECONNREFUSED' });
      expect(logged.length).toBeGreaterThan(0); // the retries were logged
      const everything = logged.join('') + lines.join('') + JSON.stringify(down.status()) + error.message;
      expect(everything).not.toContain(fake.macaroonHex);
      expect(everything).not.toContain('BEGIN CERTIFICATE');
      await down.close();
    });
  },
);
