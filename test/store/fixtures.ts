// Valid rows for store tests; each call gives fresh ids unless told otherwise.
import { randomBytes, randomUUID } from 'node:crypto';
import type { Insertable } from 'kysely';
import type {
  AssetMovementsTable,
  IntentsTable,
  ProcessedEventsTable,
  SigningChallengesTable,
  SigningSessionsTable,
  VtxosTable,
} from '../../src/store/schema.ts';

export const hex32 = (): string => randomBytes(32).toString('hex');
export const NOW = 1_767_225_600_000; // 2026-01-01T00:00:00Z in ms

export function vtxoRow(overrides: Partial<Insertable<VtxosTable>> = {}): Insertable<VtxosTable> {
  const txid = overrides.txid ?? hex32();
  const vout = overrides.vout ?? 0;
  return {
    vtxo_id: `${txid}:${vout}`,
    txid,
    vout,
    owner_pubkey: hex32(),
    asset_id: 'gBTC',
    amount: 1_000n,
    sats: 330n,
    status: 'assigned',
    created_at: NOW,
    updated_at: NOW,
    ...overrides,
  };
}

export function intentRow(overrides: Partial<Insertable<IntentsTable>> = {}): Insertable<IntentsTable> {
  return {
    intent_event_id: hex32(),
    author_pubkey: hex32(),
    action_id: randomUUID(),
    intent_type: 'transfer:p2p',
    params_json: '{}',
    event_json: '{}',
    fee_asset_id: 'gBTC',
    fee_amount: 10n,
    status: 'received',
    expires_at: NOW + 60_000,
    created_at: NOW,
    updated_at: NOW,
    ...overrides,
  };
}

export function processedEventRow(
  overrides: Partial<Insertable<ProcessedEventsTable>> = {},
): Insertable<ProcessedEventsTable> {
  return {
    event_id: hex32(),
    kind: 31500,
    author_pubkey: hex32(),
    status: 'processing',
    claimed_by: 'test-1',
    claimed_at: NOW,
    ...overrides,
  };
}

export function sessionRow(
  overrides: Partial<Insertable<SigningSessionsTable>> = {},
): Insertable<SigningSessionsTable> {
  return {
    session_id: randomUUID(),
    intent_event_id: hex32(),
    owner_pubkey: hex32(),
    session_type: 'transfer',
    state: 'accepted',
    current_step: 0,
    step_total: 2,
    steps_completed_json: '[]',
    context_json: '{}',
    deadline_at: NOW + 900_000,
    created_at: NOW,
    updated_at: NOW,
    ...overrides,
  };
}

export function challengeRow(
  sessionId: string,
  step: number,
  overrides: Partial<Insertable<SigningChallengesTable>> = {},
): Insertable<SigningChallengesTable> {
  return {
    challenge_id: randomUUID(),
    session_id: sessionId,
    step,
    challenge_type: 'sign_ark_tx',
    payload_json: '{}',
    status: 'open',
    expires_at: NOW + 60_000,
    created_at: NOW,
    ...overrides,
  };
}

export function movementRow(
  overrides: Partial<Insertable<AssetMovementsTable>> = {},
): Insertable<AssetMovementsTable> {
  return {
    asset_id: 'gBTC',
    kind: 'lift',
    amount: 1_000n,
    reference: hex32(),
    created_at: NOW,
    ...overrides,
  };
}
