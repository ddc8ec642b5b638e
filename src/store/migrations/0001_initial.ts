// The whole v1 schema. docs/schema.md describes every table. Times are BIGINT unix ms UTC,
// amounts BIGINT, booleans INTEGER 0/1; the application writes every time itself (no
// database clock defaults, which differ between the two dialects).
//
// No foreign keys, on purpose: on InnoDB a child insert takes a shared lock on its parent
// row, and two ledger transactions that then both update that parent deadlock. Integrity
// between tables is kept by the services, each in one transaction; uniqueness, which the
// exactly-once rules rest on, is enforced here by unique keys.
import { sql, type Kysely } from 'kysely';
import { columnTypes, createIndex, createTable, type DialectKind } from './ddl.ts';

type Db = Kysely<unknown>;

async function ledger(db: Db, kind: DialectKind): Promise<void> {
  const t = columnTypes(kind);

  await createTable(db, kind, 'assets')
    .addColumn('asset_id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('name', 'varchar(128)', (c) => c.notNull())
    .addColumn('ticker', 'varchar(32)', (c) => c.notNull())
    .addColumn('decimals', 'integer', (c) => c.notNull())
    .addColumn('asset_type', 'varchar(32)', (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull())
    .addColumn('total_supply', 'bigint', (c) => c.notNull())
    .addColumn('tapd_asset_id', 'char(64)')
    .addColumn('min_amount', 'bigint', (c) => c.notNull())
    .addColumn('max_amount', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addCheckConstraint('assets_amounts_check', sql`total_supply >= 0 and min_amount >= 0`)
    .execute();
  await createIndex(db, 'assets_ticker_uq', 'assets', ['ticker'], { unique: true });
  await createIndex(db, 'assets_tapd_asset_id_uq', 'assets', ['tapd_asset_id'], { unique: true });

  await createTable(db, kind, 'asset_reserves')
    .addColumn('id', t.autoId, (c) => c.primaryKey().autoIncrement())
    .addColumn('asset_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('lightning_sat', 'bigint', (c) => c.notNull())
    .addColumn('onchain_sat', 'bigint', (c) => c.notNull())
    .addColumn('total_sat', 'bigint', (c) => c.notNull())
    .addColumn('supply', 'bigint', (c) => c.notNull())
    .addColumn('ratio_ppm', 'bigint', (c) => c.notNull())
    .addColumn('healthy', 'integer', (c) => c.notNull())
    .addColumn('observed_at', 'bigint', (c) => c.notNull())
    .execute();
  await createIndex(db, 'asset_reserves_asset_observed_idx', 'asset_reserves', ['asset_id', 'observed_at']);

  await createTable(db, kind, 'asset_movements')
    .addColumn('id', t.autoId, (c) => c.primaryKey().autoIncrement())
    .addColumn('asset_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('kind', 'varchar(16)', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('reference', 'varchar(128)', (c) => c.notNull())
    .addColumn('user_pubkey', 'char(64)')
    .addColumn('vtxo_id', 'varchar(80)')
    .addColumn('ark_txid', 'char(64)')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addCheckConstraint('asset_movements_amount_check', sql`amount > 0`)
    .execute();
  // A lift, land, refund… is booked once, however often its trigger is seen.
  await createIndex(
    db,
    'asset_movements_kind_reference_asset_uq',
    'asset_movements',
    ['kind', 'reference', 'asset_id'],
    {
      unique: true,
    },
  );
  await createIndex(db, 'asset_movements_asset_created_idx', 'asset_movements', ['asset_id', 'created_at']);

  await createTable(db, kind, 'vtxos')
    .addColumn('vtxo_id', 'varchar(80)', (c) => c.primaryKey())
    .addColumn('txid', 'char(64)', (c) => c.notNull())
    .addColumn('vout', 'integer', (c) => c.notNull())
    .addColumn('owner_pubkey', 'char(64)', (c) => c.notNull())
    .addColumn('asset_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('sats', 'bigint', (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('script_hex', t.text)
    .addColumn('locked_by_session', 'varchar(64)')
    .addColumn('locked_at', 'bigint')
    .addColumn('lock_expires_at', 'bigint')
    .addColumn('batch_txid', 'char(64)')
    .addColumn('expires_at', 'bigint')
    .addColumn('created_by_txid', 'char(64)')
    .addColumn('spent_by_txid', 'char(64)')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull().defaultTo(0))
    .addCheckConstraint('vtxos_amounts_check', sql`amount >= 0 and sats >= 0 and vout >= 0`)
    .execute();
  await createIndex(db, 'vtxos_txid_vout_uq', 'vtxos', ['txid', 'vout'], { unique: true });
  await createIndex(db, 'vtxos_owner_asset_status_idx', 'vtxos', ['owner_pubkey', 'asset_id', 'status']);
  await createIndex(db, 'vtxos_status_asset_idx', 'vtxos', ['status', 'asset_id']);
  await createIndex(db, 'vtxos_locked_by_session_idx', 'vtxos', ['locked_by_session']);
  await createIndex(db, 'vtxos_expires_at_idx', 'vtxos', ['expires_at']);
  await createIndex(db, 'vtxos_created_by_txid_idx', 'vtxos', ['created_by_txid']);
  await createIndex(db, 'vtxos_spent_by_txid_idx', 'vtxos', ['spent_by_txid']);
}

async function intake(db: Db, kind: DialectKind): Promise<void> {
  const t = columnTypes(kind);

  await createTable(db, kind, 'intents')
    .addColumn('intent_event_id', 'char(64)', (c) => c.primaryKey())
    .addColumn('author_pubkey', 'char(64)', (c) => c.notNull())
    .addColumn('action_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('intent_type', 'varchar(32)', (c) => c.notNull())
    .addColumn('params_json', t.text, (c) => c.notNull())
    .addColumn('event_json', t.bigText, (c) => c.notNull())
    .addColumn('fee_asset_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('fee_amount', 'bigint', (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('error_code', 'integer')
    .addColumn('error_message', t.text)
    .addColumn('session_id', 'varchar(64)')
    .addColumn('batch_id', 'varchar(64)')
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addCheckConstraint('intents_fee_amount_check', sql`fee_amount >= 0`)
    .execute();
  // An action_id is used once per author, ever (error 1004 on replay).
  await createIndex(db, 'intents_author_action_uq', 'intents', ['author_pubkey', 'action_id'], {
    unique: true,
  });
  await createIndex(db, 'intents_status_expires_idx', 'intents', ['status', 'expires_at']);
  await createIndex(db, 'intents_session_id_idx', 'intents', ['session_id']);
  await createIndex(db, 'intents_batch_id_idx', 'intents', ['batch_id']);

  await createTable(db, kind, 'processed_events')
    .addColumn('event_id', 'char(64)', (c) => c.primaryKey())
    .addColumn('kind', 'integer', (c) => c.notNull())
    .addColumn('author_pubkey', 'char(64)', (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('claimed_by', 'varchar(128)', (c) => c.notNull())
    .addColumn('claimed_at', 'bigint', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('reply_json', t.bigText)
    .addColumn('completed_at', 'bigint')
    .execute();
  await createIndex(db, 'processed_events_completed_at_idx', 'processed_events', ['completed_at']);
  await createIndex(db, 'processed_events_status_claimed_idx', 'processed_events', ['status', 'claimed_at']);

  await createTable(db, kind, 'relay_cursors')
    .addColumn('relay_url', 'varchar(512)', (c) => c.primaryKey())
    .addColumn('last_event_created_s', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await createTable(db, kind, 'nostr_outbox')
    .addColumn('event_id', 'char(64)', (c) => c.primaryKey())
    .addColumn('kind', 'integer', (c) => c.notNull())
    .addColumn('event_json', t.bigText, (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
    .addColumn('last_error', t.text)
    .addColumn('expires_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('published_at', 'bigint')
    .execute();
  await createIndex(db, 'nostr_outbox_status_next_idx', 'nostr_outbox', ['status', 'next_attempt_at']);
  await createIndex(db, 'nostr_outbox_created_at_idx', 'nostr_outbox', ['created_at']);

  await createTable(db, kind, 'gateway_keys')
    .addColumn('pubkey', 'char(64)', (c) => c.primaryKey())
    .addColumn('encrypted_secret', t.text, (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('retire_after_at', 'bigint')
    .execute();
  await createIndex(db, 'gateway_keys_status_idx', 'gateway_keys', ['status']);
}

async function ceremony(db: Db, kind: DialectKind): Promise<void> {
  const t = columnTypes(kind);

  await createTable(db, kind, 'signing_sessions')
    .addColumn('session_id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('intent_event_id', 'char(64)')
    .addColumn('owner_pubkey', 'char(64)', (c) => c.notNull())
    .addColumn('action_id', 'varchar(64)')
    .addColumn('session_type', 'varchar(32)', (c) => c.notNull())
    .addColumn('state', 'varchar(32)', (c) => c.notNull())
    .addColumn('current_step', 'integer', (c) => c.notNull())
    .addColumn('step_total', 'integer', (c) => c.notNull())
    .addColumn('steps_completed_json', t.text, (c) => c.notNull())
    .addColumn('context_json', t.bigText, (c) => c.notNull())
    .addColumn('ark_txid', 'char(64)')
    .addColumn('batch_id', 'varchar(64)')
    .addColumn('error_code', 'integer')
    .addColumn('error_message', t.text)
    .addColumn('version', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('deadline_at', 'bigint', (c) => c.notNull())
    .addColumn('step_deadline_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('completed_at', 'bigint')
    .execute();
  // One session per intent: a duplicate intent can never start a second ceremony.
  await createIndex(db, 'signing_sessions_intent_uq', 'signing_sessions', ['intent_event_id'], {
    unique: true,
  });
  await createIndex(db, 'signing_sessions_state_step_deadline_idx', 'signing_sessions', [
    'state',
    'step_deadline_at',
  ]);
  await createIndex(db, 'signing_sessions_state_deadline_idx', 'signing_sessions', ['state', 'deadline_at']);
  await createIndex(db, 'signing_sessions_owner_state_idx', 'signing_sessions', ['owner_pubkey', 'state']);
  await createIndex(db, 'signing_sessions_batch_id_idx', 'signing_sessions', ['batch_id']);
  await createIndex(db, 'signing_sessions_created_at_idx', 'signing_sessions', ['created_at']);

  await createTable(db, kind, 'signing_challenges')
    .addColumn('challenge_id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('session_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('step', 'integer', (c) => c.notNull())
    .addColumn('challenge_type', 'varchar(32)', (c) => c.notNull())
    .addColumn('payload_json', t.bigText, (c) => c.notNull())
    .addColumn('event_id', 'char(64)')
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('response_event_id', 'char(64)')
    .addColumn('response_json', t.bigText)
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('answered_at', 'bigint')
    .execute();
  await createIndex(db, 'signing_challenges_session_step_uq', 'signing_challenges', ['session_id', 'step'], {
    unique: true,
  });
  await createIndex(db, 'signing_challenges_status_expires_idx', 'signing_challenges', [
    'status',
    'expires_at',
  ]);

  await createTable(db, kind, 'batches')
    .addColumn('batch_id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('submitter_pubkey', 'char(64)', (c) => c.notNull())
    .addColumn('request_event_id', 'char(64)', (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('intent_count', 'integer', (c) => c.notNull())
    .addColumn('ark_txid', 'char(64)')
    .addColumn('error_code', 'integer')
    .addColumn('error_message', t.text)
    .addColumn('deadline_at', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('completed_at', 'bigint')
    .execute();
  await createIndex(db, 'batches_request_event_uq', 'batches', ['request_event_id'], { unique: true });
  await createIndex(db, 'batches_status_deadline_idx', 'batches', ['status', 'deadline_at']);
  await createIndex(db, 'batches_submitter_idx', 'batches', ['submitter_pubkey']);

  await createTable(db, kind, 'ark_transactions')
    .addColumn('ark_txid', 'char(64)', (c) => c.primaryKey())
    .addColumn('session_id', 'varchar(64)')
    .addColumn('batch_id', 'varchar(64)')
    .addColumn('tx_kind', 'varchar(32)', (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('ark_psbt', t.bigText, (c) => c.notNull())
    .addColumn('checkpoint_psbts_json', t.bigText)
    .addColumn('commitment_id', 'bigint')
    .addColumn('error_message', t.text)
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('submitted_at', 'bigint')
    .addColumn('finalized_at', 'bigint')
    .execute();
  await createIndex(db, 'ark_transactions_status_idx', 'ark_transactions', ['status']);
  await createIndex(db, 'ark_transactions_finalized_at_idx', 'ark_transactions', ['finalized_at']);
  await createIndex(db, 'ark_transactions_commitment_idx', 'ark_transactions', ['commitment_id']);
  await createIndex(db, 'ark_transactions_session_idx', 'ark_transactions', ['session_id']);
  await createIndex(db, 'ark_transactions_batch_idx', 'ark_transactions', ['batch_id']);
}

async function lightning(db: Db, kind: DialectKind): Promise<void> {
  const t = columnTypes(kind);

  await createTable(db, kind, 'lightning_invoices')
    .addColumn('payment_hash', 'char(64)', (c) => c.primaryKey())
    .addColumn('user_pubkey', 'char(64)', (c) => c.notNull())
    .addColumn('asset_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('amount_msat', 'bigint', (c) => c.notNull())
    .addColumn('bolt11', t.text, (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('request_id', 'varchar(64)')
    .addColumn('request_event_id', 'char(64)')
    .addColumn('add_index', 'bigint')
    .addColumn('settle_index', 'bigint')
    .addColumn('credited_vtxo_id', 'varchar(80)')
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('settled_at', 'bigint')
    .addColumn('credited_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addCheckConstraint('lightning_invoices_amount_check', sql`amount > 0 and amount_msat >= 0`)
    .execute();
  await createIndex(db, 'lightning_invoices_status_expires_idx', 'lightning_invoices', [
    'status',
    'expires_at',
  ]);
  await createIndex(db, 'lightning_invoices_user_idx', 'lightning_invoices', ['user_pubkey']);

  await createTable(db, kind, 'lightning_payments')
    .addColumn('payment_hash', 'char(64)', (c) => c.primaryKey())
    .addColumn('session_id', 'varchar(64)')
    .addColumn('intent_event_id', 'char(64)', (c) => c.notNull())
    .addColumn('user_pubkey', 'char(64)', (c) => c.notNull())
    .addColumn('asset_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('amount_msat', 'bigint', (c) => c.notNull())
    .addColumn('bolt11', t.text, (c) => c.notNull())
    .addColumn('fee_limit_sat', 'bigint', (c) => c.notNull())
    .addColumn('fee_paid_msat', 'bigint')
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('preimage', 'char(64)')
    .addColumn('failure_reason', t.text)
    .addColumn('refund_vtxo_id', 'varchar(80)')
    .addColumn('attempted_at', 'bigint')
    .addColumn('completed_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addCheckConstraint(
      'lightning_payments_amount_check',
      sql`amount > 0 and amount_msat >= 0 and fee_limit_sat >= 0`,
    )
    .execute();
  // One payment per land, one land per session: a payment is never attempted twice.
  await createIndex(db, 'lightning_payments_intent_uq', 'lightning_payments', ['intent_event_id'], {
    unique: true,
  });
  await createIndex(db, 'lightning_payments_session_uq', 'lightning_payments', ['session_id'], {
    unique: true,
  });
  await createIndex(db, 'lightning_payments_status_idx', 'lightning_payments', ['status']);
  await createIndex(db, 'lightning_payments_user_idx', 'lightning_payments', ['user_pubkey']);

  await createTable(db, kind, 'subscription_cursors')
    .addColumn('name', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('add_index', 'bigint', (c) => c.notNull())
    .addColumn('settle_index', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await createTable(db, kind, 'l1_commitments')
    .addColumn('id', t.autoId, (c) => c.primaryKey().autoIncrement())
    .addColumn('merkle_root', 'char(64)', (c) => c.notNull())
    .addColumn('tx_count', 'integer', (c) => c.notNull())
    .addColumn('from_at', 'bigint', (c) => c.notNull())
    .addColumn('to_at', 'bigint', (c) => c.notNull())
    .addColumn('l1_txid', 'char(64)')
    .addColumn('block_height', 'integer')
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('event_id', 'char(64)')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await createIndex(db, 'l1_commitments_merkle_root_uq', 'l1_commitments', ['merkle_root'], { unique: true });
  await createIndex(db, 'l1_commitments_to_at_idx', 'l1_commitments', ['to_at']);
}

async function operations(db: Db, kind: DialectKind): Promise<void> {
  const t = columnTypes(kind);

  await createTable(db, kind, 'settings')
    .addColumn('name', 'varchar(128)', (c) => c.primaryKey())
    .addColumn('value_json', t.text, (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  // job_logs and heartbeats: the job queue is written against exactly these columns.
  await createTable(db, kind, 'job_logs')
    .addColumn('id', t.autoId, (c) => c.primaryKey().autoIncrement())
    .addColumn('job_id', 'varchar(128)', (c) => c.notNull())
    .addColumn('queue', 'varchar(64)', (c) => c.notNull())
    .addColumn('job_name', 'varchar(64)', (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('instance_id', 'varchar(128)', (c) => c.notNull())
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('finished_at', 'bigint')
    .addColumn('duration_ms', 'integer')
    .addColumn('error', 'text')
    .addColumn('result_json', 'text')
    .execute();
  await createIndex(db, 'job_logs_status_started_idx', 'job_logs', ['status', 'started_at']);
  await createIndex(db, 'job_logs_name_started_idx', 'job_logs', ['job_name', 'started_at']);
  await createIndex(db, 'job_logs_job_id_idx', 'job_logs', ['job_id']);

  await createTable(db, kind, 'heartbeats')
    .addColumn('instance_id', 'varchar(128)', (c) => c.primaryKey())
    .addColumn('role', 'varchar(32)', (c) => c.notNull())
    .addColumn('hostname', 'varchar(255)', (c) => c.notNull())
    .addColumn('pid', 'integer', (c) => c.notNull())
    .addColumn('version', 'varchar(32)', (c) => c.notNull())
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
    .addColumn('details_json', 'text')
    .execute();
  await createIndex(db, 'heartbeats_last_seen_idx', 'heartbeats', ['last_seen_at']);

  await createTable(db, kind, 'system_metrics')
    .addColumn('id', t.autoId, (c) => c.primaryKey().autoIncrement())
    .addColumn('instance_id', 'varchar(128)', (c) => c.notNull())
    .addColumn('sampled_at', 'bigint', (c) => c.notNull())
    .addColumn('cpu_percent', 'double precision')
    .addColumn('memory_percent', 'double precision')
    .addColumn('memory_rss_bytes', 'bigint')
    .addColumn('disk_percent', 'double precision')
    .addColumn('disk_free_bytes', 'bigint')
    .addColumn('event_loop_lag_ms', 'double precision')
    .addColumn('load_avg_1m', 'double precision')
    .execute();
  await createIndex(db, 'system_metrics_sampled_idx', 'system_metrics', ['sampled_at']);

  await createTable(db, kind, 'alert_rules')
    .addColumn('rule_name', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('enabled', 'integer', (c) => c.notNull())
    .addColumn('state', 'varchar(16)', (c) => c.notNull())
    .addColumn('pending_since_at', 'bigint')
    .addColumn('fired_at', 'bigint')
    .addColumn('resolved_at', 'bigint')
    .addColumn('last_value', 'double precision')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await createTable(db, kind, 'alert_history')
    .addColumn('id', t.autoId, (c) => c.primaryKey().autoIncrement())
    .addColumn('rule_name', 'varchar(64)', (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('severity', 'varchar(16)', (c) => c.notNull())
    .addColumn('value', 'double precision')
    .addColumn('message', t.text, (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await createIndex(db, 'alert_history_created_idx', 'alert_history', ['created_at']);
  await createIndex(db, 'alert_history_rule_created_idx', 'alert_history', ['rule_name', 'created_at']);

  await createTable(db, kind, 'admin_audit_log')
    .addColumn('id', t.autoId, (c) => c.primaryKey().autoIncrement())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('actor', 'varchar(128)', (c) => c.notNull())
    .addColumn('ip', 'varchar(64)')
    .addColumn('method', 'varchar(8)', (c) => c.notNull())
    .addColumn('path', 'varchar(512)', (c) => c.notNull())
    .addColumn('action', 'varchar(128)', (c) => c.notNull())
    .addColumn('params_json', t.text)
    .addColumn('status_code', 'integer', (c) => c.notNull())
    .addColumn('request_id', 'varchar(64)')
    .execute();
  await createIndex(db, 'admin_audit_log_created_idx', 'admin_audit_log', ['created_at']);
}

export async function up(db: Db, kind: DialectKind): Promise<void> {
  await ledger(db, kind);
  await intake(db, kind);
  await ceremony(db, kind);
  await lightning(db, kind);
  await operations(db, kind);
}
