// Building and signing 31510 action intents, and the wallet's own parsed view of an intent it
// approved (amounts as bigint, recipient as hex), which the challenge verifier checks against.
import { KIND, type NostrEvent } from '../domain/nostr-protocol.ts';
import { jsonAmount, toAmount, type AmountLike } from './amounts.ts';
import { toHexPubkey, type WalletKey } from './keys.ts';

export const INTENT_TYPES = [
  'transfer:p2p',
  'vtxo:split',
  'lightning:land',
  'swap:atomic',
  'liquidity:add',
] as const;
export type IntentType = (typeof INTENT_TYPES)[number];

const ALIASES: Record<string, IntentType> = {
  p2p_transfer: 'transfer:p2p',
  land_lightning: 'lightning:land',
  atomic_swap: 'swap:atomic',
  add_liquidity: 'liquidity:add',
};

/** The canonical name of a type or one of its legacy aliases; undefined when unknown. */
export function canonicalType(type: string): IntentType | undefined {
  if ((INTENT_TYPES as readonly string[]).includes(type)) return type as IntentType;
  return ALIASES[type];
}

export interface Fee {
  readonly asset_id: string;
  readonly amount: AmountLike;
}

export interface IntentSpec {
  readonly type: string;
  readonly params: Record<string, unknown>;
  readonly fee: Fee;
  /** Unix seconds; default 10 minutes from now (the gateway allows at most INTENT_MAX_LIFETIME_S). */
  readonly expiresAt?: number;
  /** Default: a random UUID. */
  readonly actionId?: string;
}

export interface IntentContent {
  readonly v: 1;
  readonly action_id: string;
  readonly type: string;
  readonly params: Record<string, unknown>;
  readonly fee: { readonly asset_id: string; readonly amount: number | string };
  readonly expires_at: number;
}

export interface SignedIntent {
  readonly event: NostrEvent;
  readonly content: IntentContent;
}

export const DEFAULT_INTENT_LIFETIME_S = 600;
const ACTION_ID = /^[A-Za-z0-9_.:-]{1,64}$/;

/** Amount-valued params (any depth) as the protocol writes them. */
function encodeParams(params: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined) continue;
    if (typeof value === 'bigint') out[key] = jsonAmount(value);
    else if (Array.isArray(value))
      out[key] = value.map((v) =>
        typeof v === 'bigint'
          ? jsonAmount(v)
          : typeof v === 'object' && v !== null
            ? encodeParams(v as Record<string, unknown>)
            : v,
      );
    else out[key] = value;
  }
  return out;
}

/** A signed 31510 intent: plain JSON content, tags `p` gateway, `d` action_id, `expiration`. */
export function buildIntent(spec: IntentSpec, gatewayPubkey: string, key: WalletKey): SignedIntent {
  const actionId = spec.actionId ?? globalThis.crypto.randomUUID();
  if (!ACTION_ID.test(actionId)) throw new Error('action_id must be 1-64 of A-Z a-z 0-9 _ . : -');
  const now = Math.floor(Date.now() / 1000);
  const expiresAt = spec.expiresAt ?? now + DEFAULT_INTENT_LIFETIME_S;
  const gateway = toHexPubkey(gatewayPubkey);
  const content: IntentContent = {
    v: 1,
    action_id: actionId,
    type: spec.type,
    params: encodeParams(spec.params),
    fee: { asset_id: spec.fee.asset_id, amount: jsonAmount(spec.fee.amount) },
    expires_at: expiresAt,
  };
  const event = key.signEvent({
    kind: KIND.ACTION_INTENT,
    created_at: now,
    tags: [
      ['p', gateway],
      ['d', actionId],
      ['expiration', String(expiresAt)],
    ],
    content: JSON.stringify(content),
  });
  return { event, content };
}

// --- params of each type ----------------------------------------------------------------------

export interface AssetAmount {
  readonly asset_id: string;
  readonly amount: AmountLike;
}

export function transferParams(p: {
  recipient: string;
  assetId: string;
  amount: AmountLike;
  memo?: string;
}): Record<string, unknown> {
  return {
    recipient: p.recipient,
    asset_id: p.assetId,
    amount: jsonAmount(p.amount),
    ...(p.memo !== undefined ? { memo: p.memo } : {}),
  };
}

export function splitParams(p: { vtxoId: string; amounts: readonly AmountLike[] }): Record<string, unknown> {
  return { vtxo_id: p.vtxoId, amounts: p.amounts.map(jsonAmount) };
}

