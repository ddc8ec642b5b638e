// Action intents (kind 31510): the one signed statement of what a user wants done. This module
// reads an intent event into a typed Intent, in the order docs/protocol.md fixes: shape and
// fields (1002), type (1005), expiry (1003), addressed to this gateway (1006). Replay (1004),
// fee (4001, intent-fees.ts), balance and VTXO checks need state and happen elsewhere.
// Pure: no I/O. The event's id and signature are verified before it gets here.
import { schnorr } from '@noble/curves/secp256k1.js';
import { nip19 } from 'nostr-tools';
import { ProtocolError } from './error-codes.ts';
import { rawJsonProblem } from './json-scan.ts';
import { KIND, type NostrEvent, tagValues } from './nostr-protocol.ts';

export { checkFee, debitsOf, requiredFee, type FeeSchedule } from './intent-fees.ts';
export { checkBatchLegs, type BatchFlows } from './batch-legs.ts';

export type IntentType = 'transfer:p2p' | 'vtxo:split' | 'lightning:land' | 'swap:atomic' | 'liquidity:add';

export const INTENT_TYPES: readonly IntentType[] = [
  'transfer:p2p',
  'vtxo:split',
  'lightning:land',
  'swap:atomic',
  'liquidity:add',
];

/** Legacy names still accepted; replies keep the name the intent used. */
export const INTENT_ALIASES: Record<string, IntentType> = {
  p2p_transfer: 'transfer:p2p',
  atomic_swap: 'swap:atomic',
  add_liquidity: 'liquidity:add',
  land_lightning: 'lightning:land',
};

/** Types that only exist as legs of a `submit_batch`; published alone they are 3001. */
export const BATCH_LEG_TYPES: readonly IntentType[] = ['swap:atomic', 'liquidity:add'];

export interface AssetAmount {
  readonly assetId: string;
  readonly amount: bigint;
}

export type IntentParams =
  | {
      readonly type: 'transfer:p2p';
      /** Lower-case x-only hex (an npub is decoded). */
      readonly recipient: string;
      readonly assetId: string;
      readonly amount: bigint;
      readonly memo?: string;
    }
  | { readonly type: 'vtxo:split'; readonly vtxoId: string; readonly amounts: readonly bigint[] }
  | {
      readonly type: 'lightning:land';
      readonly assetId: string;
      readonly amount: bigint;
      readonly invoice: string;
    }
  | {
      readonly type: 'swap:atomic' | 'liquidity:add';
      readonly give: readonly AssetAmount[];
      readonly receive: readonly AssetAmount[];
      /** Lower-case x-only hex (an npub is decoded). */
      readonly counterparty: string;
    };

export interface Intent {
  readonly eventId: string;
  readonly author: string;
  readonly actionId: string;
  readonly type: IntentType;
  /** The name as written (alias kept for replies). */
  readonly typeAsWritten: string;
  readonly params: IntentParams;
  /** The fee the author declared; a missing one reads as amount 0 of asset '' (4001 in checkFee). */
  readonly fee: AssetAmount;
  /** Effective deadline, unix seconds: min(expires_at, expiration tag). */
  readonly expiresAt: number;
  readonly createdAt: number;
  /** The gateway key (one of IntentRules.gatewayPubkeys) the intent names in its `p` tag. */
  readonly addressedTo: string;
  readonly event: NostrEvent;
}

export interface IntentRules {
  /** The current gateway key and the previous ones still in their grace period. */
  readonly gatewayPubkeys: readonly string[];
  readonly nowSeconds: number;
  readonly maxLifetimeS: number;
}

const CONTENT_FIELDS = ['v', 'action_id', 'type', 'params', 'fee', 'expires_at'];
const ACTION_ID = /^[A-Za-z0-9_.:-]{1,64}$/;
const ASSET_ID = /^[A-Za-z0-9_.-]{1,64}$/;
const HEX64 = /^[0-9a-fA-F]{64}$/;
const VTXO_ID = /^[0-9a-f]{64}:(0|[1-9][0-9]{0,9})$/;
const DIGITS = /^[1-9][0-9]*$/;
const UNIX_SECONDS = /^(0|[1-9][0-9]{0,11})$/;
const MAX_INT64 = 2n ** 63n - 1n;
const MAX_VOUT = 2 ** 32 - 1;
const MAX_MEMO_CHARS = 256;
const MAX_INVOICE_CHARS = 2048;
const MAX_SPLIT_PARTS = 16;
const MAX_LEG_ASSETS = 16;

