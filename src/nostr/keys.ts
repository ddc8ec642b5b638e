// The gateway's Nostr identity. Keys are kept encrypted at rest (AES-256-GCM, the key derived
// with scrypt from GATEWAY_ENCRYPTION_KEY) and live in the gateway_keys table: one `active` key,
// and `previous` keys that still decrypt and answer until `retire_after_at` (rotation grace).
// A key given in the environment (GATEWAY_NOSTR_PRIVATE_KEY encrypted, or NOSTR_PRIVATE_KEY
// plain) becomes the active key; with none, the first start generates one. A secret never
// leaves this module except as a Uint8Array handed to signing and ECDH.
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { nip19 } from 'nostr-tools';
import type { Config, Secret } from '../config.ts';
import { StartupError } from '../errors.ts';
import type { Logger } from '../logging.ts';
import type { Database } from '../store/database.ts';
import { isUniqueViolation } from '../store/db-errors.ts';
import { PeerCipher } from './crypto.ts';
import { isValidSecret, publicKeyOf } from './event.ts';

const BLOB_PREFIX = 'arkrelay:v1:';
const AAD = Buffer.from('arkrelay gateway nostr key v1');
const SCRYPT = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;

export class KeyDecryptionError extends Error {
  constructor() {
    super('wrong encryption key or tampered ciphertext');
    this.name = 'KeyDecryptionError';
  }
}

const derive = (encryptionKey: Secret, salt: Buffer) => scryptSync(encryptionKey.reveal(), salt, 32, SCRYPT);

/** `arkrelay:v1:` + base64url(salt 16 | iv 12 | tag 16 | ciphertext 32). */
export function encryptSecretKey(secret: Uint8Array, encryptionKey: Secret): string {
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', derive(encryptionKey, salt), iv);
  cipher.setAAD(AAD);
  const body = Buffer.concat([cipher.update(secret), cipher.final()]);
  return BLOB_PREFIX + Buffer.concat([salt, iv, cipher.getAuthTag(), body]).toString('base64url');
}

/** Throws KeyDecryptionError for a wrong key, a tampered or a malformed blob. */
export function decryptSecretKey(blob: string, encryptionKey: Secret): Uint8Array {
  if (!blob.startsWith(BLOB_PREFIX)) throw new KeyDecryptionError();
  const raw = Buffer.from(blob.slice(BLOB_PREFIX.length), 'base64url');
  if (raw.length !== 16 + 12 + 16 + 32) throw new KeyDecryptionError();
  try {
    const decipher = createDecipheriv(
      'aes-256-gcm',
      derive(encryptionKey, raw.subarray(0, 16)),
      raw.subarray(16, 28),
    );
    decipher.setAAD(AAD);
    decipher.setAuthTag(raw.subarray(28, 44));
    const secret = new Uint8Array(Buffer.concat([decipher.update(raw.subarray(44)), decipher.final()]));
    if (!isValidSecret(secret)) throw new KeyDecryptionError();
    return secret;
  } catch {
    throw new KeyDecryptionError();
  }
}

/** A private key written as 64 hex characters or as an nsec; undefined when it is neither. */
export function parseSecretKey(text: string): Uint8Array | undefined {
  const value = text.trim();
  let secret: Uint8Array | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(value)) secret = new Uint8Array(Buffer.from(value, 'hex'));
  else if (value.startsWith('nsec1')) {
    try {
      const decoded = nip19.decode(value);
      if (decoded.type === 'nsec') secret = decoded.data;
    } catch {
      secret = undefined;
    }
  }
  return secret && isValidSecret(secret) ? secret : undefined;
}

export function generateSecretKey(): Uint8Array {
  for (;;) {
    const secret = new Uint8Array(randomBytes(32));
    if (isValidSecret(secret)) return secret;
  }
}

export const npubOf = (pubkey: string) => nip19.npubEncode(pubkey);

export interface GatewayKey {
  readonly pubkey: string;
  readonly status: 'active' | 'previous';
  readonly retireAfterAt: number | null;
  readonly cipher: PeerCipher;
  /** Kept inside the ring; read only to sign. */
  readonly secret: Uint8Array;
  toJSON(): Record<string, unknown>;
}

