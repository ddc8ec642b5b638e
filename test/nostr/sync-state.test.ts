// `sync_state` end to end: a wallet written with plain nostr-tools asks the running gateway
// through the embedded relay and gets its own unspent VTXOs (never another user's, never spent
// or expired ones) with their asset colour, its balances and its open sessions, paged by cursor.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/app.ts';
import { VtxoStore } from '../../src/ledger/vtxo-store.ts';
import { hex32, sessionRow } from '../store/fixtures.ts';
import { waitFor } from '../support/wait.ts';
import { Wallet, createStack, stackName, startTestGateway, waitReady, type SharedStack } from './support.ts';

interface SyncResult {
  pubkey: string;
  vtxos: {
    vtxo_id: string;
    asset_id: string;
    amount: string;
    status: string;
    locked_by_session: string | null;
  }[];
  next_cursor: string | null;
  balances: { asset_id: string; available: string; pending: string }[];
  assets: Record<string, { ticker: string; decimals: number; tapd_asset_id: string | null }>;
  sessions: { session_id: string; state: string; step: number; step_total: number; deadline_at: number }[];
}

describe(`sync_state over Nostr (${stackName})`, () => {
  let stack: SharedStack;
  let gateway: Gateway;
  let relay: string;
  let gatewayPubkey: string;
  const wallet = new Wallet();
  const other = new Wallet();
  const unspent: string[] = [];
  let lockedBy = '';
  const openSessions: string[] = [];
  let gbtcTapdId = '';

  beforeAll(async () => {
    stack = await createStack();
    gateway = await startTestGateway({ stack });
    await waitReady(gateway);
    relay = gateway.nostr!.embeddedRelayUrl!;
    gatewayPubkey = gateway.nostr!.core.keys.active.pubkey;
    const db = gateway.database.db;
    const now = Date.now();
    // The gateway registers and mints gBTC at start; the test adds a second asset.
    gbtcTapdId = await waitFor(
      async () =>
        (
          await db
            .selectFrom('assets')
            .select('tapd_asset_id')
            .where('asset_id', '=', 'gBTC')
            .executeTakeFirst()
        )?.tapd_asset_id ?? undefined,
      15_000,
      'gBTC to be minted at start',
    );
    await db
      .insertInto('assets')
      .values({
        asset_id: 'USDT',
        name: 'USDT',
        ticker: 'USDT',
        decimals: 6,
        asset_type: 'permissionless',
        enabled: 1,
        total_supply: 0n,
        min_amount: 1n,
        created_at: now,
        updated_at: now,
      })
      .execute();
    const store = new VtxoStore(gateway.database);
    const lift = async (owner: string, assetId: string, amount: bigint, expiresAt: number | null = null) => {
      const txid = hex32();
      const [v] = await store.createOutputs(
        [{ txid, vout: 0, ownerPubkey: owner, assetId, amount, sats: 330n, expiresAt }],
        [{ assetId, kind: 'lift', amount, reference: txid }],
      );
      return v!.vtxoId;
    };
    // The wallet: 5 gBTC and 1 USDT unspent, one of the gBTC locked; one spent; one expired.
    for (let i = 1; i <= 5; i++) unspent.push(await lift(wallet.pubkey, 'gBTC', BigInt(i * 1000)));
    unspent.push(await lift(wallet.pubkey, 'USDT', 7n));
    lockedBy = randomUUID();
    await store.lockForSession(lockedBy, [unspent[0]!], wallet.pubkey, 'gBTC', 600_000);
    const spentSession = randomUUID();
    const spent = await lift(wallet.pubkey, 'gBTC', 50n);
    await store.lockForSession(spentSession, [spent], wallet.pubkey, 'gBTC', 600_000);
    const payTx = hex32();
    await store.markSpent(spentSession, payTx, {
      outputs: [
        { txid: payTx, vout: 0, ownerPubkey: other.pubkey, assetId: 'gBTC', amount: 50n, sats: 330n },
      ],
    });
    await lift(wallet.pubkey, 'gBTC', 60n, now - 1);
    await store.expireVtxos(now);
    // Sessions: two open (one awaiting signatures, one submitted), three over; one of another user.
    for (const state of ['awaiting_signatures', 'submitted', 'confirmed', 'failed', 'cancelled'] as const) {
      const row = sessionRow({ owner_pubkey: wallet.pubkey, state, current_step: 1, created_at: now });
      await db.insertInto('signing_sessions').values(row).execute();
      if (state === 'awaiting_signatures' || state === 'submitted') openSessions.push(row.session_id);
    }
    await db
      .insertInto('signing_sessions')
      .values(sessionRow({ owner_pubkey: other.pubkey }))
      .execute();
  });

  afterAll(async () => {
    await gateway?.stop('test over');
    await stack?.drop();
  });

  async function ask(params: Record<string, unknown>) {
    const request = wallet.serviceRequest(gatewayPubkey, 'sync_state', params);
    await wallet.publish(relay, request);
    return (await wallet.waitReply(relay, request.id)).body;
  }

  it('returns the requester’s unspent VTXOs with their colour, balances and open sessions', async () => {
    const body = await ask({});
    expect(body.status).toBe('ok');
    const result = body.result as SyncResult;
    expect(result.pubkey).toBe(wallet.pubkey);
    expect(result.vtxos.map((v) => v.vtxo_id)).toEqual([...unspent].sort());
    expect(result.next_cursor).toBeNull();
    const locked = result.vtxos.find((v) => v.vtxo_id === unspent[0]);
    expect(locked).toMatchObject({ status: 'pending_spend', locked_by_session: lockedBy, amount: '1000' });
    expect(result.vtxos.find((v) => v.vtxo_id === unspent[5])).toMatchObject({
      asset_id: 'USDT',
      amount: '7',
    });
    expect(result.assets).toEqual({
      USDT: { name: 'USDT', ticker: 'USDT', decimals: 6, type: 'permissionless', tapd_asset_id: null },
      gBTC: {
        name: 'Gateway BTC',
        ticker: 'gBTC',
        decimals: 8,
        type: 'relay_issued',
        tapd_asset_id: gbtcTapdId,
      },
    });
    expect(result.balances).toEqual([
      { asset_id: 'USDT', available: '7', pending: '0', available_count: 1, pending_count: 0 },
      { asset_id: 'gBTC', available: '14000', pending: '1000', available_count: 4, pending_count: 1 },
    ]);
    expect(result.sessions.map((s) => s.session_id).sort()).toEqual([...openSessions].sort());
    expect(result.sessions[0]).toMatchObject({ step: 1, step_total: 2, deadline_at: expect.any(Number) });
  });

  it('pages VTXOs with limit and cursor, and filters by asset', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const body = await ask(cursor ? { limit: 4, cursor } : { limit: 4 });
      const result = body.result as SyncResult;
      seen.push(...result.vtxos.map((v) => v.vtxo_id));
      cursor = result.next_cursor;
    } while (cursor);
    expect(seen).toEqual([...unspent].sort());
    const usdt = (await ask({ asset_id: 'USDT' })).result as SyncResult;
    expect(usdt.vtxos.map((v) => v.vtxo_id)).toEqual([unspent[5]]);
  });

  it('shows another user only their own state', async () => {
    const request = other.serviceRequest(gatewayPubkey, 'sync_state', {});
    await other.publish(relay, request);
    const result = (await other.waitReply(relay, request.id)).body.result as SyncResult;
    expect(result.pubkey).toBe(other.pubkey);
    expect(result.vtxos.map((v) => v.amount)).toEqual(['50']);
    expect(result.sessions).toHaveLength(1);
  });

  it.each([
    [{ limit: 0 }],
    [{ limit: 501 }],
    [{ limit: '10' }],
    [{ cursor: 'x' }],
    [{ asset_id: 'bad id' }],
    [{ owner: 'someone else' }],
  ])('answers bad params %j with 1002', async (params) => {
    const body = await ask(params);
    expect(body).toMatchObject({ status: 'error', error: { code: 1002 } });
  });
});