const malformed = (message: string): ProtocolError => new ProtocolError('MALFORMED_CONTENT', message);

type Json = Record<string, unknown>;

function object(value: unknown, where: string, fields: readonly string[], required: readonly string[]): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw malformed(`${where} must be a JSON object`);
  }
  const o = value as Json;
  const unknown = Object.keys(o).filter((k) => !fields.includes(k));
  if (unknown.length > 0) throw malformed(`${where}: unknown field(s): ${unknown.join(', ')}`);
  const missing = required.filter((k) => o[k] === undefined);
  if (missing.length > 0) throw malformed(`${where}: missing field(s): ${missing.join(', ')}`);
  return o;
}

/**
 * An amount: a JSON safe integer, or a string of decimal digits for values beyond 2^53; at most
 * a signed 64-bit integer (the ledger's column). Zero only where `allowZero` (a declared fee).
 */
export function parseAmount(value: unknown, where: string, allowZero = false): bigint {
  let amount: bigint | undefined;
  if (typeof value === 'number' && Number.isSafeInteger(value)) amount = BigInt(value);
  else if (typeof value === 'string' && (DIGITS.test(value) || (allowZero && value === '0'))) {
    amount = BigInt(value);
  }
  if (amount === undefined || amount < 0n || (amount === 0n && !allowZero) || amount > MAX_INT64) {
    throw malformed(
      `${where} must be an integer ${allowZero ? '>= 0' : '> 0'} (a number, or a string of digits above 2^53)`,
    );
  }
  return amount;
}

function assetId(value: unknown, where: string): string {
  if (typeof value !== 'string' || !ASSET_ID.test(value)) {
    throw malformed(`${where} must be 1-64 of A-Z a-z 0-9 _ . -`);
  }
  return value;
}

/** A public key as hex (any case) or npub: lower-case x-only hex of a point on the curve. */
export function parsePubkey(value: unknown, where: string): string {
  let hex: string | undefined;
  if (typeof value === 'string' && HEX64.test(value)) hex = value.toLowerCase();
  else if (typeof value === 'string' && value.startsWith('npub1')) {
    try {
      const decoded = nip19.decode(value);
      if (decoded.type === 'npub') hex = decoded.data;
    } catch {
      hex = undefined;
    }
  }
  if (hex !== undefined) {
    try {
      schnorr.utils.lift_x(BigInt(`0x${hex}`)); // throws when no point has this x
      return hex;
    } catch {
      throw malformed(`${where} is not a valid public key`);
    }
  }
  throw malformed(`${where} must be a 64-hex public key or an npub`);
}

function assetAmounts(value: unknown, where: string): AssetAmount[] {
  if (!Array.isArray(value) || value.length < 1 || value.length > MAX_LEG_ASSETS) {
    throw malformed(`${where} must list 1-${MAX_LEG_ASSETS} {asset_id, amount}`);
  }
  const seen = new Set<string>();
  return value.map((item, i) => {
    const o = object(item, `${where}[${i}]`, ['asset_id', 'amount'], ['asset_id', 'amount']);
    const id = assetId(o.asset_id, `${where}[${i}].asset_id`);
    if (seen.has(id)) throw malformed(`${where} names asset ${id} twice`);
    seen.add(id);
    return { assetId: id, amount: parseAmount(o.amount, `${where}[${i}].amount`) };
  });
}

