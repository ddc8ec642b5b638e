// The typed shape of every table, for Kysely. docs/schema.md explains each table; the
// migrations in ./migrations create them. Conventions, on both databases:
// - times are BIGINT unix milliseconds UTC in columns named *_at (Millis);
// - money and asset amounts are BIGINT (Amount): read back as a number while it is a safe
//   integer, beyond that as a bigint (SQLite) or a decimal string (MariaDB), so money code
//   always reads them through toBigInt() and writes bigint;
// - booleans are INTEGER 0/1 (Flag);
// - JSON is stored as text in *_json columns, written with JSON.stringify.
import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

/** Unix milliseconds, UTC. */
export type Millis = number;
/** A BIGINT that may pass 2^53: lnd indexes, and every amount. */
export type Int64 = ColumnType<number | bigint | string, bigint | number, bigint | number>;
export type NullableInt64 = ColumnType<
  number | bigint | string | null,
  bigint | number | null | undefined,
  bigint | number | null
>;
/** An exact integer amount in an asset's base unit, sats or msat. */
export type Amount = Int64;
export type NullableAmount = NullableInt64;
/** A boolean stored as INTEGER. */
export type Flag = 0 | 1;
/** A column with a database default (version counters, attempts). */
export type Defaulted<T> = ColumnType<T, T | undefined, T>;

// Statuses. Each list is the whole set of values a column may hold: a new state is added here,
// never written as free text.
export type AssetType = 'relay_issued' | 'permissionless';
export type AssetMovementKind = 'mint' | 'lift' | 'land' | 'refund' | 'burn' | 'fee';
export type VtxoStatus = 'available' | 'assigned' | 'pending_spend' | 'spent' | 'expired';
export type IntentStatus =
  'received' | 'accepted' | 'in_session' | 'settled' | 'rejected' | 'failed' | 'cancelled' | 'expired';
export type ProcessedEventStatus = 'processing' | 'done';
export type SessionState =
  | 'accepted'
  | 'ark_tx_prepared'
  | 'awaiting_signatures'
  | 'submitted'
  | 'confirmed'
  | 'failed'
  | 'expired'
  | 'cancelled';
export type ChallengeStatus = 'open' | 'answered' | 'expired' | 'rejected';
export type BatchStatus =
  'collecting' | 'signing' | 'submitted' | 'settled' | 'failed' | 'expired' | 'cancelled';
/** `void`: built but never submitted, and it never can be (an input was spent elsewhere or expired). */
export type ArkTransactionStatus = 'built' | 'submitted' | 'finalized' | 'failed' | 'void';
export type InvoiceStatus = 'open' | 'settled' | 'credited' | 'expired' | 'cancelled';
export type PaymentStatus = 'pending' | 'in_flight' | 'succeeded' | 'failed' | 'refunded';
export type CommitmentStatus = 'pending' | 'broadcast' | 'confirmed' | 'announced' | 'failed';
export type OutboxStatus = 'pending' | 'published' | 'failed';
export type GatewayKeyStatus = 'active' | 'previous' | 'retired';
export type JobStatus = 'running' | 'completed' | 'failed';
export type AlertState = 'ok' | 'pending' | 'firing';
export type AlertHistoryStatus = 'firing' | 'resolved';

export interface AssetsTable {
  asset_id: string;
  name: string;
  ticker: string;
  decimals: number;
  asset_type: AssetType;
  enabled: Flag;
  /** Supply as last reported by the issuer (tapd); the ledger's own figure comes from asset_movements. */
  total_supply: Amount;
  tapd_asset_id: string | null;
  min_amount: Amount;
  max_amount: NullableAmount;
  created_at: Millis;
  updated_at: Millis;
}

export interface AssetReservesTable {
  id: Generated<number>;
  asset_id: string;
  lightning_sat: Amount;
  onchain_sat: Amount;
  total_sat: Amount;
  supply: Amount;
  /** total_sat / supply in parts per million (1 000 000 = fully reserved); integer, no floats. */
  ratio_ppm: Amount;
  healthy: Flag;
  observed_at: Millis;
}

export interface AssetMovementsTable {
  id: Generated<number>;
  asset_id: string;
  kind: AssetMovementKind;
  /** Always positive; the kind gives the direction (see docs/schema.md). */
  amount: Amount;
  /** What caused it, unique per kind and asset: a payment hash, an Ark txid, a session id. */
  reference: string;
  user_pubkey: string | null;
  vtxo_id: string | null;
  ark_txid: string | null;
  created_at: Millis;
}

export interface VtxosTable {
  vtxo_id: string;
  txid: string;
  vout: number;
  owner_pubkey: string;
  asset_id: string;
  amount: Amount;
  sats: Amount;
  status: VtxoStatus;
  script_hex: string | null;
  locked_by_session: string | null;
  locked_at: Millis | null;
  lock_expires_at: Millis | null;
  batch_txid: string | null;
  expires_at: Millis | null;
  created_by_txid: string | null;
  spent_by_txid: string | null;
  created_at: Millis;
  updated_at: Millis;
  version: Defaulted<number>;
}

