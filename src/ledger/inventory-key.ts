// The gateway's inventory key: the secp256k1 key that owns inventory and fee VTXOs and signs
// the gateway's own Ark inputs. ARK_INVENTORY_SECRET_KEY when configured; otherwise generated
// on the first start and kept in `settings`, encrypted at rest exactly as the Nostr keys are
// (AES-256-GCM under GATEWAY_ENCRYPTION_KEY, or SECRET_KEY without one). The secret leaves this
// module only as the Uint8Array handed to signing; logs and JSON see the public key alone.
import type { Secret } from '../config.ts';
import { StartupError } from '../errors.ts';
import type { Logger } from '../logging.ts';
import { isValidSecret, publicKeyOf } from '../nostr/event.ts';
import { decryptSecretKey, encryptSecretKey, generateSecretKey } from '../nostr/keys.ts';
import type { Database } from '../store/database.ts';
import { isUniqueViolation } from '../store/db-errors.ts';
import { readSetting } from './settings.ts';

/** The `settings` row of the generated key. */
export const INVENTORY_KEY_SETTING = 'ledger.inventory_key';

export interface InventoryKey {
  /** x-only public key, hex. */
  readonly pubkey: string;
  /** Read only to sign; never logged. */
  readonly secretKey: Uint8Array;
  toJSON(): { pubkey: string };
}

interface StoredKey {
  readonly pubkey: string;
  readonly encrypted_secret: string;
}

export interface InventoryKeyOptions {
  readonly database: Database;
  /** atRestKey(config, secretKey) of src/nostr/keys.ts: the same key that protects the Nostr keys. */
  readonly atRestKey: Secret;
  /** ARK_INVENTORY_SECRET_KEY (config.inventory.secretKey). */
  readonly configured: Secret | undefined;
  readonly logger: Logger;
  readonly now?: () => number;
}

function inventoryKey(secretKey: Uint8Array): InventoryKey {
  const pubkey = publicKeyOf(secretKey);
  // A key that ends up in a log or a response shows only its public half.
  return { pubkey, secretKey, toJSON: () => ({ pubkey }) };
}

function decryptStored(stored: StoredKey, atRestKey: Secret): InventoryKey {
  let key: InventoryKey;
  try {
    key = inventoryKey(decryptSecretKey(stored.encrypted_secret, atRestKey));
  } catch {
    throw new StartupError(
      'GATEWAY_ENCRYPTION_KEY',
      `cannot decrypt the inventory key ${stored.pubkey} stored in the database: GATEWAY_ENCRYPTION_KEY (or SECRET_KEY without it) is wrong or the row was altered`,
    );
  }
  if (key.pubkey !== stored.pubkey) {
    throw new StartupError('GATEWAY_ENCRYPTION_KEY', `the stored inventory key ${stored.pubkey} was altered`);
  }
  return key;
}

/**
 * The inventory key of this gateway. Two instances starting at once end with the same key: the
 * generated one is inserted under the unique settings name, and whoever loses the insert reads
 * the winner's. Throws StartupError for a configured key that is not a valid secret or a stored
 * one that does not decrypt.
 */
export async function loadInventoryKey(options: InventoryKeyOptions): Promise<InventoryKey> {
  const { database, atRestKey, logger } = options;
  const stored = await readSetting<StoredKey>(database, INVENTORY_KEY_SETTING);
  if (options.configured) {
    const secret = new Uint8Array(Buffer.from(options.configured.reveal(), 'hex'));
    if (!isValidSecret(secret)) {
      throw new StartupError('ARK_INVENTORY_SECRET_KEY', 'is not a valid secp256k1 secret key');
    }
    const key = inventoryKey(secret);
    if (stored && stored.pubkey !== key.pubkey) {
      // VTXOs the stored key owns can only be spent with it: the operator must know.
      logger.warn(
        { configured: key.pubkey, stored: stored.pubkey },
        'ARK_INVENTORY_SECRET_KEY differs from the inventory key generated earlier; VTXOs owned by the earlier key need it to be spent',
      );
    }
    return key;
  }
  if (stored) return decryptStored(stored, atRestKey);

  const secret = generateSecretKey();
  const pubkey = publicKeyOf(secret);
  const value: StoredKey = { pubkey, encrypted_secret: encryptSecretKey(secret, atRestKey) };
  try {
    await database.db
      .insertInto('settings')
      .values({
        name: INVENTORY_KEY_SETTING,
        value_json: JSON.stringify(value),
        updated_at: (options.now ?? Date.now)(),
      })
      .execute();
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    // Another instance generated one first: theirs is the key.
    const winner = await readSetting<StoredKey>(database, INVENTORY_KEY_SETTING);
    if (!winner) throw error;
    return decryptStored(winner, atRestKey);
  }
  logger.info({ pubkey }, 'generated the inventory key');
  return inventoryKey(secret);
}