function parseParams(type: IntentType, value: unknown, author: string): IntentParams {
  switch (type) {
    case 'transfer:p2p': {
      const p = object(
        value,
        'params',
        ['recipient', 'asset_id', 'amount', 'memo'],
        ['recipient', 'asset_id', 'amount'],
      );
      const recipient = parsePubkey(p.recipient, 'params.recipient');
      if (recipient === author) throw malformed('params.recipient must not be the author');
      const base = {
        type,
        recipient,
        assetId: assetId(p.asset_id, 'params.asset_id'),
        amount: parseAmount(p.amount, 'params.amount'),
      } as const;
      if (p.memo === undefined) return base;
      if (typeof p.memo !== 'string' || [...p.memo].length > MAX_MEMO_CHARS) {
        throw malformed(`params.memo must be a string of at most ${MAX_MEMO_CHARS} characters`);
      }
      return { ...base, memo: p.memo };
    }
    case 'vtxo:split': {
      const p = object(value, 'params', ['vtxo_id', 'amounts'], ['vtxo_id', 'amounts']);
      const match = typeof p.vtxo_id === 'string' ? VTXO_ID.exec(p.vtxo_id) : null;
      if (!match || Number(match[1]) > MAX_VOUT) {
        throw malformed('params.vtxo_id must be <64 lower-case hex txid>:<vout>');
      }
      if (!Array.isArray(p.amounts) || p.amounts.length < 2 || p.amounts.length > MAX_SPLIT_PARTS) {
        throw malformed(`params.amounts must list 2-${MAX_SPLIT_PARTS} amounts`);
      }
      const amounts = p.amounts.map((a, i) => parseAmount(a, `params.amounts[${i}]`));
      return { type, vtxoId: p.vtxo_id as string, amounts };
    }
    case 'lightning:land': {
      const p = object(value, 'params', ['asset_id', 'amount', 'invoice'], ['asset_id', 'amount', 'invoice']);
      const invoice = p.invoice;
      // Only the outline of a BOLT11 string (bech32: one case); the Lightning service decodes it.
      if (
        typeof invoice !== 'string' ||
        invoice.length > MAX_INVOICE_CHARS ||
        !(/^ln[0-9a-z]+$/.test(invoice) || /^LN[0-9A-Z]+$/.test(invoice))
      ) {
        throw malformed(
          `params.invoice must be a BOLT11 invoice (ln…, at most ${MAX_INVOICE_CHARS} characters)`,
        );
      }
      return {
        type,
        assetId: assetId(p.asset_id, 'params.asset_id'),
        amount: parseAmount(p.amount, 'params.amount'),
        invoice,
      };
    }
    case 'swap:atomic':
    case 'liquidity:add': {
      const p = object(
        value,
        'params',
        ['give', 'receive', 'counterparty'],
        ['give', 'receive', 'counterparty'],
      );
      const give = assetAmounts(p.give, 'params.give');
      const receive = assetAmounts(p.receive, 'params.receive');
      const both = give.find((g) => receive.some((r) => r.assetId === g.assetId));
      if (both) throw malformed(`asset ${both.assetId} is both given and received`);
      const counterparty = parsePubkey(p.counterparty, 'params.counterparty');
      if (counterparty === author) throw malformed('params.counterparty must not be the author');
      return { type, give, receive, counterparty };
    }
  }
}

/** The one value of a tag the event must not carry twice; undefined when absent. */
function singleTag(event: NostrEvent, name: string): string | undefined {
  const values = tagValues(event, name);
  if (values.length > 1) throw malformed(`more than one "${name}" tag`);
  return values[0];
}

