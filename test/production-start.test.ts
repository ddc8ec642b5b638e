// What a production process (DATABASE_URL set) refuses to start on, through the start function:
// a daemon simulated only by default, an API process without relays. And what every process
// tells the operator at start: each simulated daemon at warn, the API on loopback by default.
import { connect, createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway, type Role } from '../src/app.ts';
import { ConfigError, loadConfig } from '../src/config.ts';
import { productionStartProblems } from '../src/config-production.ts';
import { createLogger } from '../src/logging.ts';
import { LogCapture } from './nostr/support.ts';
import { tempDir } from './support/cli.ts';

// Nothing listens here: a start that got as far as the database would fail on it instead.
const PRODUCTION = {
  DATABASE_URL: 'mysql://root@127.0.0.1:1/arkrelay',
  SECRET_KEY: 'production-start-test-secret-0123456789',
};

async function refusal(env: Record<string, string>, roles: Role[] = ['api']): Promise<string[]> {
  const config = loadConfig({ DATA_DIR: tempDir(), PORT: '0', ...PRODUCTION, ...env });
  const started = startGateway(config, { roles, logger: createLogger({ level: 'silent' }) });
  const error: unknown = await started.then(
    async (gateway) => {
      await gateway.stop('unexpected start');
      return undefined;
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return (error as ConfigError).problems.map((p) => `${p.variable}: ${p.message}`);
}

describe('production start checks', () => {
  it('refuses a daemon simulated by default, naming the variable to set, before opening anything', async () => {
    expect(await refusal({ TAPD_MODE: 'sim', LND_MODE: 'sim', NOSTR_RELAYS: 'wss://relay.example' })).toEqual(
      [
        'ARKD_MODE: arkd would be simulated in production (DATABASE_URL is set); set ARKD_URL to the real arkd, or ARKD_MODE=sim to run the simulator on purpose',
      ],
    );
    expect(await refusal({ NOSTR_RELAYS: 'wss://relay.example' }, ['scheduler'])).toEqual([
      'ARKD_MODE: arkd would be simulated in production (DATABASE_URL is set); set ARKD_URL to the real arkd, or ARKD_MODE=sim to run the simulator on purpose',
      'TAPD_MODE: tapd would be simulated in production (DATABASE_URL is set); set TAPD_HOST to the real tapd, or TAPD_MODE=sim to run the simulator on purpose',
      'LND_MODE: lnd would be simulated in production (DATABASE_URL is set); set LND_HOST to the real lnd, or LND_MODE=sim to run the simulator on purpose',
    ]);
  });

  it('refuses an API process without NOSTR_RELAYS, saying what to set', async () => {
    const simulated = { ARKD_MODE: 'sim', TAPD_MODE: 'sim', LND_MODE: 'sim' };
    expect(await refusal(simulated)).toEqual([
      'NOSTR_RELAYS: is required in production (DATABASE_URL is set): set it to the relays wallets use, the same list on every API process (or NOSTR_EMBEDDED_RELAY=true for one API process on one host)',
    ]);
    // Workers and the scheduler connect to no relay: the outbox is published by API processes.
    const config = loadConfig({ ...PRODUCTION, ...simulated, REDIS_URL: 'redis://127.0.0.1:1' });
    expect(productionStartProblems(config, { intake: false })).toEqual([]);
  });

  it('starts what was chosen explicitly: *_MODE=sim, real addresses, NOSTR_EMBEDDED_RELAY', () => {
    const chosen = loadConfig({
      ...PRODUCTION,
      ARKD_MODE: 'sim',
      TAPD_HOST: 'tapd.internal:8089',
      LND_HOST: 'lnd.internal',
      LND_PORT: '10009',
      NOSTR_EMBEDDED_RELAY: 'true',
    });
    expect(productionStartProblems(chosen, { intake: true })).toEqual([]);
    const guide = loadConfig({
      ...PRODUCTION,
      ARKD_HOST: 'ark.internal',
      ARKD_PORT: '7070',
      TAPD_MODE: 'sim',
      LND_MODE: 'sim',
      NOSTR_RELAYS: 'wss://relay.example',
    });
    expect(productionStartProblems(guide, { intake: true })).toEqual([]);
  });

  it('asks nothing of the embedded default', () => {
    expect(productionStartProblems(loadConfig({}), { intake: true })).toEqual([]);
  });
});

describe('the embedded default at start', () => {
  let gateway: Gateway;
  const capture = new LogCapture('info');
  // Is 127.0.0.2 routed to this machine (Linux: all of 127/8)? Then a server bound to
  // 127.0.0.1 alone refuses connections there, and one bound to every interface accepts them.
  let otherLoopbackWorks = false;

  const reaches = (host: string, port: number) =>
    new Promise<boolean>((resolve) => {
      const socket = connect({ host, port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });

  beforeAll(async () => {
    const control: Server = createServer((s) => s.destroy());
    await new Promise<void>((resolve) => control.listen(0, '0.0.0.0', resolve));
    const address = control.address();
    otherLoopbackWorks =
      typeof address === 'object' && !!address && (await reaches('127.0.0.2', address.port));
    await new Promise<void>((resolve) => control.close(() => resolve()));

    // No HOST: the default is under test.
    const config = loadConfig({
      DATA_DIR: tempDir(),
      PORT: '0',
      EMBEDDED_RELAY_PORT: '0',
      METRICS_PORT: '0',
      VTXO_AUTO_START: 'false',
    });
    gateway = await startGateway(config, { roles: ['api'], logger: capture.logger });
  });

  afterAll(async () => {
    await gateway?.stop('test over');
  });

  it('logs every simulated daemon at warn', () => {
    const warnings = capture.text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { level: number | string; daemon?: string; msg: string })
      .filter((l) => l.msg.startsWith('simulated daemon:'));
    expect(warnings.map((l) => l.daemon).sort()).toEqual(['arkd', 'lnd', 'tapd']);
    for (const line of warnings) expect([40, 'warn']).toContain(line.level);
    expect(warnings.find((l) => l.daemon === 'arkd')?.msg).toContain('set ARKD_URL for the real one');
  });

  it('listens on 127.0.0.1 only, unless HOST says otherwise', async ({ skip }) => {
    const port = Number(new URL(gateway.httpUrl!).port);
    expect(new URL(gateway.httpUrl!).hostname).toBe('127.0.0.1');
    expect(await reaches('127.0.0.1', port)).toBe(true);
    if (!otherLoopbackWorks) skip('127.0.0.2 does not reach this machine: cannot tell loopback from all');
    expect(await reaches('127.0.0.2', port)).toBe(false);
  });
});
