// The gateway key: encryption at rest round-trips, a tampered value or a wrong
// GATEWAY_ENCRYPTION_KEY stops the start with a clear message, the CLI never prints a plain
// key, and after `keys rotate` a request to the previous key is still answered.
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { generateSecretKey as ntGenerate, getPublicKey, nip19 } from 'nostr-tools';
import { Secret } from '../../src/config.ts';
import { StartupError } from '../../src/errors.ts';
import {
  decryptSecretKey,
  encryptSecretKey,
  KeyDecryptionError,
  parseSecretKey,
} from '../../src/nostr/keys.ts';
import { keysRotate } from '../../src/nostr/keys-cli.ts';
import { PeerCipher } from '../../src/nostr/crypto.ts';
import { runCli } from '../support/cli.ts';
import { silentLogger } from '../support/test-database.ts';
import { waitFor } from '../support/wait.ts';
import {
  Wallet,
  createStack,
  gatewayConfig,
  stackName,
  startRelay,
  startTestGateway,
  waitReady,
} from './support.ts';

const encryptionKey = new Secret('an encryption key of forty characters..');

describe('key encryption at rest', () => {
  it('round-trips, and refuses a wrong key or any altered byte', () => {
    const secret = ntGenerate();
    const blob = encryptSecretKey(secret, encryptionKey);
    expect(blob).toMatch(/^arkrelay:v1:/);
    expect(blob).not.toContain(Buffer.from(secret).toString('hex'));
    expect(Buffer.from(decryptSecretKey(blob, encryptionKey))).toEqual(Buffer.from(secret));
    expect(() => decryptSecretKey(blob, new Secret('another encryption key of forty chars..'))).toThrow(
      KeyDecryptionError,
    );
    const body = blob.slice('arkrelay:v1:'.length);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: body.length - 2 }), (i) => {
        const flipped = body[i] === 'A' ? 'B' : 'A';
        const tampered = `arkrelay:v1:${body.slice(0, i)}${flipped}${body.slice(i + 1)}`;
        expect(() => decryptSecretKey(tampered, encryptionKey)).toThrow(KeyDecryptionError);
      }),
      { numRuns: 12 },
    );
  });

  it('reads hex and nsec keys', () => {
    const secret = ntGenerate();
    expect(parseSecretKey(Buffer.from(secret).toString('hex'))).toEqual(secret);
    expect(parseSecretKey(nip19.nsecEncode(secret))).toEqual(secret);
    expect(parseSecretKey('nsec1garbage')).toBeUndefined();
    expect(parseSecretKey('00'.repeat(32))).toBeUndefined();
  });

  it('NIP-44 and NIP-04 interoperate with nostr-tools, and the shared secret is cached per peer', async () => {
    const { nip04, nip44 } = await import('nostr-tools');
    const gateway = ntGenerate();
    const user = ntGenerate();
    const cipher = new PeerCipher(gateway);
    const userPub = getPublicKey(user);
    const gatewayPub = getPublicKey(gateway);
    const sealed = cipher.encrypt(userPub, 'héllo', 'nip44');
    expect(nip44.decrypt(sealed, nip44.getConversationKey(user, gatewayPub))).toBe('héllo');
    expect(
      cipher.decrypt(userPub, nip44.encrypt('bonjour', nip44.getConversationKey(user, gatewayPub))),
    ).toEqual({
      plaintext: 'bonjour',
      scheme: 'nip44',
    });
    expect(nip04.decrypt(user, gatewayPub, cipher.encrypt(userPub, 'old', 'nip04'))).toBe('old');
    expect(cipher.decrypt(userPub, nip04.encrypt(user, gatewayPub, 'older')).plaintext).toBe('older');
    expect(cipher.cachedPeers).toBe(1);
    expect(() => cipher.decrypt(userPub, 'bm90IGEgcGF5bG9hZA==')).toThrow(/does not decrypt/);
  });
});

