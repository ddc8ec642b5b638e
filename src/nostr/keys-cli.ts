// `arkrelay keys generate | encrypt | rotate | pubkey`. Output goes to stdout for the operator
// (never to the log); a private key is only ever printed encrypted, and read from stdin, never
// from the command line (which other users can see in the process list).
import { prepareSchema } from '../store/migrator.ts';
import type { Config } from '../config.ts';
import { StartupError } from '../errors.ts';
import type { Logger } from '../logging.ts';
import { ensureLocalSecret } from '../secrets.ts';
import { openDatabase } from '../store/database.ts';
import { publicKeyOf } from './event.ts';
import {
  KeyRing,
  atRestKey,
  configuredSecret,
  encryptSecretKey,
  generateSecretKey,
  npubOf,
  parseSecretKey,
} from './keys.ts';

function encryptionKeyOf(config: Config) {
  const key = config.nostr.encryptionKey;
  if (!key)
    throw new StartupError(
      'GATEWAY_ENCRYPTION_KEY',
      'is required to encrypt a gateway key (at least 32 characters)',
    );
  return key;
}

export function keysGenerate(config: Config): string[] {
  const secret = generateSecretKey();
  const pubkey = publicKeyOf(secret);
  return [
    `pubkey: ${pubkey}`,
    `npub: ${npubOf(pubkey)}`,
    `GATEWAY_NOSTR_PRIVATE_KEY=${encryptSecretKey(secret, encryptionKeyOf(config))}`,
  ];
}

/** `input`: a private key as hex or nsec (read from stdin by the caller). */
export function keysEncrypt(config: Config, input: string): string[] {
  const secret = parseSecretKey(input);
  if (!secret) throw new StartupError('stdin', 'expected a private key: 64 hex characters or an nsec');
  const pubkey = publicKeyOf(secret);
  return [
    `pubkey: ${pubkey}`,
    `npub: ${npubOf(pubkey)}`,
    `GATEWAY_NOSTR_PRIVATE_KEY=${encryptSecretKey(secret, encryptionKeyOf(config))}`,
  ];
}

async function withKeyRing<T>(
  config: Config,
  logger: Logger,
  work: (keys: KeyRing) => Promise<T>,
): Promise<T> {
  const database = await openDatabase(config.database, logger);
  try {
    await prepareSchema(config, database, logger);
    const secretKey = config.secretKey ?? ensureLocalSecret(config.dataDir, 'secret_key');
    const keys = new KeyRing({
      database,
      atRestKey: atRestKey(config, secretKey),
      graceMs: config.nostr.keyGraceMs,
      logger,
    });
    await keys.initialise(configuredSecret(config, logger));
    return await work(keys);
  } finally {
    await database.close();
  }
}

export function keysPubkey(config: Config, logger: Logger): Promise<string[]> {
  return withKeyRing(config, logger, async (keys) => [
    `pubkey: ${keys.active.pubkey}`,
    `npub: ${npubOf(keys.active.pubkey)}`,
    ...keys.keys
      .filter((k) => k.status === 'previous')
      .map((k) => `previous: ${k.pubkey} (until ${new Date(k.retireAfterAt ?? 0).toISOString()})`),
  ]);
}

export function keysRotate(config: Config, logger: Logger): Promise<string[]> {
  return withKeyRing(config, logger, async (keys) => {
    const rotated = await keys.rotate();
    const lines = [
      `pubkey: ${rotated.pubkey}`,
      `npub: ${npubOf(rotated.pubkey)}`,
      `previous: ${rotated.previous} (still answered until ${new Date(rotated.retireAfterAt).toISOString()})`,
      'running gateways pick the new key up within 30 s',
    ];
    if (config.nostr.encryptedPrivateKey || config.nostr.plainPrivateKey) {
      const active = keys.active;
      lines.push(
        'the environment still names the previous key: unset GATEWAY_NOSTR_PRIVATE_KEY / NOSTR_PRIVATE_KEY (the key lives in the database now)' +
          (config.nostr.encryptionKey
            ? `, or set GATEWAY_NOSTR_PRIVATE_KEY=${encryptSecretKey(active.secret, config.nostr.encryptionKey)}`
            : ''),
      );
    }
    return lines;
  });
}