function gatewayKey(
  secret: Uint8Array,
  status: GatewayKey['status'],
  retireAfterAt: number | null,
  cipher?: PeerCipher,
): GatewayKey {
  const pubkey = publicKeyOf(secret);
  return {
    pubkey,
    status,
    retireAfterAt,
    secret,
    cipher: cipher ?? new PeerCipher(secret),
    // A key that ends up in a log or a response shows only its public half.
    toJSON: () => ({ pubkey, status }),
  };
}

/** What decrypts the keys stored in the database. */
export function atRestKey(config: Config, secretKey: Secret): Secret {
  return config.nostr.encryptionKey ?? secretKey;
}

/** The key configured in the environment, if any; a bad value stops the start. */
export function configuredSecret(config: Config, logger: Logger): Uint8Array | undefined {
  const { encryptedPrivateKey, encryptionKey, plainPrivateKey } = config.nostr;
  if (encryptedPrivateKey && encryptionKey) {
    try {
      return decryptSecretKey(encryptedPrivateKey.reveal().trim(), encryptionKey);
    } catch {
      throw new StartupError(
        'GATEWAY_NOSTR_PRIVATE_KEY',
        'cannot be decrypted: GATEWAY_ENCRYPTION_KEY is wrong or the value was altered (make it with `arkrelay keys encrypt`)',
      );
    }
  }
  if (plainPrivateKey) {
    const secret = parseSecretKey(plainPrivateKey.reveal());
    if (!secret) throw new StartupError('NOSTR_PRIVATE_KEY', 'must be 64 hex characters or an nsec');
    logger.warn(
      { pubkey: publicKeyOf(secret) },
      'NOSTR_PRIVATE_KEY is a plain key: prefer GATEWAY_NOSTR_PRIVATE_KEY (`arkrelay keys encrypt`)',
    );
    return secret;
  }
  return undefined;
}

export interface KeyStoreOptions {
  readonly database: Database;
  readonly atRestKey: Secret;
  readonly graceMs: number;
  readonly logger: Logger;
  readonly now?: () => number;
}

/**
 * The gateway's keys, read from gateway_keys. `refresh()` re-reads them (another process may
 * have rotated); keys past their grace are retired. Ciphers (and their ECDH caches) survive a
 * refresh.
 */
export class KeyRing {
  readonly #options: KeyStoreOptions;
  #keys: GatewayKey[] = [];
  #version = 0;

  constructor(options: KeyStoreOptions) {
    this.#options = options;
  }

  get active(): GatewayKey {
    const key = this.#keys[0];
    if (!key) throw new Error('the key ring is not loaded');
    return key;
  }

  /** Active first, then previous keys still in their grace period. */
  get keys(): readonly GatewayKey[] {
    return this.#keys;
  }

  get pubkeys(): string[] {
    return this.#keys.map((k) => k.pubkey);
  }

  /** Changes whenever the set of keys changes. */
  get version(): number {
    return this.#version;
  }

  get(pubkey: string): GatewayKey | undefined {
    return this.#keys.find((k) => k.pubkey === pubkey);
  }

  /**
   * At start: makes the configured key (if any) the active one, generates a key when there is
   * none, then loads. Throws StartupError when a stored key does not decrypt.
   */
  async initialise(configured: Uint8Array | undefined): Promise<void> {
    const { database, logger } = this.#options;
    const now = this.#now();
    if (configured) {
      const pubkey = publicKeyOf(configured);
      const row = await database.db
        .selectFrom('gateway_keys')
        .select(['status'])
        .where('pubkey', '=', pubkey)
        .executeTakeFirst();
      if (row && row.status !== 'active') {
        logger.warn(
          { pubkey, status: row.status },
          'the configured gateway key was rotated out: using the active key of the database; update or unset GATEWAY_NOSTR_PRIVATE_KEY / NOSTR_PRIVATE_KEY',
        );
      } else if (!row) {
        await this.#makeActive(configured, now);
      }
    }
    const active = await database.db
      .selectFrom('gateway_keys')
      .select('pubkey')
      .where('status', '=', 'active')
      .executeTakeFirst();
    if (!active) {
      const secret = generateSecretKey();
      await this.#insert(secret, 'active', null, now);
      logger.info({ pubkey: publicKeyOf(secret) }, 'generated the gateway Nostr key');
    }
    await this.refresh(true);
  }