export interface IntentsTable {
  intent_event_id: string;
  author_pubkey: string;
  action_id: string;
  intent_type: string;
  params_json: string;
  /** The whole signed 31510 event: the user's authorisation, kept as proof. */
  event_json: string;
  fee_asset_id: string;
  fee_amount: Amount;
  status: IntentStatus;
  error_code: number | null;
  error_message: string | null;
  session_id: string | null;
  batch_id: string | null;
  expires_at: Millis;
  created_at: Millis;
  updated_at: Millis;
}

export interface ProcessedEventsTable {
  event_id: string;
  kind: number;
  author_pubkey: string;
  status: ProcessedEventStatus;
  claimed_by: string;
  claimed_at: Millis;
  attempts: Defaulted<number>;
  /** The reply events, to send again verbatim when the same event arrives twice. */
  reply_json: string | null;
  completed_at: Millis | null;
  /** The event itself (migration 0002), so a claim orphaned by a crash can be handled again. */
  event_json: string | null;
}

export interface SigningSessionsTable {
  session_id: string;
  intent_event_id: string | null;
  owner_pubkey: string;
  action_id: string | null;
  session_type: string;
  state: SessionState;
  current_step: number;
  step_total: number;
  steps_completed_json: string;
  context_json: string;
  ark_txid: string | null;
  batch_id: string | null;
  error_code: number | null;
  error_message: string | null;
  version: Defaulted<number>;
  deadline_at: Millis;
  step_deadline_at: Millis | null;
  created_at: Millis;
  updated_at: Millis;
  completed_at: Millis | null;
}

export interface SigningChallengesTable {
  challenge_id: string;
  session_id: string;
  step: number;
  challenge_type: string;
  payload_json: string;
  event_id: string | null;
  status: ChallengeStatus;
  response_event_id: string | null;
  /** The verified signatures of the response, so a restart can go on without asking again. */
  response_json: string | null;
  expires_at: Millis;
  created_at: Millis;
  answered_at: Millis | null;
}

export interface BatchesTable {
  batch_id: string;
  submitter_pubkey: string;
  request_event_id: string;
  status: BatchStatus;
  intent_count: number;
  ark_txid: string | null;
  error_code: number | null;
  error_message: string | null;
  deadline_at: Millis;
  created_at: Millis;
  updated_at: Millis;
  completed_at: Millis | null;
}

export interface ArkTransactionsTable {
  ark_txid: string;
  session_id: string | null;
  batch_id: string | null;
  tx_kind: string;
  status: ArkTransactionStatus;
  ark_psbt: string;
  checkpoint_psbts_json: string | null;
  commitment_id: number | null;
  error_message: string | null;
  created_at: Millis;
  updated_at: Millis;
  submitted_at: Millis | null;
  finalized_at: Millis | null;
}

export interface LightningInvoicesTable {
  payment_hash: string;
  user_pubkey: string;
  asset_id: string;
  /** In the asset's base unit. */
  amount: Amount;
  /** What the BOLT11 asks for, in msat (differs from amount for non-BTC assets). */
  amount_msat: Amount;
  bolt11: string;
  status: InvoiceStatus;
  request_id: string | null;
  request_event_id: string | null;
  add_index: NullableInt64;
  settle_index: NullableInt64;
  credited_vtxo_id: string | null;
  expires_at: Millis;
  settled_at: Millis | null;
  credited_at: Millis | null;
  created_at: Millis;
  updated_at: Millis;
}

export interface LightningPaymentsTable {
  payment_hash: string;
  session_id: string | null;
  intent_event_id: string;
  user_pubkey: string;
  asset_id: string;
  amount: Amount;
  amount_msat: Amount;
  bolt11: string;
  fee_limit_sat: Amount;
  fee_paid_msat: NullableAmount;
  status: PaymentStatus;
  preimage: string | null;
  failure_reason: string | null;
  refund_vtxo_id: string | null;
  attempted_at: Millis | null;
  completed_at: Millis | null;
  created_at: Millis;
  updated_at: Millis;
}

export interface SubscriptionCursorsTable {
  name: string;
  add_index: Int64;
  settle_index: Int64;
  updated_at: Millis;
}

export interface L1CommitmentsTable {
  id: Generated<number>;
  merkle_root: string;
  tx_count: number;
  from_at: Millis;
  to_at: Millis;
  l1_txid: string | null;
  block_height: number | null;
  status: CommitmentStatus;
  event_id: string | null;
  created_at: Millis;
  updated_at: Millis;
}

export interface RelayCursorsTable {
  relay_url: string;
  /** created_at of the newest event seen from this relay, in Nostr's unix SECONDS. */
  last_event_created_s: number;
  updated_at: Millis;
}

export interface NostrOutboxTable {
  event_id: string;
  kind: number;
  event_json: string;
  status: OutboxStatus;
  attempts: Defaulted<number>;
  next_attempt_at: Millis;
  last_error: string | null;
  /** The event's NIP-40 expiration in ms: past it, publishing is pointless. */
  expires_at: Millis | null;
  created_at: Millis;
  published_at: Millis | null;
}

