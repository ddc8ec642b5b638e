// The VTXO inventory over HTTP: `GET /vtxos/inventory/{asset_id}` (counts, thresholds, monitor
// state, last replenishment) and the operator's actions behind the admin key: create a batch,
// start or stop the monitor, reconcile with the Ark server, and run the expiry cleanup.
import { Type } from 'typebox';
import type { JobQueue } from '../../jobs/queue.ts';
import type { InventoryLedger } from '../../ledger/inventory-ledger.ts';
import type { MonitorState } from '../../ledger/inventory-monitor.ts';
import { DEFAULT_INVENTORY_ASSET, MAX_BATCH_VTXOS } from '../../ledger/inventory.ts';
import { INVENTORY_MONITOR_TASK } from '../../ledger/tasks.ts';
import type { CleanupResult } from '../../ledger/cleanup.ts';
import { ADMIN_SECURITY } from '../admin-auth.ts';
import { decimalRange, MAX_MONEY_SATS } from '../amounts.ts';
import { HttpError } from '../errors.ts';
import type { RouteSet } from '../admin-scope.ts';
import type { HttpServer } from '../server.ts';
import { isoTimeOrNull } from '../../domain/iso-time.ts';

export interface InventoryRoutesDeps {
  readonly ledger: InventoryLedger;
  /** When given, starting the monitor also runs it at once (one job, deduplicated). */
  readonly queue?: JobQueue;
  readonly now?: () => number;
}

const ASSET_ID = { pattern: '^[A-Za-z0-9_.:-]{1,64}$' } as const;
const NoExtra = { additionalProperties: false } as const;

const MonitorBody = Type.Object({
  running: Type.Boolean(),
  updated_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

const CleanupBody = Type.Object({
  released_locks: Type.Integer(),
  expired_vtxos: Type.Integer(),
  by_asset: Type.Record(Type.String(), Type.Object({ available: Type.Integer(), assigned: Type.Integer() })),
  more: Type.Boolean(),
});

const monitorView = (state: MonitorState) => ({
  running: state.running,
  updated_at: isoTimeOrNull(state.updated_at),
});

const cleanupView = (r: CleanupResult) => ({
  released_locks: r.releasedLocks,
  expired_vtxos: r.expiredVtxos,
  by_asset: r.byAsset,
  more: r.more,
});

export function inventoryRoutes(deps: InventoryRoutesDeps): RouteSet {
  const { ledger } = deps;
  const { inventory, monitor } = ledger;
  const adminSchema = (summary: string) => ({ summary, tags: ['vtxos'], security: ADMIN_SECURITY });

  return {
    open: async (app: HttpServer) => {
      app.get(
        '/vtxos/inventory/:asset_id',
        {
          schema: {
            summary:
              'Inventory of an asset pool: VTXOs by status, thresholds, monitor state, last replenishment',
            tags: ['vtxos'],
            params: Type.Object({ asset_id: Type.String(ASSET_ID) }),
          },
        },
        async (request) => {
          const assetId = request.params.asset_id;
          const [asset, counts, state, last] = await Promise.all([
            inventory.asset(assetId),
            inventory.counts(assetId),
            monitor.state(),
            inventory.lastBatch(assetId),
          ]);
          const known = asset !== undefined || Object.values(counts).some((n) => n > 0);
          if (!known) throw new HttpError('not_found', `unknown asset ${assetId}`);
          const t = monitor.thresholds;
          return {
            asset_id: assetId,
            enabled: asset?.enabled ?? null,
            available: counts.available,
            counts,
            thresholds: {
              critical: t.critical,
              warning: t.warning,
              target: t.target,
              batch_size: t.batchSize,
              amount_sats: t.amountSats.toString(),
              low_fee_rate_sat_vb: t.lowFeeRate.toString(),
            },
            monitor: monitorView(state),
            last_replenishment: last
              ? { commitment_txid: last.commitmentTxid, at: isoTimeOrNull(last.at), count: last.count }
              : null,
            inventory_pubkey: inventory.pubkey,
          };
        },
      );
    },
    admin: async (app: HttpServer) => {
      app.post(
        '/vtxos/batch/create',
        {
          schema: {
            ...adminSchema('Create inventory VTXOs in one Ark batch (admin key)'),
            body: Type.Object(
              {
                asset_id: Type.Optional(Type.String(ASSET_ID)),
                count: Type.Integer({ minimum: 1, maximum: MAX_BATCH_VTXOS }),
                /** Sats per VTXO, a whole number (or its decimal string); default VTXO_INVENTORY_AMOUNT_SATS. */
                amount_sats: Type.Optional(
                  Type.Union([
                    Type.Integer({ minimum: 1, maximum: MAX_MONEY_SATS }),
                    Type.String({ pattern: decimalRange(1, BigInt(MAX_MONEY_SATS)) }),
                  ]),
                ),
              },
              NoExtra,
            ),
          },
        },
        async (request) => {
          const { body } = request;
          const assetId = body.asset_id ?? DEFAULT_INVENTORY_ASSET;
          const asset = await inventory.asset(assetId);
          if (!asset) throw new HttpError('validation_failed', `unknown asset ${assetId}`);
          if (!asset.enabled) throw new HttpError('validation_failed', `asset ${assetId} is disabled`);
          const amountSats =
            body.amount_sats === undefined ? monitor.thresholds.amountSats : BigInt(String(body.amount_sats));
          const batch = await inventory.createBatch({ assetId, count: body.count, amountSats });
          return {
            asset_id: assetId,
            commitment_txid: batch.commitmentTxid,
            count: batch.count,
            amount_sats: batch.amountSats.toString(),
            available: await inventory.available(assetId),
          };
        },
      );

      app.post(
        '/vtxos/inventory/reconcile',
        {
          schema: {
            ...adminSchema(
              'Record the inventory VTXOs the Ark server holds but the ledger lacks (after a crash; admin key)',
            ),
            body: Type.Optional(Type.Object({ asset_id: Type.Optional(Type.String(ASSET_ID)) }, NoExtra)),
          },
        },
        async (request) => {
          const result = await inventory.reconcile(request.body?.asset_id ?? DEFAULT_INVENTORY_ASSET);
          return { asset_id: result.assetId, on_server: result.onServer, recorded: result.recorded };
        },
      );

      for (const action of ['start', 'stop'] as const) {
        app.post(
          `/vtxos/monitor/${action}`,
          {
            schema: {
              ...adminSchema(
                `${action === 'start' ? 'Start' : 'Stop'} the inventory monitor on every instance (admin key)`,
              ),
              response: { 200: MonitorBody },
            },
          },
          async () => {
            const state = action === 'start' ? await monitor.start() : await monitor.stop();
            if (action === 'start' && deps.queue) {
              // One immediate check; the schedule goes on as before.
              await deps.queue.enqueue(
                INVENTORY_MONITOR_TASK,
                {},
                { jobId: `inventory-monitor-start-${state.updated_at}` },
              );
            }
            return monitorView(state);
          },
        );
      }

      for (const url of ['/vtxos/cleanup', '/assets/cleanup-vtxos']) {
        app.post(
          url,
          {
            schema: {
              ...adminSchema(
                'Release expired session locks and expire VTXOs past their expiry, now (admin key)',
              ),
              response: { 200: CleanupBody },
            },
          },
          async () => cleanupView(await ledger.cleanup.run()),
        );
      }
    },
  };
}