describe('arkrelay keys', () => {
  it(
    'generate and encrypt print only the encrypted key; a tampered or wrongly keyed value stops the start',
    { timeout: 90_000 },
    async () => {
      const env = { GATEWAY_ENCRYPTION_KEY: encryptionKey.reveal() };
      const generated = runCli(['keys', 'generate'], env);
      expect((await generated.exited).code).toBe(0);
      const blob = /GATEWAY_NOSTR_PRIVATE_KEY=(\S+)/.exec(generated.stdout())![1]!;
      expect(generated.stdout()).toMatch(/^pubkey: [0-9a-f]{64}$/m);

      const secret = ntGenerate();
      const encrypt = runCli(['keys', 'encrypt'], env, undefined, nip19.nsecEncode(secret));
      expect((await encrypt.exited).code).toBe(0);
      expect(encrypt.stdout()).toContain(`pubkey: ${getPublicKey(secret)}`);
      expect(encrypt.stdout()).not.toContain(Buffer.from(secret).toString('hex'));

      const tampered = blob.slice(0, -4) + (blob.endsWith('AAAA') ? 'BBBB' : 'AAAA');
      for (const [variables, expected] of [
        [
          { ...env, GATEWAY_NOSTR_PRIVATE_KEY: tampered },
          /^arkrelay: GATEWAY_NOSTR_PRIVATE_KEY: cannot be decrypted: GATEWAY_ENCRYPTION_KEY is wrong or the value was altered/,
        ],
        [
          {
            GATEWAY_ENCRYPTION_KEY: 'a different key that is forty characters',
            GATEWAY_NOSTR_PRIVATE_KEY: blob,
          },
          /^arkrelay: GATEWAY_NOSTR_PRIVATE_KEY: cannot be decrypted/,
        ],
      ] as const) {
        const run = runCli(['dev'], { PORT: '0', ...variables });
        expect((await run.exited).code).not.toBe(0);
        const lines = run.stderr().trim().split('\n');
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(expected);
      }
    },
  );

  it('pubkey prints the key the embedded default created on its first start', async () => {
    const run = runCli(['keys', 'pubkey']);
    expect((await run.exited).code).toBe(0);
    expect(run.stdout()).toMatch(/^pubkey: [0-9a-f]{64}\nnpub: npub1/);
  });
});

describe(`key rotation (${stackName})`, () => {
  let stop: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const step of stop.reverse()) await step();
    stop = [];
  });

  it('after keys rotate, a request to the previous key is still answered, and the new key too', async () => {
    const stack = await createStack();
    stop.push(() => stack.drop());
    const relay = await startRelay();
    stop.push(() => relay.stop());
    const gateway = await startTestGateway({ stack, relays: [relay.url] });
    stop.push(() => gateway.stop('test over'));
    await waitReady(gateway);
    const old = gateway.nostr!.core.keys.active.pubkey;

    const lines = await keysRotate(gatewayConfig({ stack, relays: [relay.url] }), silentLogger);
    const fresh = /^pubkey: ([0-9a-f]{64})$/m.exec(lines.join('\n'))![1]!;
    expect(fresh).not.toBe(old);
    await gateway.nostr!.refreshKeys();
    expect(gateway.nostr!.core.keys.pubkeys).toEqual([fresh, old]);
    await waitFor(() => gateway.nostr!.supervisorSubscribedAll(), 5_000, 'the new subscription');

    const wallet = new Wallet();
    const toOld = wallet.serviceRequest(old, 'info');
    await wallet.publish(relay.url, toOld);
    const oldReply = await wallet.waitReply(relay.url, toOld.id);
    expect(oldReply.event.pubkey).toBe(old);
    expect(oldReply.body).toMatchObject({
      status: 'ok',
      result: { gateway_pubkey: fresh, previous_pubkeys: [old] },
    });

    const toNew = wallet.serviceRequest(fresh, 'info');
    await wallet.publish(relay.url, toNew);
    expect((await wallet.waitReply(relay.url, toNew.id)).event.pubkey).toBe(fresh);

    // A restart keeps both (the previous one until its grace period ends).
    await gateway.stop('restart');
    stop.pop();
    const again = await startTestGateway({ stack, relays: [relay.url] });
    stop.push(() => again.stop('test over'));
    expect(again.nostr!.core.keys.pubkeys).toEqual([fresh, old]);
  });

  it('a stored key that does not decrypt stops the start, naming GATEWAY_ENCRYPTION_KEY', async () => {
    const stack = await createStack();
    stop.push(() => stack.drop());
    const first = await startTestGateway({ stack, env: { GATEWAY_ENCRYPTION_KEY: encryptionKey.reveal() } });
    await first.stop('done');
    await expect(
      startTestGateway({
        stack,
        env: { GATEWAY_ENCRYPTION_KEY: 'another key, also at least forty chars..' },
      }),
    ).rejects.toThrow(StartupError);
    await expect(
      startTestGateway({
        stack,
        env: { GATEWAY_ENCRYPTION_KEY: 'another key, also at least forty chars..' },
      }),
    ).rejects.toThrow(
      /^GATEWAY_ENCRYPTION_KEY: cannot decrypt the gateway key [0-9a-f]{64} stored in the database/,
    );
  });
});
