// The Nostr protocol of ArkRelay (v1.1), as data: kinds, their direction, whether the content is
// encrypted and which tags they carry, plus the content shapes and their validation. Pure: no
// I/O. docs/protocol.md documents these tables and test/nostr/protocol-doc.test.ts checks them.
import { ProtocolError } from './error-codes.ts';

/** "1.1": one signing step, Ark transactions that commit to their allocation (docs/protocol.md). */
export const PROTOCOL_VERSION = '1.1';

export const KIND = {
  SERVICE_REQUEST: 31500,
  SERVICE_RESPONSE: 31501,
  NOTIFICATION: 31502,
  ACTION_INTENT: 31510,
  SIGNING_CHALLENGE: 31511,
  SIGNING_RESPONSE: 31512,
  CONFIRMATION: 31340,
  FAILURE_NOTICE: 31341,
  L1_COMMITMENT: 31342,
} as const;

export type Kind = (typeof KIND)[keyof typeof KIND];

export interface KindSpec {
  readonly kind: Kind;
  readonly name: string;
  readonly direction: 'user → gateway' | 'gateway → user' | 'user → public' | 'gateway → public';
  readonly encrypted: boolean;
  /** Tags every event of this kind carries (besides `expiration` where it has a deadline). */
  readonly tags: readonly string[];
}

// One line per kind, read as a table (docs/protocol.md shows the same table).
// prettier-ignore
export const KINDS: readonly KindSpec[] = [
  { kind: KIND.SERVICE_REQUEST, name: 'service request', direction: 'user → gateway', encrypted: true, tags: ['p', 'd'] },
  { kind: KIND.SERVICE_RESPONSE, name: 'service response', direction: 'gateway → user', encrypted: true, tags: ['p', 'e', 'd', 'expiration'] },
  { kind: KIND.NOTIFICATION, name: 'notification', direction: 'gateway → user', encrypted: true, tags: ['p', 'd', 'expiration'] },
  { kind: KIND.ACTION_INTENT, name: 'action intent', direction: 'user → public', encrypted: false, tags: ['p', 'd', 'expiration'] },
  { kind: KIND.SIGNING_CHALLENGE, name: 'signing challenge', direction: 'gateway → user', encrypted: true, tags: ['p', 'e', 'd', 'expiration'] },
  { kind: KIND.SIGNING_RESPONSE, name: 'signing response', direction: 'user → gateway', encrypted: true, tags: ['p', 'e', 'd'] },
  { kind: KIND.CONFIRMATION, name: 'confirmation', direction: 'gateway → public', encrypted: false, tags: ['e', 'p', 'd'] },
  { kind: KIND.FAILURE_NOTICE, name: 'failure notice', direction: 'gateway → user', encrypted: true, tags: ['p', 'e', 'd', 'expiration'] },
  { kind: KIND.L1_COMMITMENT, name: 'L1 commitment', direction: 'gateway → public', encrypted: false, tags: ['d'] },
];

/** The kinds the gateway subscribes to (`#p` = its keys). */
export const INTAKE_KINDS: readonly Kind[] = [
  KIND.SERVICE_REQUEST,
  KIND.ACTION_INTENT,
  KIND.SIGNING_RESPONSE,
];

export const ENCRYPTION_SCHEMES = ['nip44', 'nip04'] as const;
export type EncryptionScheme = (typeof ENCRYPTION_SCHEMES)[number];

/** NIP-04 content is `base64(ciphertext)?iv=base64(iv)`; NIP-44 v2 is plain base64 of a versioned payload. */
export function detectScheme(content: string): EncryptionScheme {
  return content.includes('?iv=') ? 'nip04' : 'nip44';
}

export interface NostrEvent {
  readonly id: string;
  readonly pubkey: string;
  readonly created_at: number;
  readonly kind: number;
  readonly tags: string[][];
  readonly content: string;
  readonly sig: string;
}

const HEX64 = /^[0-9a-f]{64}$/;
const HEX128 = /^[0-9a-f]{128}$/;