export interface GatewayKeysTable {
  pubkey: string;
  encrypted_secret: string;
  status: GatewayKeyStatus;
  created_at: Millis;
  updated_at: Millis;
  retire_after_at: Millis | null;
}

export interface SettingsTable {
  name: string;
  value_json: string;
  updated_at: Millis;
}

export interface JobLogsTable {
  id: Generated<number>;
  job_id: string;
  queue: string;
  job_name: string;
  status: JobStatus;
  attempt: number;
  instance_id: string;
  started_at: Millis;
  finished_at: Millis | null;
  duration_ms: number | null;
  error: string | null;
  result_json: string | null;
}

export interface HeartbeatsTable {
  instance_id: string;
  role: string;
  hostname: string;
  pid: number;
  version: string;
  started_at: Millis;
  last_seen_at: Millis;
  details_json: string | null;
}

export interface SystemMetricsTable {
  id: Generated<number>;
  instance_id: string;
  sampled_at: Millis;
  cpu_percent: number | null;
  memory_percent: number | null;
  memory_rss_bytes: number | null;
  disk_percent: number | null;
  disk_free_bytes: number | null;
  event_loop_lag_ms: number | null;
  load_avg_1m: number | null;
}

export interface AlertRulesTable {
  rule_name: string;
  enabled: Flag;
  state: AlertState;
  pending_since_at: Millis | null;
  fired_at: Millis | null;
  resolved_at: Millis | null;
  last_value: number | null;
  updated_at: Millis;
}

export interface AlertHistoryTable {
  id: Generated<number>;
  rule_name: string;
  status: AlertHistoryStatus;
  severity: string;
  value: number | null;
  message: string;
  created_at: Millis;
}

export interface AdminAuditLogTable {
  id: Generated<number>;
  created_at: Millis;
  actor: string;
  ip: string | null;
  method: string;
  path: string;
  action: string;
  params_json: string | null;
  status_code: number;
  request_id: string | null;
}

export interface Schema {
  assets: AssetsTable;
  asset_reserves: AssetReservesTable;
  asset_movements: AssetMovementsTable;
  vtxos: VtxosTable;
  intents: IntentsTable;
  processed_events: ProcessedEventsTable;
  signing_sessions: SigningSessionsTable;
  signing_challenges: SigningChallengesTable;
  batches: BatchesTable;
  ark_transactions: ArkTransactionsTable;
  lightning_invoices: LightningInvoicesTable;
  lightning_payments: LightningPaymentsTable;
  subscription_cursors: SubscriptionCursorsTable;
  l1_commitments: L1CommitmentsTable;
  relay_cursors: RelayCursorsTable;
  nostr_outbox: NostrOutboxTable;
  gateway_keys: GatewayKeysTable;
  settings: SettingsTable;
  job_logs: JobLogsTable;
  heartbeats: HeartbeatsTable;
  system_metrics: SystemMetricsTable;
  alert_rules: AlertRulesTable;
  alert_history: AlertHistoryTable;
  admin_audit_log: AdminAuditLogTable;
}

export type TableName = keyof Schema;

/** Every table of the schema (Kysely's own migration tables aside). */
export const TABLE_NAMES = [
  'assets',
  'asset_reserves',
  'asset_movements',
  'vtxos',
  'intents',
  'processed_events',
  'signing_sessions',
  'signing_challenges',
  'batches',
  'ark_transactions',
  'lightning_invoices',
  'lightning_payments',
  'subscription_cursors',
  'l1_commitments',
  'relay_cursors',
  'nostr_outbox',
  'gateway_keys',
  'settings',
  'job_logs',
  'heartbeats',
  'system_metrics',
  'alert_rules',
  'alert_history',
  'admin_audit_log',
] as const satisfies readonly TableName[];

/**
 * Tables only SQLite has, written by triggers and read with raw SQL, outside Schema: the
 * per-owner VTXO versions behind the read cache (migration 0005 says why not on MariaDB).
 */
export const SQLITE_ONLY_TABLES = ['vtxo_owner_versions'] as const;

// Fails to compile when a table is in Schema but missing from TABLE_NAMES.
type MissingTables = Exclude<TableName, (typeof TABLE_NAMES)[number]>;
const _allTablesListed: [MissingTables] extends [never] ? true : never = true;

export type Vtxo = Selectable<VtxosTable>;
export type NewVtxo = Insertable<VtxosTable>;
export type VtxoUpdate = Updateable<VtxosTable>;
export type Asset = Selectable<AssetsTable>;
export type Intent = Selectable<IntentsTable>;
export type SigningSession = Selectable<SigningSessionsTable>;
export type SigningChallenge = Selectable<SigningChallengesTable>;
export type JobLog = Selectable<JobLogsTable>;
export type NewJobLog = Insertable<JobLogsTable>;
export type Heartbeat = Selectable<HeartbeatsTable>;
