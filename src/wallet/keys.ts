// A wallet identity: one x-only secp256k1 key that is both the user's Nostr key and the owner
// key of the user's VTXOs. Signs Nostr events, BIP-340 digests, and encrypts NIP-44 to peers
// (conversation keys cached per peer). Everything here is nostr-tools and libsecp256k1.
// BIP-340 signing through libsecp256k1 (WASM, also in browsers): about 6× the pure-JS curve.
import * as ecc from 'tiny-secp256k1';
import { hex } from '@scure/base';
import { nip19 } from 'nostr-tools';
import * as nip04 from 'nostr-tools/nip04';
import * as nip44 from 'nostr-tools/nip44';
import { generateSecretKey, getEventHash, getPublicKey, type EventTemplate } from 'nostr-tools/pure';
import type { NostrEvent } from '../domain/nostr-protocol.ts';

/** A hex x-only key or an npub, as lowercase hex; throws on anything else. */
export function toHexPubkey(key: string): string {
  const text = key.trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return text.toLowerCase();
  if (text.startsWith('npub1')) {
    const decoded = nip19.decode(text);
    if (decoded.type === 'npub') return decoded.data;
  }
  throw new Error('a public key is 64 hex characters or an npub');
}

export class WalletKey {
  readonly #secret: Uint8Array;
  readonly pubkey: string;
  readonly #conversations = new Map<string, Uint8Array>();

  private constructor(secret: Uint8Array) {
    if (secret.length !== 32) throw new Error('a secret key is 32 bytes');
    this.#secret = Uint8Array.from(secret);
    this.pubkey = getPublicKey(this.#secret);
  }

  static generate(): WalletKey {
    return new WalletKey(generateSecretKey());
  }

  /** From 32 bytes, 64 hex characters or an nsec. */
  static from(secret: Uint8Array | string): WalletKey {
    if (secret instanceof Uint8Array) return new WalletKey(secret);
    const text = secret.trim();
    if (/^[0-9a-fA-F]{64}$/.test(text)) return new WalletKey(hex.decode(text.toLowerCase()));
    if (text.startsWith('nsec1')) {
      const decoded = nip19.decode(text);
      if (decoded.type === 'nsec') return new WalletKey(decoded.data);
    }
    throw new Error('a secret key is 32 bytes, 64 hex characters or an nsec');
  }

  get npub(): string {
    return nip19.npubEncode(this.pubkey);
  }

  /** The secret as nsec, for the user to back up. Never log it. */
  get nsec(): string {
    return nip19.nsecEncode(this.#secret);
  }

  get secretHex(): string {
    return hex.encode(this.#secret);
  }

  signEvent(template: EventTemplate): NostrEvent {
    const unsigned = { ...template, pubkey: this.pubkey };
    const id = getEventHash(unsigned);
    return { ...unsigned, id, sig: this.signDigest(hex.decode(id)) };
  }

  /** BIP-340 Schnorr signature over a 32-byte digest, hex. */
  signDigest(digest: Uint8Array): string {
    if (digest.length !== 32) throw new Error('a digest is 32 bytes');
    return hex.encode(
      ecc.signSchnorr(digest, this.#secret, globalThis.crypto.getRandomValues(new Uint8Array(32))),
    );
  }

  #conversationKey(peer: string): Uint8Array {
    let key = this.#conversations.get(peer);
    if (!key) {
      key = nip44.getConversationKey(this.#secret, peer);
      this.#conversations.set(peer, key);
    }
    return key;
  }

  encrypt(peer: string, plaintext: string): string {
    return nip44.encrypt(plaintext, this.#conversationKey(peer));
  }

  /** NIP-44 v2, or NIP-04 when the content carries `?iv=` (the gateway answers in the request's scheme). */
  decrypt(peer: string, content: string): string {
    if (content.includes('?iv=')) return nip04.decrypt(this.#secret, peer, content);
    return nip44.decrypt(content, this.#conversationKey(peer));
  }
}
