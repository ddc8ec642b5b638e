import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigError, Secret, loadConfig, type Config } from '../src/config.ts';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message.split('\n');
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it('runs the embedded default with nothing set', () => {
    const config = loadConfig({});
    expect(config.port).toBe(8000);
    expect(config.database).toMatchObject({ kind: 'sqlite' });
    expect(config.database.kind === 'sqlite' && config.database.file).toMatch(/data\/arkrelay\.sqlite$/);
    expect(config.redis).toBeUndefined();
    expect([config.daemons.arkd.mode, config.daemons.tapd.mode, config.daemons.lnd.mode]).toEqual([
      'sim',
      'sim',
      'sim',
    ]);
    expect(config.nostr.relays).toEqual([]);
    expect(config.autoStart.nostr).toBe(true);
    expect(config.metrics).toEqual({ enabled: true, port: 8080 });
    // The API answers this machine only until HOST says otherwise.
    expect(config.host).toBe('127.0.0.1');
    expect(loadConfig({ HOST: '0.0.0.0' }).host).toBe('0.0.0.0');
  });

  it.each([['80a'], ['-1'], ['65536'], ['8000.5'], ['0x50']])(
    'rejects PORT=%s with one line naming PORT',
    (port) => {
      const lines = problemsOf({ PORT: port });
      expect(lines).toEqual([`PORT: must be a whole number from 0 to 65535 (got "${port}")`]);
    },
  );

  it('rejects a malformed DATABASE_URL without echoing its secret value', () => {
    const lines = problemsOf({ DATABASE_URL: 'postgres://admin:hunter2@db/x', SECRET_KEY: 'k'.repeat(32) });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^DATABASE_URL: must be a URL like mysql:\/\//);
    expect(lines[0]).not.toContain('hunter2');
  });

  it('requires a database name in DATABASE_URL', () => {
    expect(
      problemsOf({ DATABASE_URL: 'mysql://root@127.0.0.1:3306', SECRET_KEY: 'k'.repeat(32) })[0],
    ).toMatch(/^DATABASE_URL: must name a database/);
  });

  it('parses a MariaDB URL and hides its password everywhere', () => {
    const config = loadConfig({
      DATABASE_URL: 'mariadb://ark%40relay:p%40ss@db.internal:3307/arkrelay',
      SECRET_KEY: 's'.repeat(40),
      DB_POOL_SIZE: '4',
    });
    expect(config.database).toMatchObject({
      kind: 'mariadb',
      host: 'db.internal',
      port: 3307,
      user: 'ark@relay',
      database: 'arkrelay',
      poolSize: 4,
    });
    if (config.database.kind !== 'mariadb') throw new Error('unreachable');
    expect(config.database.password.reveal()).toBe('p@ss');
    expect(config.database.display).toBe('mariadb://ark%40relay:***@db.internal:3307/arkrelay');
    const printed = JSON.stringify(config) + inspect(config, { depth: 10 });
    expect(printed).not.toContain('p@ss');
    expect(printed).not.toContain('p%40ss');
    expect(printed).not.toContain('s'.repeat(40));
  });

  it('reports every bad value at once, one line each', () => {
    const lines = problemsOf({
      PORT: 'x',
      LOG_LEVEL: 'loud',
      ENABLE_METRICS: 'maybe',
      REDIS_URL: 'http://r',
    });
    expect(lines.map((l) => l.split(':')[0])).toEqual(['REDIS_URL', 'PORT', 'LOG_LEVEL', 'ENABLE_METRICS']);
  });

  it('requires SECRET_KEY in production and never shows a short one', () => {
    expect(problemsOf({ DATABASE_URL: 'mysql://root@h/db' })).toEqual([
      'SECRET_KEY: is required when DATABASE_URL is set (at least 32 random characters)',
    ]);
    const lines = problemsOf({ SECRET_KEY: 'tooshort-secret' });
    expect(lines).toEqual(['SECRET_KEY: must be at least 32 characters (value hidden)']);
  });

  it("chooses each daemon's mode from its own address", () => {
    const one = loadConfig({ ARKD_URL: 'http://127.0.0.1:7070/' });
    expect(one.daemons.arkd).toMatchObject({ mode: 'real', address: 'http://127.0.0.1:7070' });
    expect(one.daemons.tapd.mode).toBe('sim');
    expect(one.daemons.lnd.mode).toBe('sim');
    const all = loadConfig({
      ARKD_URL: 'http://127.0.0.1:7070/',
      TAPD_HOST: '127.0.0.1:8089',
      LND_HOST: 'lnd:10009',
    });
    expect([all.daemons.arkd.mode, all.daemons.tapd.mode, all.daemons.lnd.mode]).toEqual([
      'real',
      'real',
      'real',
    ]);
    expect(loadConfig({ LND_MODE: 'real', LND_HOST: '127.0.0.1:10009' }).daemons.lnd.mode).toBe('real');
  });

  it('never falls back to the simulator when a real daemon is configured, nor runs real without one', () => {
    expect(problemsOf({ LND_MODE: 'sim', LND_HOST: '127.0.0.1:10009' })).toEqual([
      'LND_MODE: is sim but LND_HOST is set; unset LND_HOST or choose real',
    ]);
    expect(problemsOf({ ARKD_MODE: 'real', TAPD_MODE: 'real', LND_MODE: 'real' })).toEqual([
      'ARKD_URL: is required when ARKD_MODE is real',
      'TAPD_HOST: is required when TAPD_MODE is real',
      'LND_HOST: is required when LND_MODE is real',
    ]);
    expect(problemsOf({ TAPD_MODE: 'simulated' })).toEqual([
      'TAPD_MODE: must be one of sim, real (got "simulated")',
    ]);
    expect(problemsOf({ ARKD_URL: 'http://a:1', TAPD_HOST: 'tapd', LND_HOST: 'l:1' })).toEqual([
      'TAPD_HOST: must be host:port, or a host with TAPD_PORT (got "tapd")',
    ]);
  });

  describe("the original guide's daemon variables", () => {
    it('ARKD_HOST + ARKD_PORT produce the same configuration as ARKD_URL', () => {
      const viaUrl = loadConfig({ ARKD_URL: 'http://10.0.0.5:7070' }).daemons.arkd;
      const viaGuide = loadConfig({ ARKD_HOST: '10.0.0.5', ARKD_PORT: '7070' }).daemons.arkd;
      expect(viaGuide).toEqual(viaUrl);
      expect(viaGuide).toMatchObject({ mode: 'real', address: 'http://10.0.0.5:7070' });
      expect(loadConfig({ ARKD_HOST: 'ark.internal:7070' }).daemons.arkd.address).toBe(
        'http://ark.internal:7070',
      );
      // Both given, saying the same thing: accepted.
      expect(
        loadConfig({ ARKD_URL: 'http://10.0.0.5:7070/', ARKD_HOST: '10.0.0.5', ARKD_PORT: '7070' }).daemons
          .arkd.address,
      ).toBe('http://10.0.0.5:7070');
    });

    it('TAPD_PORT and LND_PORT join their host into the host:port ArkRelay reads', () => {
      const guide = loadConfig({
        TAPD_HOST: 'tapd.internal',
        TAPD_PORT: '8089',
        LND_HOST: '::1',
        LND_PORT: '10009',
      }).daemons;
      const own = loadConfig({ TAPD_HOST: 'tapd.internal:8089', LND_HOST: '[::1]:10009' }).daemons;
      expect(guide.tapd).toEqual(own.tapd);
      expect(guide.lnd).toEqual(own.lnd);
      expect([guide.tapd.address, guide.lnd.address]).toEqual(['tapd.internal:8089', '[::1]:10009']);
      expect(loadConfig({ LND_HOST: 'lnd:10009', LND_PORT: '10009' }).daemons.lnd.address).toBe('lnd:10009');
    });

    it('refuses an alias that contradicts its target, or a port without its host', () => {
      expect(problemsOf({ ARKD_URL: 'http://ark-a:7070', ARKD_HOST: 'ark-b', ARKD_PORT: '7070' })).toEqual([
        'ARKD_HOST: ARKD_HOST and ARKD_PORT give http://ark-b:7070 but ARKD_URL is http://ark-a:7070; set only one of them',
      ]);
      expect(problemsOf({ TAPD_HOST: '127.0.0.1:8089', TAPD_PORT: '10029' })).toEqual([
        'TAPD_PORT: is 10029 but TAPD_HOST names port 8089; give the port once',
      ]);
      expect(problemsOf({ LND_PORT: '10009' })).toEqual([
        'LND_PORT: is set but LND_HOST is not; set LND_HOST too',
      ]);
      expect(problemsOf({ ARKD_HOST: 'ark.internal' })).toEqual([
        "ARKD_HOST: needs a port: set ARKD_PORT (arkd's REST port, 7070 by default, not its gRPC port) or write host:port",
      ]);
      expect(problemsOf({ ARKD_HOST: 'https://ark.internal', ARKD_PORT: '443' })).toEqual([
        'ARKD_HOST: must be a host name or IP address, optionally with :port (got "https://ark.internal")',
      ]);
      expect(problemsOf({ TAPD_HOST: 'tapd', TAPD_PORT: '80a' })).toEqual([
        'TAPD_PORT: must be a port number from 1 to 65535 (got "80a")',
      ]);
    });

    it('names the alias, not the target, when an alias contradicts the mode', () => {
      expect(problemsOf({ ARKD_MODE: 'sim', ARKD_HOST: 'ark', ARKD_PORT: '7070' })).toEqual([
        'ARKD_MODE: is sim but ARKD_HOST and ARKD_PORT are set; unset ARKD_HOST and ARKD_PORT or choose real',
      ]);
    });

    it('refuses any other daemon variable, naming it', () => {
      expect(problemsOf({ ARKD_FOO: '1' })).toEqual([
        'ARKD_FOO: is not a variable ArkRelay reads (it reads ARKD_MODE, ARKD_URL, ARKD_ESPLORA_URL, ARKD_TIMEOUT_MS, ARKD_HOST, ARKD_PORT); fix its name or remove it',
      ]);
      const [line] = problemsOf({ LND_MACAROON_PATH: '/x', LND_HOST: 'lnd:10009' });
      expect(line).toMatch(
        /^LND_MACAROON_PATH: is not a variable ArkRelay reads \(it reads LND_MODE, LND_HOST, /,
      );
      // Blank is unset, as for every variable.
      expect(() => loadConfig({ TAPD_TYPO: '  ' })).not.toThrow();
    });

    it('refuses the arkd credentials the REST client cannot use, saying what to do', () => {
      const [cert] = problemsOf({ ARKD_URL: 'https://ark:7070', ARKD_TLS_CERT: '/etc/arkd/tls.cert' });
      expect(cert).toMatch(
        /^ARKD_TLS_CERT: cannot be used: .* set ARKD_URL=https:\/\/…, and unset ARKD_TLS_CERT$/,
      );
      expect(cert).not.toContain('/etc/arkd');
      expect(problemsOf({ ARKD_MACAROON: 'abcd' })[0]).toMatch(
        /^ARKD_MACAROON: cannot be used: .*takes no macaroon/,
      );
    });
  });

  it('NOSTR_EMBEDDED_RELAY chooses the embedded relay, and contradicts NOSTR_RELAYS', () => {
    expect(loadConfig({ NOSTR_EMBEDDED_RELAY: 'true' }).nostr.embeddedRelayChosen).toBe(true);
    expect(loadConfig({}).nostr.embeddedRelayChosen).toBe(false);
    expect(problemsOf({ NOSTR_EMBEDDED_RELAY: 'true', NOSTR_RELAYS: 'wss://relay.one' })).toEqual([
      'NOSTR_EMBEDDED_RELAY: is true but NOSTR_RELAYS is set; unset one of them',
    ]);
  });

  it('reads relay lists, booleans and blank values', () => {
    const config = loadConfig({
      NOSTR_RELAYS: ' wss://relay.one , ws://127.0.0.1:7777,wss://relay.one ',
      ENABLE_METRICS: 'YES',
      VTXO_AUTO_START: 'off',
      PORT: '   ',
    });
    expect(config.nostr.relays).toEqual(['wss://relay.one', 'ws://127.0.0.1:7777']);
    expect(config.metrics.enabled).toBe(true);
    expect(config.autoStart.vtxo).toBe(false);
    expect(config.port).toBe(8000);
    expect(problemsOf({ NOSTR_RELAYS: 'https://relay.example' })).toEqual([
      'NOSTR_RELAYS: each relay must be a ws:// or wss:// URL (got "https://relay.example")',
    ]);
  });

  it('needs the encryption key for an encrypted gateway key', () => {
    expect(problemsOf({ GATEWAY_NOSTR_PRIVATE_KEY: 'ciphertext' })).toEqual([
      'GATEWAY_ENCRYPTION_KEY: is required to decrypt GATEWAY_NOSTR_PRIVATE_KEY',
    ]);
  });

  it('keeps secrets out of string conversion', () => {
    const secret = new Secret('xprv-very-secret');
    expect(`${secret}`).toBe('[redacted]');
    expect(JSON.stringify({ secret })).toBe('{"secret":"[redacted]"}');
    expect(inspect(secret)).toBe('Secret([redacted])');
    const config: Config = loadConfig({
      ADMIN_API_KEY: 'a'.repeat(48),
      REDIS_URL: 'redis://:pw-123@127.0.0.1:6379/2',
    });
    expect(config.redis?.display).toBe('redis://:***@127.0.0.1:6379/2');
    expect(JSON.stringify(config)).not.toMatch(/pw-123|a{48}/);
  });
});
