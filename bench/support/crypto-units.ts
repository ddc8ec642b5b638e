// Unit cost of each crypto operation the gateway process performs, measured with the same
// libraries (and copies of them) the gateway calls, on inputs shaped like the real traffic.
// Each figure is the median of 5 timed batches of at least 200 ms, after a warm-up.
import { createECDH, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { schnorr } from '@noble/curves/secp256k1.js';
import { getEventHash, getPublicKey } from 'nostr-tools/pure';
import * as nip44 from 'nostr-tools/nip44';
import * as ecc from 'tiny-secp256k1';
import type { CryptoCounter, Op } from './crypto-count.ts';

// The Ark SDK's own copy of @scure/btc-signer (the one its VTXO scripts tweak with).
const sdkBtcSigner = (await import(
  new URL('../../node_modules/@arkade-os/sdk/node_modules/@scure/btc-signer/utils.js', import.meta.url).href
).catch(() => import('@scure/btc-signer/utils.js'))) as {
  taprootTweakPubkey: (p: Uint8Array, h: Uint8Array) => unknown;
};

export interface UnitCost {
  readonly op: Op;
  readonly us: number;
  readonly perSecond: number;
  readonly detail: string;
}

function measure(work: () => unknown): number {
  const batch = (minMs: number) => {
    let n = 0;
    const started = performance.now();
    let elapsed = 0;
    while (elapsed < minMs) {
      for (let i = 0; i < 16; i++) work();
      n += 16;
      elapsed = performance.now() - started;
    }
    return (elapsed * 1000) / n;
  };
  batch(100);
  const samples = Array.from({ length: 5 }, () => batch(200)).sort((a, b) => a - b);
  return samples[2]!;
}

/** Unit costs in µs; plaintext and event sizes follow what `counter` saw per call, when it did. */
export function measureUnitCosts(
  counter: CryptoCounter,
  averages: { encryptBytes: number; decryptBytes: number; eventContentBytes: number },
): UnitCost[] {
  const secret = randomBytes(32);
  const peerSecret = randomBytes(32);
  const pubkey = ecc.xOnlyPointFromScalar(secret);
  const digest = randomBytes(32);
  const tinySig = ecc.signSchnorr(digest, secret, randomBytes(32));
  const nobleSig = schnorr.sign(digest, secret);
  const key = nip44.v2.utils.getConversationKey(secret, getPublicKey(peerSecret));
  const encryptText = 'x'.repeat(Math.max(1, Math.round(averages.encryptBytes)));
  const decryptText = nip44.v2.encrypt('y'.repeat(Math.max(1, Math.round(averages.decryptBytes))), key);
  const event = {
    kind: 31511,
    created_at: Math.floor(Date.now() / 1000),
    pubkey: Buffer.from(pubkey).toString('hex'),
    tags: [
      ['p', 'ab'.repeat(32)],
      ['e', 'cd'.repeat(32)],
      ['d', 'session:1'],
      ['expiration', '1999999999'],
    ],
    content: 'A'.repeat(Math.max(1, Math.round(averages.eventContentBytes))),
  };
  const ecdh = createECDH('secp256k1');
  ecdh.setPrivateKey(secret);
  const peer = Buffer.from(`02${getPublicKey(peerSecret)}`, 'hex');
  const require = createRequire(import.meta.url);
  const relayCrypto = require('@nostr-relay/common/dist/utils/crypto.util.js') as {
    schnorrVerify: (sig: string, msg: string, pub: string) => boolean;
    sha256: (message: unknown) => string;
  };
  const relayArgs = [
    Buffer.from(nobleSig).toString('hex'),
    Buffer.from(digest).toString('hex'),
    Buffer.from(pubkey).toString('hex'),
  ] as const;
  const relayIdInput = [0, event.pubkey, event.created_at, event.kind, event.tags, event.content];

  const wasEnabled = counter.enabled;
  counter.enabled = false;
  const rows: [Op, () => unknown, string][] = [
    [
      'schnorr_sign_tiny',
      () => ecc.signSchnorr(digest, secret, randomBytes(32)),
      'tiny-secp256k1 (WASM), aux rand',
    ],
    ['schnorr_verify_tiny', () => ecc.verifySchnorr(digest, pubkey, tinySig), 'tiny-secp256k1 (WASM)'],
    ['schnorr_sign_noble', () => schnorr.sign(digest, secret), '@noble/curves 2.x'],
    ['schnorr_verify_noble', () => schnorr.verify(nobleSig, digest, pubkey), '@noble/curves 2.x'],
    ['schnorr_pubkey_noble', () => schnorr.getPublicKey(secret), '@noble/curves 2.x'],
    [
      'taproot_tweak',
      () => sdkBtcSigner.taprootTweakPubkey(pubkey, digest),
      'Ark SDK @scure/btc-signer (P2TR output key)',
    ],
    [
      'schnorr_verify_relay',
      () => relayCrypto.schnorrVerify(...relayArgs),
      '@nostr-relay/common → @noble/curves 1.9 (hex in)',
    ],
    ['event_id_sha256', () => getEventHash(event), `nostr-tools, content ${event.content.length} B`],
    [
      'event_id_sha256_relay',
      () => relayCrypto.sha256(relayIdInput),
      `relay, content ${event.content.length} B`,
    ],
    [
      'nip44_encrypt',
      () => nip44.v2.encrypt(encryptText, key),
      `nostr-tools v2, ${encryptText.length} B plaintext`,
    ],
    [
      'nip44_decrypt',
      () => nip44.v2.decrypt(decryptText, key),
      `nostr-tools v2, ${Math.round(averages.decryptBytes)} B plaintext`,
    ],
    ['ecdh', () => ecdh.computeSecret(peer), 'node:crypto secp256k1 (cached per peer)'],
  ];
  const sample = counter.sampleSighash;
  if (sample) {
    const tx = sample.tx as { preimageWitnessV1: (...a: unknown[]) => unknown };
    rows.push([
      'bip341_sighash',
      () => tx.preimageWitnessV1(...sample.args),
      'Ark SDK Transaction, a real ceremony tx',
    ]);
  }
  const costs = rows.map(([op, work, detail]) => {
    const us = measure(work);
    return { op, us, perSecond: 1e6 / us, detail };
  });
  counter.enabled = wasEnabled;
  return costs;
}
