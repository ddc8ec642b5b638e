// What the HTTP reads show of Lightning: one lift invoice, one land payment, the node's status
// (info, channels, balances, pending work) and a fee estimate. Amounts are decimal strings,
// times ISO 8601 UTC. Read-only.
import type { LightningBackend } from '../backends/lnd/lightning-backend.ts';
import { BackendError } from '../backends/types.ts';
import type { Database } from '../store/database.ts';
import { toBigInt } from '../store/values.ts';
import { readCursor } from './invoice-monitor.ts';
import type { InvoiceRow } from './lift.ts';
import type { PaymentRow } from './land.ts';
import { isoTime, isoTimeOrNull } from '../domain/iso-time.ts';

const text = (v: number | bigint | string | null) => (v === null ? null : toBigInt(v).toString());

export function invoiceJson(row: InvoiceRow) {
  return {
    payment_hash: row.payment_hash,
    user_pubkey: row.user_pubkey,
    asset_id: row.asset_id,
    amount: toBigInt(row.amount).toString(),
    amount_msat: toBigInt(row.amount_msat).toString(),
    bolt11: row.bolt11,
    status: row.status,
    request_id: row.request_id,
    settle_index: text(row.settle_index),
    credited_vtxo_id: row.credited_vtxo_id,
    expires_at: isoTime(row.expires_at),
    settled_at: isoTimeOrNull(row.settled_at),
    credited_at: isoTimeOrNull(row.credited_at),
    created_at: isoTime(row.created_at),
  };
}

export function paymentJson(row: PaymentRow) {
  return {
    payment_hash: row.payment_hash,
    session_id: row.session_id,
    intent_event_id: row.intent_event_id,
    user_pubkey: row.user_pubkey,
    asset_id: row.asset_id,
    amount: toBigInt(row.amount).toString(),
    amount_msat: toBigInt(row.amount_msat).toString(),
    bolt11: row.bolt11,
    fee_limit_sat: toBigInt(row.fee_limit_sat).toString(),
    fee_paid_msat: text(row.fee_paid_msat),
    status: row.status,
    preimage: row.preimage,
    failure_reason: row.failure_reason,
    refund_vtxo_id: row.refund_vtxo_id,
    attempted_at: isoTimeOrNull(row.attempted_at),
    completed_at: isoTimeOrNull(row.completed_at),
    created_at: isoTime(row.created_at),
  };
}

export interface LightningStatus {
  readonly mode: string;
  readonly node: Record<string, unknown> | null;
  readonly balances: Record<string, string> | null;
  readonly error: string | null;
  readonly monitor: { readonly running: boolean; readonly settle_index: string };
  readonly invoices: Record<string, number>;
  readonly payments: Record<string, number>;
}

async function countBy(
  database: Database,
  table: 'lightning_invoices' | 'lightning_payments',
): Promise<Record<string, number>> {
  const rows = await database.db
    .selectFrom(table)
    .select(['status', (eb) => eb.fn.countAll<number | string | bigint>().as('n')])
    .groupBy('status')
    .execute();
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

export async function lightningStatus(
  database: Database,
  lightning: LightningBackend,
  monitorRunning: boolean,
): Promise<LightningStatus> {
  let node: LightningStatus['node'] = null;
  let balances: LightningStatus['balances'] = null;
  let error: string | null = null;
  try {
    const info = await lightning.getInfo();
    node = {
      pubkey: info.nodePubkey,
      alias: info.alias,
      network: info.network,
      block_height: info.blockHeight,
      synced_to_chain: info.syncedToChain,
      active_channels: info.activeChannels,
      peers: info.peers,
      version: info.version,
    };
    const b = await lightning.getBalances();
    balances = {
      onchain_confirmed_sat: b.onchainConfirmedSats.toString(),
      onchain_unconfirmed_sat: b.onchainUnconfirmedSats.toString(),
      channel_local_sat: b.channelLocalSats.toString(),
      channel_remote_sat: b.channelRemoteSats.toString(),
      channel_pending_sat: b.channelPendingSats.toString(),
    };
  } catch (cause) {
    error = cause instanceof BackendError ? `${cause.kind}: ${cause.message}` : String(cause);
  }
  return {
    mode: lightning.mode,
    node,
    balances,
    error,
    monitor: { running: monitorRunning, settle_index: (await readCursor(database)).toString() },
    invoices: await countBy(database, 'lightning_invoices'),
    payments: await countBy(database, 'lightning_payments'),
  };
}
