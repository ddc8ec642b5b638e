// NIP-44 v2 and NIP-04 encryption between a gateway key and a peer. The ECDH shared secret
// comes from node:crypto on secp256k1 (about 6× the pure-JS curve) and is cached per
// (gateway key, peer), so a conversation pays for it once. The NIP-44 cipher itself is
// nostr-tools' (it takes the conversation key); NIP-04 is AES-256-CBC over the shared x.
import { createCipheriv, createDecipheriv, createECDH, randomBytes } from 'node:crypto';
import { extract } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import * as nip44 from 'nostr-tools/nip44';
import { ProtocolError } from '../domain/error-codes.ts';
import { detectScheme, type EncryptionScheme } from '../domain/nostr-protocol.ts';

const NIP44_SALT = new TextEncoder().encode('nip44-v2');
const CACHE_LIMIT = 10_000;

interface PeerSecrets {
  readonly sharedX: Buffer;
  readonly conversationKey: Uint8Array;
}

/** Encrypts and decrypts for one gateway key; shared secrets are cached per peer (bounded LRU). */
export class PeerCipher {
  readonly #ecdh;
  readonly #cache = new Map<string, PeerSecrets>();

  constructor(secret: Uint8Array) {
    this.#ecdh = createECDH('secp256k1');
    this.#ecdh.setPrivateKey(Buffer.from(secret));
  }

  #secrets(peer: string): PeerSecrets {
    const cached = this.#cache.get(peer);
    if (cached) {
      // Refresh its place: the map iterates oldest first.
      this.#cache.delete(peer);
      this.#cache.set(peer, cached);
      return cached;
    }
    if (!/^[0-9a-f]{64}$/.test(peer)) throw new ProtocolError('MALFORMED_CONTENT', 'peer key is not hex');
    let sharedX: Buffer;
    try {
      sharedX = this.#ecdh.computeSecret(Buffer.from(`02${peer}`, 'hex'));
    } catch {
      throw new ProtocolError('MALFORMED_CONTENT', 'peer key is not on the curve');
    }
    const secrets = { sharedX, conversationKey: extract(sha256, sharedX, NIP44_SALT) };
    this.#cache.set(peer, secrets);
    if (this.#cache.size > CACHE_LIMIT) this.#cache.delete(this.#cache.keys().next().value as string);
    return secrets;
  }

  get cachedPeers(): number {
    return this.#cache.size;
  }

  encrypt(peer: string, plaintext: string, scheme: EncryptionScheme): string {
    const { sharedX, conversationKey } = this.#secrets(peer);
    if (scheme === 'nip44') return nip44.v2.encrypt(plaintext, conversationKey);
    const iv = randomBytes(16);
    const cipher = createCipheriv('aes-256-cbc', sharedX, iv);
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `${body.toString('base64')}?iv=${iv.toString('base64')}`;
  }

  /** Throws ProtocolError 1002 when the content does not decrypt. */
  decrypt(peer: string, content: string): { plaintext: string; scheme: EncryptionScheme } {
    const scheme = detectScheme(content);
    const { sharedX, conversationKey } = this.#secrets(peer);
    try {
      if (scheme === 'nip44') return { plaintext: nip44.v2.decrypt(content, conversationKey), scheme };
      const [body, iv] = content.split('?iv=');
      const ivBytes = Buffer.from(iv ?? '', 'base64');
      if (!body || ivBytes.length !== 16) throw new Error('bad NIP-04 payload');
      const decipher = createDecipheriv('aes-256-cbc', sharedX, ivBytes);
      const plain = Buffer.concat([decipher.update(Buffer.from(body, 'base64')), decipher.final()]);
      return { plaintext: plain.toString('utf8'), scheme };
    } catch {
      // The cipher's own message may quote input; the client only learns that it failed.
      throw new ProtocolError('MALFORMED_CONTENT', `content does not decrypt as ${scheme}`);
    }
  }
}
