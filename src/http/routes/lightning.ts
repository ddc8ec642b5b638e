// Lightning reads: a lift invoice, a land payment, the node's status (info, channels, balances,
// pending counts, the invoice subscription) and a fee estimate for a land. Read-only: lifts and
// lands change state only through Nostr. Amounts are decimal strings, times ISO 8601 UTC.
import { Type } from 'typebox';
import { requiredFee, type FeeSchedule } from '../../domain/intents.ts';
import type { LightningBackend } from '../../backends/lnd/lightning-backend.ts';
import type { Lightning } from '../../lightning/module.ts';
import { invoiceJson, lightningStatus, paymentJson } from '../../lightning/reads.ts';
import type { Database } from '../../store/database.ts';
import { Int64String } from '../amounts.ts';
import { HttpError } from '../errors.ts';
import type { HttpServer, RoutePlugin } from '../server.ts';

export interface LightningRoutesDeps {
  readonly database: Database;
  readonly backend: LightningBackend;
  readonly lightning: Lightning;
  readonly fees: FeeSchedule;
  readonly feeLimitSat: bigint;
}

const NoExtra = { additionalProperties: false } as const;
const Amount = Type.String({
  pattern: '^\\d+$',
  description: 'integer in the base unit, as a decimal string',
});
const Time = Type.String({ format: 'date-time' });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) =>
  Type.Union([schema, Type.Null()]);
const HashParam = Type.Object({ payment_hash: Type.String({ pattern: '^[0-9a-fA-F]{64}$' }) }, NoExtra);

const Invoice = Type.Object({
  payment_hash: Type.String(),
  user_pubkey: Type.String(),
  asset_id: Type.String(),
  amount: Amount,
  amount_msat: Amount,
  bolt11: Type.String(),
  status: Type.String(),
  request_id: Nullable(Type.String()),
  settle_index: Nullable(Amount),
  credited_vtxo_id: Nullable(Type.String()),
  expires_at: Time,
  settled_at: Nullable(Time),
  credited_at: Nullable(Time),
  created_at: Time,
});

const Payment = Type.Object({
  payment_hash: Type.String(),
  session_id: Nullable(Type.String()),
  intent_event_id: Type.String(),
  user_pubkey: Type.String(),
  asset_id: Type.String(),
  amount: Amount,
  amount_msat: Amount,
  bolt11: Type.String(),
  fee_limit_sat: Amount,
  fee_paid_msat: Nullable(Amount),
  status: Type.String(),
  preimage: Nullable(Type.String()),
  failure_reason: Nullable(Type.String()),
  refund_vtxo_id: Nullable(Type.String()),
  attempted_at: Nullable(Time),
  completed_at: Nullable(Time),
  created_at: Time,
});

const Status = Type.Object({
  mode: Type.String(),
  node: Nullable(Type.Record(Type.String(), Type.Unknown())),
  balances: Nullable(Type.Record(Type.String(), Amount)),
  error: Nullable(Type.String()),
  monitor: Type.Object({ running: Type.Boolean(), settle_index: Amount }),
  invoices: Type.Record(Type.String(), Type.Integer()),
  payments: Type.Record(Type.String(), Type.Integer()),
});

const Estimate = Type.Object({
  asset_id: Type.String(),
  amount: Amount,
  land_fee: Type.Object({ asset_id: Type.String(), amount: Amount }),
  routing_fee_limit_sat: Amount,
  estimated_routing_fee_msat: Nullable(Amount),
  lift_fee: Amount,
});

export function lightningRoutes(deps: LightningRoutesDeps): RoutePlugin {
  return async (app: HttpServer) => {
    app.get(
      '/lightning/invoices/:payment_hash',
      {
        schema: {
          summary: 'A lift invoice by payment hash (404 when unknown)',
          tags: ['lightning'],
          params: HashParam,
          response: { 200: Invoice },
        },
      },
      async (request) => {
        const row = await deps.lightning.lift.get(request.params.payment_hash.toLowerCase());
        if (!row) throw new HttpError('not_found', 'no lift invoice with this payment hash');
        return invoiceJson(row);
      },
    );

    app.get(
      '/lightning/payments/:payment_hash',
      {
        schema: {
          summary: 'A land payment by payment hash (404 when unknown)',
          tags: ['lightning'],
          params: HashParam,
          response: { 200: Payment },
        },
      },
      async (request) => {
        const row = await deps.lightning.land.get(request.params.payment_hash.toLowerCase());
        if (!row) throw new HttpError('not_found', 'no land payment with this payment hash');
        return paymentJson(row);
      },
    );

    app.get(
      '/lightning/status',
      {
        schema: {
          summary: 'The Lightning node (info, channels, balances), the subscription and pending counts',
          tags: ['lightning'],
          response: { 200: Status },
        },
      },
      async () => lightningStatus(deps.database, deps.backend, deps.lightning.monitor.running),
    );

    app.get(
      '/lightning/fees/estimate',
      {
        schema: {
          summary:
            "What landing `amount` costs: the land fee, the routing fee limit and, given an invoice, lnd's routing estimate",
          tags: ['lightning'],
          querystring: Type.Object(
            {
              amount: Int64String(1, 'amount to land in the base unit, as a decimal string'),
              asset_id: Type.String({ minLength: 1, maxLength: 64, default: 'gBTC' }),
              invoice: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
            },
            NoExtra,
          ),
          response: { 200: Estimate },
        },
      },
      async (request) => {
        const amount = BigInt(request.query.amount);
        const assetId = request.query.asset_id;
        const fee = requiredFee(
          { type: 'lightning:land', params: { type: 'lightning:land', assetId, amount, invoice: '' } },
          deps.fees,
        );
        let routing: bigint | null = null;
        if (request.query.invoice) {
          // A daemon refusing the invoice is a 400 (errors.ts, httpAnswer).
          const decoded = await deps.backend.decodePaymentRequest(request.query.invoice);
          routing = await deps.backend.estimateRoutingFee(
            decoded.destination,
            decoded.amountMsat ?? amount * 1000n,
          );
        }
        return {
          asset_id: assetId,
          amount: amount.toString(),
          land_fee: { asset_id: fee.assetId, amount: fee.amount.toString() },
          routing_fee_limit_sat: deps.feeLimitSat.toString(),
          estimated_routing_fee_msat: routing === null ? null : routing.toString(),
          lift_fee: '0',
        };
      },
    );
  };
}