/** Reads a 31510 event; throws ProtocolError (see the top of this file for the order). */
export function parseIntent(event: NostrEvent, rules: IntentRules): Intent {
  if (event.kind !== KIND.ACTION_INTENT) throw malformed(`an intent is kind ${KIND.ACTION_INTENT}`);
  let value: unknown;
  try {
    value = JSON.parse(event.content);
  } catch {
    throw malformed('content is not JSON');
  }
  const problem = rawJsonProblem(event.content);
  if (problem) throw malformed(problem);
  const c = object(value, 'content', CONTENT_FIELDS, ['v', 'action_id', 'type', 'params', 'expires_at']);
  if (c.v !== 1) throw malformed('v must be 1');
  if (typeof c.action_id !== 'string' || !ACTION_ID.test(c.action_id)) {
    throw malformed('action_id must be 1-64 of A-Z a-z 0-9 _ . : -');
  }
  if (singleTag(event, 'd') !== c.action_id) throw malformed('the d tag must equal action_id');
  if (!Number.isSafeInteger(c.expires_at) || (c.expires_at as number) <= 0) {
    throw malformed('expires_at must be a positive integer (unix seconds)');
  }
  const expirationTag = singleTag(event, 'expiration');
  if (expirationTag !== undefined && !UNIX_SECONDS.test(expirationTag)) {
    throw malformed('the expiration tag must be unix seconds');
  }
  // A missing fee is not malformed: it is the wrong fee (4001), told after the replay check.
  let fee: AssetAmount = { assetId: '', amount: 0n };
  if (c.fee !== undefined) {
    const f = object(c.fee, 'fee', ['asset_id', 'amount'], ['asset_id', 'amount']);
    fee = { assetId: assetId(f.asset_id, 'fee.asset_id'), amount: parseAmount(f.amount, 'fee.amount', true) };
  }
  if (typeof c.type !== 'string') throw malformed('type must be a string');
  const written = c.type;
  // hasOwn: `constructor` or `__proto__` must not resolve through the prototype.
  const type =
    INTENT_TYPES.find((t) => t === written) ??
    (Object.hasOwn(INTENT_ALIASES, written) ? INTENT_ALIASES[written] : undefined);
  if (type === undefined) {
    throw new ProtocolError('UNKNOWN_TYPE', `unknown intent type ${JSON.stringify(c.type.slice(0, 64))}`);
  }
  const params = parseParams(type, c.params, event.pubkey);

  const now = rules.nowSeconds;
  const expiresAt = Math.min(
    c.expires_at as number,
    expirationTag === undefined ? Infinity : Number(expirationTag),
  );
  if ((c.expires_at as number) <= now || (expirationTag !== undefined && Number(expirationTag) <= now)) {
    throw new ProtocolError('EXPIRED', 'the intent has expired');
  }
  if (expiresAt > now + rules.maxLifetimeS) {
    throw new ProtocolError('EXPIRED', `the intent must expire within ${rules.maxLifetimeS} s`);
  }
  const addressedTo = tagValues(event, 'p').find((p) => rules.gatewayPubkeys.includes(p));
  if (addressedTo === undefined) throw new ProtocolError('NOT_ADDRESSED');

  return {
    eventId: event.id,
    author: event.pubkey,
    actionId: c.action_id,
    type,
    typeAsWritten: c.type,
    params,
    fee,
    expiresAt,
    createdAt: event.created_at,
    addressedTo,
    event,
  };
}

const show = (a: AssetAmount) => `${a.amount} ${a.assetId}`;
const npub = (hex: string) => nip19.npubEncode(hex);

/** One-line human summary for a challenge's context, e.g. "Send 500 gBTC to npub1… (fee 10 gBTC)". */
export function describeIntent(intent: Pick<Intent, 'params' | 'fee'>): string {
  const p = intent.params;
  let what: string;
  switch (p.type) {
    case 'transfer:p2p':
      what = `Send ${show(p)} to ${npub(p.recipient)}`;
      break;
    case 'vtxo:split':
      what = `Split VTXO ${p.vtxoId} into ${p.amounts.join(' + ')}`;
      break;
    case 'lightning:land':
      what = `Pay Lightning invoice ${p.invoice.length > 24 ? `${p.invoice.slice(0, 24)}…` : p.invoice} with ${show(p)}`;
      break;
    case 'swap:atomic':
      what = `Swap ${p.give.map(show).join(' + ')} for ${p.receive.map(show).join(' + ')} with ${npub(p.counterparty)}`;
      break;
    case 'liquidity:add':
      what = `Add liquidity ${p.give.map(show).join(' + ')} for ${p.receive.map(show).join(' + ')} with ${npub(p.counterparty)}`;
      break;
  }
  return `${what} (fee ${show(intent.fee)})`;
}