  /** Re-reads the table. At start (strict) a key that does not decrypt stops the process. */
  async refresh(strict = false): Promise<boolean> {
    const { database, logger } = this.#options;
    const now = this.#now();
    await database.db
      .updateTable('gateway_keys')
      .set({ status: 'retired', updated_at: now })
      .where('status', '=', 'previous')
      .where('retire_after_at', '<=', now)
      .execute();
    const rows = await database.db
      .selectFrom('gateway_keys')
      .selectAll()
      .where('status', 'in', ['active', 'previous'])
      .orderBy('created_at', 'asc')
      .orderBy('pubkey', 'asc')
      .execute();
    // Two first starts at once may each insert a key: the oldest wins, deterministically.
    const actives = rows.filter((r) => r.status === 'active');
    const winner = actives[0];
    const keys: GatewayKey[] = [];
    for (const row of rows) {
      const status = row === winner ? 'active' : row.status === 'active' ? undefined : 'previous';
      if (!status) continue;
      const existing = this.#keys.find((k) => k.pubkey === row.pubkey);
      let secret = existing?.secret;
      if (!secret) {
        try {
          secret = decryptSecretKey(row.encrypted_secret, this.#options.atRestKey);
        } catch {
          const message = `cannot decrypt the gateway key ${row.pubkey} stored in the database: GATEWAY_ENCRYPTION_KEY is wrong or the row was altered`;
          if (strict) throw new StartupError('GATEWAY_ENCRYPTION_KEY', message);
          logger.error({ pubkey: row.pubkey }, message);
          continue;
        }
        if (publicKeyOf(secret) !== row.pubkey) {
          const message = `gateway key row ${row.pubkey} holds another key`;
          if (strict) throw new StartupError('GATEWAY_ENCRYPTION_KEY', message);
          logger.error({ pubkey: row.pubkey }, message);
          continue;
        }
      }
      keys.push(gatewayKey(secret, status, row.retire_after_at, existing?.cipher));
    }
    keys.sort((a, b) => (a.status === b.status ? 0 : a.status === 'active' ? -1 : 1));
    if (!keys[0] || keys[0].status !== 'active') {
      if (strict) throw new StartupError('GATEWAY_ENCRYPTION_KEY', 'no usable active gateway key');
      return false;
    }
    const before = this.pubkeys.join(',');
    this.#keys = keys;
    if (before !== this.pubkeys.join(',')) {
      this.#version += 1;
      return true;
    }
    return false;
  }

  /** A new active key; the current one stays `previous` for the grace period. */
  async rotate(): Promise<{
    readonly pubkey: string;
    readonly previous: string;
    readonly retireAfterAt: number;
  }> {
    const previous = this.active.pubkey;
    const secret = generateSecretKey();
    const now = this.#now();
    const retireAfterAt = now + this.#options.graceMs;
    await this.#makeActive(secret, now);
    await this.refresh();
    return { pubkey: publicKeyOf(secret), previous, retireAfterAt };
  }

  async #makeActive(secret: Uint8Array, now: number): Promise<void> {
    const pubkey = publicKeyOf(secret);
    const encrypted = encryptSecretKey(secret, this.#options.atRestKey);
    await this.#options.database.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('gateway_keys')
        .set({ status: 'previous', retire_after_at: now + this.#options.graceMs, updated_at: now })
        .where('status', '=', 'active')
        .where('pubkey', '!=', pubkey)
        .execute();
      try {
        await trx
          .insertInto('gateway_keys')
          .values({
            pubkey,
            encrypted_secret: encrypted,
            status: 'active',
            created_at: now,
            updated_at: now,
            retire_after_at: null,
          })
          .execute();
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
      }
    });
  }

  async #insert(secret: Uint8Array, status: 'active', retireAfterAt: null, now: number): Promise<void> {
    try {
      await this.#options.database.db
        .insertInto('gateway_keys')
        .values({
          pubkey: publicKeyOf(secret),
          encrypted_secret: encryptSecretKey(secret, this.#options.atRestKey),
          status,
          created_at: now,
          updated_at: now,
          retire_after_at: retireAfterAt,
        })
        .execute();
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
    }
  }

  #now(): number {
    return (this.#options.now ?? Date.now)();
  }
}
