// Builders for 31510 intent events in the wire form of docs/protocol.md, for the domain tests.
// Ids and signatures are placeholders: parseIntent does not check them (intake does).
import { schnorr } from '@noble/curves/secp256k1.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { ProtocolError } from '../../src/domain/error-codes.ts';
import type { AssetAmount, IntentParams, IntentRules } from '../../src/domain/intents.ts';
import type { NostrEvent } from '../../src/domain/nostr-protocol.ts';

/** Deterministic keys: secret key i+1 for i = 0..19. */
export const KEYS: readonly string[] = Array.from({ length: 20 }, (_, i) => {
  const secret = new Uint8Array(32);
  secret[31] = i + 1;
  return bytesToHex(schnorr.getPublicKey(secret));
});
export const GATEWAY = KEYS[0]!;
export const OLD_GATEWAY = KEYS[1]!;
export const ALICE = KEYS[2]!;
export const BOB = KEYS[3]!;
/** x = 5 has no point on secp256k1: a well-formed hex that is no public key. */
export const NOT_A_POINT = '00'.repeat(31) + '05';

export const NOW = 1_760_000_000;
export const RULES: IntentRules = {
  gatewayPubkeys: [GATEWAY, OLD_GATEWAY],
  nowSeconds: NOW,
  maxLifetimeS: 3600,
};
export const SCHEDULE = { intentAsset: 'gBTC', intentAmount: 10n, landPpm: 1000n };

export type WireAmount = number | string;
/** Safe amounts as JSON numbers unless `asString`; larger ones must be strings. */
export const wireAmount = (amount: bigint, asString = false): WireAmount =>
  !asString && amount <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(amount) : amount.toString();

const wireAssets = (list: readonly AssetAmount[], asString: boolean) =>
  list.map((a) => ({ asset_id: a.assetId, amount: wireAmount(a.amount, asString) }));

/** The `params` object of an intent, as a wallet writes it. */
export function wireParams(p: IntentParams, asString = false): Record<string, unknown> {
  switch (p.type) {
    case 'transfer:p2p':
      return {
        recipient: p.recipient,
        asset_id: p.assetId,
        amount: wireAmount(p.amount, asString),
        ...(p.memo === undefined ? {} : { memo: p.memo }),
      };
    case 'vtxo:split':
      return { vtxo_id: p.vtxoId, amounts: p.amounts.map((a) => wireAmount(a, asString)) };
    case 'lightning:land':
      return { asset_id: p.assetId, amount: wireAmount(p.amount, asString), invoice: p.invoice };
    case 'swap:atomic':
    case 'liquidity:add':
      return {
        give: wireAssets(p.give, asString),
        receive: wireAssets(p.receive, asString),
        counterparty: p.counterparty,
      };
  }
}

export interface EventOptions {
  readonly author?: string;
  /** Replaces every tag; default p = gateway, d = action_id, expiration = expires_at. */
  readonly tags?: string[][];
  readonly kind?: number;
}

let counter = 0;

/** A 31510 event around `content` (an object is serialised; a string is used as is). */
export function intentEvent(content: unknown, opts: EventOptions = {}): NostrEvent {
  const text = typeof content === 'string' ? content : JSON.stringify(content);
  const c = (typeof content === 'object' && content !== null ? content : {}) as Record<string, unknown>;
  const tags = opts.tags ?? [
    ['p', GATEWAY],
    ['d', String(c.action_id)],
    ['expiration', String(c.expires_at)],
  ];
  return {
    id: (++counter).toString(16).padStart(64, '0'),
    pubkey: opts.author ?? ALICE,
    created_at: NOW - 5,
    kind: opts.kind ?? 31510,
    tags,
    content: text,
    sig: 'ab'.repeat(64),
  };
}

/** A valid transfer of 500 gBTC from Alice to Bob, as wire content; `patch` overrides fields. */
export function transferContent(patch: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    v: 1,
    action_id: 'a1b2c3',
    type: 'transfer:p2p',
    params: { recipient: BOB, asset_id: 'gBTC', amount: 500 },
    fee: { asset_id: 'gBTC', amount: 10 },
    expires_at: NOW + 600,
    ...patch,
  };
}

/** The protocol code `fn` throws, or undefined when it returns; anything else is rethrown. */
export function codeOf(fn: () => unknown): number | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    if (error instanceof ProtocolError) return error.code;
    throw error;
  }
}
