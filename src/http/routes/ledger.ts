// Ledger reads: a user's VTXOs and balances, VTXO statistics, the asset registry and the gBTC
// reserve; and the invariant check for operators (`GET /admin/ledger/check`, admin key).
// Amounts are decimal strings (bigint-safe, never a float); times ISO 8601 UTC.
import { Type } from 'typebox';
import { ledgerCheckJson } from '../../ledger/invariant.ts';
import { InvalidPubkeyError, VTXO_ID_PATTERN, balanceJson, parsePubkey } from '../../ledger/ledger-reads.ts';
import type { LedgerModule } from '../../ledger/module.ts';
import { reserveJson } from '../../ledger/reserves.ts';
import { AssetExistsError, AssetValidationError, type AssetRecord } from '../../ledger/assets.ts';
import type { VtxoStatus } from '../../store/schema.ts';
import { ADMIN_SECURITY } from '../admin-auth.ts';
import { Int64String } from '../amounts.ts';
import { HttpError } from '../errors.ts';
import type { RouteSet } from '../admin-scope.ts';
import type { HttpServer } from '../server.ts';

export type LedgerRoutesDeps = Pick<LedgerModule, 'reads' | 'assets' | 'reserves' | 'check'>;

const NoExtra = { additionalProperties: false } as const;
const Amount = Type.String({
  pattern: '^-?\\d+$',
  description: 'integer in the base unit, as a decimal string',
});
const Time = Type.String({ format: 'date-time' });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) =>
  Type.Union([schema, Type.Null()]);
const Status = Type.Union([
  Type.Literal('available'),
  Type.Literal('assigned'),
  Type.Literal('pending_spend'),
  Type.Literal('spent'),
  Type.Literal('expired'),
]);
const AssetIdParam = Type.String({ minLength: 1, maxLength: 64 });
const PubkeyParam = Type.Object({ pubkey: Type.String({ minLength: 1, maxLength: 128 }) }, NoExtra);

const Vtxo = Type.Object({
  vtxo_id: Type.String(),
  txid: Type.String(),
  vout: Type.Integer(),
  owner_pubkey: Type.String(),
  asset_id: Type.String(),
  amount: Amount,
  sats: Amount,
  status: Status,
  locked_by_session: Nullable(Type.String()),
  lock_expires_at: Nullable(Time),
  batch_txid: Nullable(Type.String()),
  expires_at: Nullable(Time),
  created_by_txid: Nullable(Type.String()),
  spent_by_txid: Nullable(Type.String()),
  created_at: Time,
  updated_at: Time,
});

const Balance = Type.Object({
  asset_id: Type.String(),
  available: Amount,
  pending: Amount,
  available_count: Type.Integer(),
  pending_count: Type.Integer(),
});

const Asset = Type.Object({
  asset_id: Type.String(),
  name: Type.String(),
  ticker: Type.String(),
  decimals: Type.Integer(),
  type: Type.Union([Type.Literal('relay_issued'), Type.Literal('permissionless')]),
  enabled: Type.Boolean(),
  total_supply: Amount,
  tapd_asset_id: Nullable(Type.String()),
  min_amount: Amount,
  max_amount: Nullable(Amount),
  created_at: Time,
  updated_at: Time,
});

const Reading = Type.Object({
  asset_id: Type.String(),
  lightning_sat: Amount,
  onchain_sat: Amount,
  total_sat: Amount,
  supply: Amount,
  ratio_ppm: Amount,
  ratio_percent: Type.String({ description: 'ratio_ppm / 10 000, two decimals, rounded down' }),
  healthy: Type.Boolean(),
  observed_at: Time,
});

const LedgerCheckBody = Type.Object({
  ok: Type.Boolean(),
  checked_at: Time,
  assets: Type.Array(
    Type.Object({
      asset_id: Type.String(),
      ok: Type.Boolean(),
      unspent: Amount,
      expected: Amount,
      difference: Amount,
    }),
  ),
  problems: Type.Array(
    Type.Object({
      check: Type.String(),
      description: Type.String(),
      count: Type.Integer(),
      sample: Type.Array(Type.String()),
    }),
  ),
});

function assetJson(a: AssetRecord) {
  return {
    asset_id: a.assetId,
    name: a.name,
    ticker: a.ticker,
    decimals: a.decimals,
    type: a.assetType,
    enabled: a.enabled,
    total_supply: a.totalSupply.toString(),
    tapd_asset_id: a.tapdAssetId,
    min_amount: a.minAmount.toString(),
    max_amount: a.maxAmount === null ? null : a.maxAmount.toString(),
    created_at: new Date(a.createdAt).toISOString(),
    updated_at: new Date(a.updatedAt).toISOString(),
  };
}