export function landParams(p: {
  assetId: string;
  amount: AmountLike;
  invoice: string;
}): Record<string, unknown> {
  return { asset_id: p.assetId, amount: jsonAmount(p.amount), invoice: p.invoice };
}

/** A batch leg (`swap:atomic`, `liquidity:add`). */
export function legParams(p: {
  give: readonly AssetAmount[];
  receive: readonly AssetAmount[];
  counterparty: string;
}): Record<string, unknown> {
  const list = (items: readonly AssetAmount[]) =>
    items.map((i) => ({ asset_id: i.asset_id, amount: jsonAmount(i.amount) }));
  return { give: list(p.give), receive: list(p.receive), counterparty: p.counterparty };
}

/** Every intent but a land: FEE_INTENT_AMOUNT (default 10) units of gBTC. */
export function intentFee(amount: AmountLike = 10n, assetId = 'gBTC'): Fee {
  return { asset_id: assetId, amount };
}

/** A land: 0.1 % of the landed amount, rounded up, minimum 1, in the landed asset. */
export function landFee(assetId: string, amount: AmountLike): Fee {
  const landed = toAmount(amount);
  const fee = (landed + 999n) / 1000n;
  return { asset_id: assetId, amount: fee < 1n ? 1n : fee };
}

// --- the wallet's view of an approved intent ---------------------------------------------------

export interface Leg {
  readonly give: readonly { assetId: string; amount: bigint }[];
  readonly receive: readonly { assetId: string; amount: bigint }[];
  readonly counterparty: string;
}

export type ApprovedTerms =
  | {
      readonly type: 'transfer:p2p';
      readonly recipient: string;
      readonly assetId: string;
      readonly amount: bigint;
    }
  | { readonly type: 'vtxo:split'; readonly vtxoId: string; readonly amounts: readonly bigint[] }
  | {
      readonly type: 'lightning:land';
      readonly assetId: string;
      readonly amount: bigint;
      readonly invoice: string;
    }
  | ({ readonly type: 'swap:atomic' | 'liquidity:add' } & Leg);

export interface ApprovedIntent {
  readonly actionId: string;
  readonly eventId: string;
  readonly author: string;
  readonly terms: ApprovedTerms;
  readonly fee: { readonly assetId: string; readonly amount: bigint };
  readonly expiresAt: number;
}

function assetList(value: unknown, what: string): { assetId: string; amount: bigint }[] {
  if (!Array.isArray(value)) throw new Error(`${what} must be a list`);
  return value.map((item: { asset_id?: unknown; amount?: unknown }) => {
    if (typeof item?.asset_id !== 'string') throw new Error(`${what}: asset_id missing`);
    return { assetId: item.asset_id, amount: toAmount(item.amount, `${what} amount`) };
  });
}

/** Reads back an intent this wallet signed; throws on anything it would not have built. */
export function approvedIntent(intent: SignedIntent): ApprovedIntent {
  const { content, event } = intent;
  const type = canonicalType(content.type);
  if (!type) throw new Error(`unknown intent type ${content.type}`);
  const p = content.params;
  let terms: ApprovedTerms;
  if (type === 'transfer:p2p') {
    if (typeof p.recipient !== 'string' || typeof p.asset_id !== 'string')
      throw new Error('transfer needs recipient and asset_id');
    terms = { type, recipient: toHexPubkey(p.recipient), assetId: p.asset_id, amount: toAmount(p.amount) };
  } else if (type === 'vtxo:split') {
    if (typeof p.vtxo_id !== 'string' || !Array.isArray(p.amounts))
      throw new Error('split needs vtxo_id and amounts');
    terms = { type, vtxoId: p.vtxo_id, amounts: p.amounts.map((a) => toAmount(a)) };
  } else if (type === 'lightning:land') {
    if (typeof p.asset_id !== 'string' || typeof p.invoice !== 'string')
      throw new Error('land needs asset_id and invoice');
    terms = { type, assetId: p.asset_id, amount: toAmount(p.amount), invoice: p.invoice };
  } else {
    if (typeof p.counterparty !== 'string') throw new Error('a batch leg needs a counterparty');
    terms = {
      type,
      give: assetList(p.give, 'give'),
      receive: assetList(p.receive, 'receive'),
      counterparty: toHexPubkey(p.counterparty),
    };
  }
  return {
    actionId: content.action_id,
    eventId: event.id,
    author: event.pubkey,
    terms,
    fee: { assetId: content.fee.asset_id, amount: toAmount(content.fee.amount, 'fee') },
    expiresAt: content.expires_at,
  };
}
