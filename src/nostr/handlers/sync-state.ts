// `sync_state {limit?, cursor?, asset_id?}`: what a wallet needs to catch up — the requester's
// unspent VTXOs (assigned or locked by a session) with their asset colour, balances per asset,
// and the signing sessions still open for them. VTXOs come in pages by id (default 200, at most
// 500; `next_cursor` continues), sessions newest first (at most 50). No effects; times in unix
// seconds as everywhere in the Nostr protocol, amounts as decimal strings.
import { ProtocolError } from '../../domain/error-codes.ts';
import { balanceJson, LedgerReads, VTXO_ID_PATTERN } from '../../ledger/ledger-reads.ts';
import { listAssets } from '../../ledger/assets.ts';
import type { Database } from '../../store/database.ts';
import { defineAction, type ServiceAction } from './action.ts';

export const SYNC_STATE_DEFAULT_LIMIT = 200;
export const SYNC_STATE_MAX_LIMIT = 500;
export const SYNC_STATE_MAX_SESSIONS = 50;

export interface SyncStateParams {
  readonly limit: number;
  readonly cursor?: string;
  readonly assetId?: string;
}

const CURSOR = new RegExp(VTXO_ID_PATTERN);
const ASSET_ID = /^[A-Za-z0-9_.-]{1,64}$/;
const seconds = (ms: number | null) => (ms === null ? null : Math.floor(ms / 1000));

export function parseSyncStateParams(params: Record<string, unknown>): SyncStateParams {
  const unknown = Object.keys(params).filter((k) => !['limit', 'cursor', 'asset_id'].includes(k));
  if (unknown.length > 0)
    throw new ProtocolError('MALFORMED_CONTENT', `unknown param(s): ${unknown.join(', ')}`);
  const { limit = SYNC_STATE_DEFAULT_LIMIT, cursor, asset_id: assetId } = params;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > SYNC_STATE_MAX_LIMIT) {
    throw new ProtocolError(
      'MALFORMED_CONTENT',
      `limit must be an integer from 1 to ${SYNC_STATE_MAX_LIMIT}`,
    );
  }
  if (cursor !== undefined && (typeof cursor !== 'string' || !CURSOR.test(cursor))) {
    throw new ProtocolError('MALFORMED_CONTENT', 'cursor must be a vtxo id (txid:vout) from next_cursor');
  }
  if (assetId !== undefined && (typeof assetId !== 'string' || !ASSET_ID.test(assetId))) {
    throw new ProtocolError('MALFORMED_CONTENT', 'asset_id must be 1-64 of A-Z a-z 0-9 _ . -');
  }
  return {
    limit,
    ...(cursor !== undefined ? { cursor } : {}),
    ...(assetId !== undefined ? { assetId } : {}),
  };
}

export function syncStateAction(deps: { readonly database: Database }): ServiceAction<SyncStateParams> {
  const reads = new LedgerReads(deps.database);
  return defineAction({
    name: 'sync_state',
    parse: parseSyncStateParams,
    handle: async (params, ctx) => {
      const owner = ctx.author;
      const page = await reads.userVtxos(owner, {
        limit: params.limit,
        statuses: ['assigned', 'pending_spend'],
        ...(params.cursor !== undefined ? { cursor: params.cursor } : {}),
        ...(params.assetId !== undefined ? { assetId: params.assetId } : {}),
      });
      const [balances, sessions] = [
        await reads.balances(owner),
        await reads.openSessions(owner, SYNC_STATE_MAX_SESSIONS),
      ];
      const assetIds = [...new Set([...page.vtxos.map((v) => v.assetId), ...balances.map((b) => b.assetId)])];
      const assets = await listAssets(deps.database, { ids: assetIds });
      return {
        pubkey: owner,
        as_of: Math.floor(Date.now() / 1000),
        vtxos: page.vtxos.map((v) => ({
          vtxo_id: v.vtxoId,
          asset_id: v.assetId,
          amount: v.amount.toString(),
          sats: v.sats.toString(),
          status: v.status,
          locked_by_session: v.lockedBySession,
          expires_at: seconds(v.expiresAt),
          batch_txid: v.batchTxid,
          created_by_txid: v.createdByTxid,
          created_at: seconds(v.createdAt),
        })),
        next_cursor: page.nextCursor,
        balances: balances.map(balanceJson),
        // The asset colour of every VTXO and balance above.
        assets: Object.fromEntries(
          assets.map((a) => [
            a.assetId,
            {
              name: a.name,
              ticker: a.ticker,
              decimals: Number(a.decimals),
              type: a.assetType,
              tapd_asset_id: a.tapdAssetId,
            },
          ]),
        ),
        sessions: sessions.map((s) => ({
          session_id: s.sessionId,
          action_id: s.actionId,
          type: s.sessionType,
          state: s.state,
          step: s.currentStep,
          step_total: s.stepTotal,
          ark_txid: s.arkTxid,
          batch_id: s.batchId,
          deadline_at: seconds(s.deadlineAt),
          step_deadline_at: seconds(s.stepDeadlineAt),
          created_at: seconds(s.createdAt),
        })),
      };
    },
  });
}