/** 1 234 567 ppm → "123.45" (rounded down, integer math). */
export function percentOf(ppm: bigint): string {
  const hundredths = ppm / 100n;
  return `${hundredths / 100n}.${(hundredths % 100n).toString().padStart(2, '0')}`;
}

function pubkeyOf(text: string): string {
  try {
    return parsePubkey(text);
  } catch (error) {
    if (error instanceof InvalidPubkeyError) throw new HttpError('validation_failed', error.message);
    throw error;
  }
}

export function ledgerRoutes(deps: LedgerRoutesDeps): RouteSet {
  return {
    open: async (app: HttpServer) => {
      app.get(
        '/vtxos/user/:pubkey',
        {
          schema: {
            summary: "A user's VTXOs (hex or npub), by id, one page at a time",
            tags: ['ledger'],
            params: PubkeyParam,
            querystring: Type.Object(
              {
                asset_id: Type.Optional(AssetIdParam),
                status: Type.Optional(Type.Array(Status, { maxItems: 5 })),
                limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }),
                cursor: Type.Optional(Type.String({ pattern: VTXO_ID_PATTERN })),
              },
              NoExtra,
            ),
            response: {
              200: Type.Object({
                pubkey: Type.String(),
                vtxos: Type.Array(Vtxo),
                next_cursor: Nullable(Type.String()),
              }),
            },
          },
        },
        async (request, reply) => {
          const pubkey = pubkeyOf(request.params.pubkey);
          const q = request.query;
          const body = await deps.reads.userVtxosJson(pubkey, {
            limit: q.limit,
            ...(q.asset_id !== undefined ? { assetId: q.asset_id } : {}),
            ...(q.status ? { statuses: q.status as VtxoStatus[] } : {}),
            ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
          });
          // Already JSON text of the 200 schema's shape (rendered by vtxoJson): Fastify sends a
          // string with a JSON content type as it is. The cast only tells the type provider so.
          return reply.type('application/json; charset=utf-8').send(body as never);
        },
      );

      app.get(
        '/vtxos/stats',
        {
          schema: {
            summary: 'VTXO counts, asset amounts and sats by status and asset',
            tags: ['ledger'],
            response: {
              200: Type.Object({
                by_status: Type.Array(
                  Type.Object({
                    asset_id: Type.String(),
                    status: Status,
                    count: Type.Integer(),
                    amount: Amount,
                    sats: Amount,
                  }),
                ),
                totals: Type.Object({ count: Type.Integer(), sats: Amount }),
              }),
            },
          },
        },
        async () => {
          const rows = await deps.reads.stats();
          return {
            by_status: rows.map((r) => ({
              asset_id: r.assetId,
              status: r.status,
              count: r.count,
              amount: r.amount.toString(),
              sats: r.sats.toString(),
            })),
            // Asset amounts of different assets do not add up; counts and sats do.
            totals: {
              count: rows.reduce((n, r) => n + r.count, 0),
              sats: rows.reduce((n, r) => n + r.sats, 0n).toString(),
            },
          };
        },
      );

      app.get(
        '/assets',
        {
          schema: {
            summary: 'The asset registry',
            tags: ['ledger'],
            querystring: Type.Object({ enabled: Type.Optional(Type.Boolean()) }, NoExtra),
            response: { 200: Type.Object({ assets: Type.Array(Asset) }) },
          },
        },
        async (request) => {
          const list = await deps.assets.list({ enabledOnly: request.query.enabled === true });
          const shown = request.query.enabled === false ? list.filter((a) => !a.enabled) : list;
          return { assets: shown.map(assetJson) };
        },
      );

      app.get(
        '/assets/:id',
        {
          schema: {
            summary: 'One asset (404 when unknown)',
            tags: ['ledger'],
            params: Type.Object({ id: AssetIdParam }, NoExtra),
            response: { 200: Asset },
          },
        },
        async (request) => {
          const asset = await deps.assets.get(request.params.id);
          if (!asset) throw new HttpError('not_found', `unknown asset ${request.params.id}`);
          return assetJson(asset);
        },
      );

      app.get(
        '/assets/:id/reserve',
        {
          schema: {
            summary:
              'Newest reserve reading of an asset: BTC held (Lightning + on-chain) against supply (404 when unknown)',
            tags: ['ledger'],
            params: Type.Object({ id: AssetIdParam }, NoExtra),
            response: { 200: Type.Object({ asset_id: Type.String(), latest: Nullable(Reading) }) },
          },
        },
        async (request) => {
          const asset = await deps.assets.get(request.params.id);
          if (!asset) throw new HttpError('not_found', `unknown asset ${request.params.id}`);
          const reading = await deps.reserves.latest(asset.assetId);
          return {
            asset_id: asset.assetId,
            latest: reading ? { ...reserveJson(reading), ratio_percent: percentOf(reading.ratioPpm) } : null,
          };
        },
      );

      app.get(
        '/balances/:pubkey',
        {
          schema: {
            summary: "A user's balances per asset: available (assigned) and pending (locked by a session)",
            tags: ['ledger'],
            params: PubkeyParam,
            response: { 200: Type.Object({ pubkey: Type.String(), balances: Type.Array(Balance) }) },
          },
        },
        async (request) => {
          const pubkey = pubkeyOf(request.params.pubkey);
          return { pubkey, balances: (await deps.reads.balances(pubkey)).map(balanceJson) };
        },
      );

      // Registering a Taproot Asset the gateway carries (its colour lives in this ledger; units
      // enter circulation only by lifts). gBTC is registered and minted by the gateway itself.
    },
    admin: async (app: HttpServer) => {
      app.post(
        '/admin/assets',
        {
          schema: {
            summary: 'Register an asset (admin key): a Taproot Asset users may lift, hold and move',
            tags: ['admin'],
            security: ADMIN_SECURITY,
            body: Type.Object(
              {
                asset_id: AssetIdParam,
                name: Type.String({ minLength: 1, maxLength: 128 }),
                ticker: Type.String({ minLength: 1, maxLength: 32 }),
                decimals: Type.Integer({ minimum: 0, maximum: 18 }),
                type: Type.Union([Type.Literal('relay_issued'), Type.Literal('permissionless')]),
                tapd_asset_id: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$' })),
                min_amount: Type.Optional(Int64String(0)),
                max_amount: Type.Optional(Int64String(0)),
                enabled: Type.Optional(Type.Boolean()),
              },
              NoExtra,
            ),
            response: { 201: Asset },
          },
        },
        async (request, reply) => {
          const b = request.body;
          try {
            const created = await deps.assets.create({
              assetId: b.asset_id,
              name: b.name,
              ticker: b.ticker,
              decimals: b.decimals,
              assetType: b.type,
              ...(b.tapd_asset_id !== undefined ? { tapdAssetId: b.tapd_asset_id } : {}),
              ...(b.min_amount !== undefined ? { minAmount: BigInt(b.min_amount) } : {}),
              ...(b.max_amount !== undefined ? { maxAmount: BigInt(b.max_amount) } : {}),
              ...(b.enabled !== undefined ? { enabled: b.enabled } : {}),
            });
            return reply.code(201).send(assetJson(created));
          } catch (error) {
            if (error instanceof AssetValidationError)
              throw new HttpError('validation_failed', error.message);
            if (error instanceof AssetExistsError) throw new HttpError('conflict', error.message);
            throw error;
          }
        },
      );

      app.post(
        '/admin/assets/:id/:action',
        {
          schema: {
            summary: 'Enable or disable an asset (admin key); a disabled asset refuses new intents and lifts',
            tags: ['admin'],
            security: ADMIN_SECURITY,
            params: Type.Object(
              { id: AssetIdParam, action: Type.Union([Type.Literal('enable'), Type.Literal('disable')]) },
              NoExtra,
            ),
            response: { 200: Asset },
          },
        },
        async (request) => {
          const asset = await deps.assets.setEnabled(request.params.id, request.params.action === 'enable');
          if (!asset) throw new HttpError('not_found', `unknown asset ${request.params.id}`);
          return assetJson(asset);
        },
      );

      app.get(
        '/admin/ledger/check',
        {
          schema: {
            summary:
              'Ledger invariant and integrity checks (admin key). 200 either way: `ok` false names what is broken',
            tags: ['admin'],
            security: ADMIN_SECURITY,
            response: { 200: LedgerCheckBody },
          },
        },
        async (request) => {
          const report = await deps.check();
          if (!report.ok) request.log.error({ ledger: ledgerCheckJson(report) }, 'ledger check failed');
          return ledgerCheckJson(report);
        },
      );
    },
  };
}