/** The shape of a NIP-01 event (types and hex lengths); says nothing about id or signature. */
export function isEventShape(value: unknown): value is NostrEvent {
  if (typeof value !== 'object' || value === null) return false;
  const e = value as Record<string, unknown>;
  return (
    typeof e.id === 'string' &&
    HEX64.test(e.id) &&
    typeof e.pubkey === 'string' &&
    HEX64.test(e.pubkey) &&
    typeof e.sig === 'string' &&
    HEX128.test(e.sig) &&
    Number.isSafeInteger(e.created_at) &&
    (e.created_at as number) >= 0 &&
    Number.isSafeInteger(e.kind) &&
    typeof e.content === 'string' &&
    Array.isArray(e.tags) &&
    e.tags.every((t) => Array.isArray(t) && t.every((v) => typeof v === 'string'))
  );
}

export function tagValues(event: Pick<NostrEvent, 'tags'>, name: string): string[] {
  return event.tags.filter((t) => t[0] === name && typeof t[1] === 'string').map((t) => t[1]!);
}

export function firstTag(event: Pick<NostrEvent, 'tags'>, name: string): string | undefined {
  return tagValues(event, name)[0];
}

/** NIP-40 expiration in unix seconds; undefined when absent or not a number. */
export function expirationOf(event: Pick<NostrEvent, 'tags'>): number | undefined {
  const raw = firstTag(event, 'expiration');
  if (raw === undefined || !/^\d{1,12}$/.test(raw)) return undefined;
  return Number(raw);
}

// --- 31500 service request / 31501 service response ------------------------------------------

export interface ServiceRequest {
  readonly request_id: string;
  readonly action: string;
  readonly params: Record<string, unknown>;
}

export type ServiceResponse =
  | { readonly request_id: string; readonly status: 'ok'; readonly result: unknown }
  | {
      readonly request_id: string;
      readonly status: 'error';
      readonly error: { readonly code: number; readonly message: string };
    };

const REQUEST_ID = /^[A-Za-z0-9_.:-]{1,64}$/;
const ACTION = /^[a-z][a-z0-9_]{0,31}$/;

/** Parses decrypted 31500 content; unknown fields and wrong types are 1002. */
export function parseServiceRequest(plaintext: string): ServiceRequest {
  let value: unknown;
  try {
    value = JSON.parse(plaintext);
  } catch {
    throw new ProtocolError('MALFORMED_CONTENT', 'content is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ProtocolError('MALFORMED_CONTENT', 'content must be a JSON object');
  }
  const v = value as Record<string, unknown>;
  const unknown = Object.keys(v).filter((k) => !['request_id', 'action', 'params'].includes(k));
  if (unknown.length > 0) {
    throw new ProtocolError('MALFORMED_CONTENT', `unknown field(s): ${unknown.join(', ')}`);
  }
  if (typeof v.request_id !== 'string' || !REQUEST_ID.test(v.request_id)) {
    throw new ProtocolError('MALFORMED_CONTENT', 'request_id must be 1-64 of A-Z a-z 0-9 _ . : -');
  }
  if (typeof v.action !== 'string' || !ACTION.test(v.action)) {
    throw new ProtocolError('MALFORMED_CONTENT', 'action must be a lower-case name');
  }
  const params = v.params ?? {};
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    throw new ProtocolError('MALFORMED_CONTENT', 'params must be a JSON object');
  }
  return { request_id: v.request_id, action: v.action, params: params as Record<string, unknown> };
}

/** Params of an action that takes none (`info`, `sync_state`): `{}` only. */
export function expectNoParams(params: Record<string, unknown>): Record<string, never> {
  const keys = Object.keys(params);
  if (keys.length > 0) throw new ProtocolError('MALFORMED_CONTENT', `unknown param(s): ${keys.join(', ')}`);
  return {};
}

// --- 31341 failure notice ----------------------------------------------------------------------

export interface FailureNotice {
  readonly action_id: string | null;
  readonly code: number;
  readonly message: string;
  readonly details: Record<string, unknown>;
}

// --- info ---------------------------------------------------------------------------------------

export interface GatewayInfo {
  readonly gateway_pubkey: string;
  readonly npub: string;
  readonly previous_pubkeys: readonly string[];
  readonly version: string;
  readonly protocol_version: string;
  readonly encryption: readonly EncryptionScheme[];
  readonly kinds: { readonly accepts: readonly number[]; readonly publishes: readonly number[] };
  readonly actions: readonly string[];
  readonly fees: Record<string, unknown>;
  readonly assets: readonly Record<string, unknown>[];
  readonly limits: Record<string, number>;
}
