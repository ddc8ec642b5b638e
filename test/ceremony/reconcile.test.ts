// The ledger follows the Ark server. A wallet holds the Ark tx of its challenge, so it can sign
// it and take it to the Ark server itself, around the gateway (a transaction without gateway
// inventory inputs: here three dust VTXOs pay their three outputs). Whatever the server did with
// it — finalized, or only holding it pending — the reconciliation makes the ledger say the same,
// and never calls a VTXO spendable that the server holds. Locks no session holds are released
// only when the server does not hold their VTXO.
import { describe, expect, it } from 'vitest';
import { hexToBytes, bytesToHex } from '@noble/hashes/utils.js';
import { schnorr } from '@noble/curves/secp256k1.js';
import { addSignatures, encodePsbt, parsePsbt, signInputs } from '../../src/backends/ark/psbt.ts';
import { serverHold } from '../../src/ceremony/reconcile.ts';
import { Wallet } from '../nostr/support.ts';
import { waitFor } from '../support/wait.ts';
import { challenges, response, type Challenge } from './naive-signer.ts';
import { ceremonyRig } from './rig.ts';
import { fund, intentEvent } from './support.ts';

const ADMIN_KEY = 'reconcile-test-admin-key-0123456789abcdef';

describe('reconciliation of the ledger with the Ark server', () => {
  const rig = ceremonyRig({
    // The test reconciles when it wants to see it happen.
    env: { ADMIN_API_KEY: ADMIN_KEY, LEDGER_RECONCILE_INTERVAL_MS: '3600000' },
    inventory: 10,
  });

  const reconcile = async () => {
    const response = await fetch(`${rig.gateway.httpUrl}/admin/ledger/reconcile`, {
      method: 'POST',
      headers: { 'x-admin-key': ADMIN_KEY },
    });
    expect(response.status).toBe(200);
    return (await response.json()) as {
      transactions: { settled: string[]; held: string[]; voided: string[] };
      locks: { released: string[]; held: string[] };
      problems: unknown[];
    };
  };
  const sessionOf = (actionId: string) =>
    rig.gateway.database.db
      .selectFrom('signing_sessions')
      .selectAll()
      .where('action_id', '=', actionId)
      .executeTakeFirstOrThrow();

  /** A wallet with three dust VTXOs whose transfer of 280 needs all three, and no inventory. */
  async function openTransfer(): Promise<{
    wallet: Wallet;
    actionId: string;
    challenge: Challenge;
    recipient: string;
  }> {
    const wallet = new Wallet();
    for (let i = 0; i < 3; i++) await fund(rig.gateway, wallet.pubkey, 100n);
    const recipient = new Wallet().pubkey;
    const event = intentEvent(wallet, rig.gw, {
      type: 'transfer:p2p',
      params: { recipient, asset_id: 'gBTC', amount: 280 },
    });
    await wallet.publish(rig.url, event);
    const challenge = await waitFor(
      async () => (await challenges(rig.url, wallet))[0],
      15_000,
      'the challenge',
    );
    const inputs = challenge.body.context.inputs as { owner: string }[];
    expect(inputs.every((i) => i.owner === wallet.pubkey)).toBe(true);
    return { wallet, actionId: JSON.parse(event.content).action_id, challenge, recipient };
  }

  /** What the wallet would do on its own: sign everything and SubmitTx at the Ark server. */
  async function submitAroundTheGateway(wallet: Wallet, challenge: Challenge) {
    const [arkPsbt, ...checkpointPsbts] = challenge.body.psbts!;
    const ark = parsePsbt(arkPsbt!);
    const sign = (digest: string) => bytesToHex(schnorr.sign(hexToBytes(digest), wallet.secret));
    const ownSigs = new Map<number, string>();
    for (const slot of challenge.body.sighashes) {
      if (slot.psbt_index === 0)
        addSignatures(ark, wallet.pubkey, [{ inputIndex: slot.input_index, sig: sign(slot.digest) }]);
      else ownSigs.set(slot.psbt_index - 1, sign(slot.digest));
    }
    const submitted = await rig.gateway.backends.ark.submitTx(encodePsbt(ark), checkpointPsbts);
    const finalize = async () => {
      const checkpoints = submitted.signedCheckpointPsbts.map((psbt, i) => {
        const cp = parsePsbt(psbt);
        addSignatures(cp, wallet.pubkey, [{ inputIndex: 0, sig: ownSigs.get(i)! }]);
        return encodePsbt(cp);
      });
      await rig.gateway.backends.ark.finalizeTx(submitted.arkTxid, checkpoints);
    };
    return { arkTxid: submitted.arkTxid, finalize };
  }

  /** Every VTXO of `owners` the ledger calls spendable is unspent and free at the Ark server. */
  async function ledgerMatchesServer(owners: readonly string[]) {
    for (const owner of owners) {
      const mine = await rig.store.listByOwner(owner, { limit: 1000 });
      const server = await rig.gateway.backends.ark.listVtxos({
        outpoints: mine.map((v) => ({ txid: v.txid, vout: v.vout })),
      });
      const at = new Map(server.map((v) => [`${v.outpoint.txid}:${v.outpoint.vout}`, v]));
      for (const v of mine) {
        const s = at.get(v.vtxoId)!;
        if (v.status === 'assigned')
          expect([v.vtxoId, s.spent, s.pendingBy]).toEqual([v.vtxoId, false, undefined]);
        if (v.status === 'spent') expect([v.vtxoId, s.spent]).toEqual([v.vtxoId, true]);
      }
    }
  }

  it('settles a transaction the Ark server finalized behind the rig.gateway, after its session expired', async () => {
    const { wallet, actionId, challenge, recipient } = await openTransfer();
    const around = await submitAroundTheGateway(wallet, challenge);
    await around.finalize();
    // The wallet never answers the rig.gateway: its session expires and releases its locks…
    await waitFor(
      async () => ((await sessionOf(actionId)).state === 'expired' ? true : undefined),
      20_000,
      '3003',
    );
    expect((await rig.store.balances(wallet.pubkey))[0]).toMatchObject({ available: 300n });
    // …so the ledger now disagrees with the server, until the reconciliation.
    const report = await reconcile();
    expect(report.transactions.settled).toEqual([around.arkTxid]);
    const session = await sessionOf(actionId);
    expect([session.state, session.ark_txid]).toEqual(['confirmed', around.arkTxid]);
    expect(await rig.store.balances(wallet.pubkey)).toMatchObject([
      { assetId: 'gBTC', available: 10n, pending: 0n },
    ]);
    expect(await rig.store.balances(recipient)).toMatchObject([{ assetId: 'gBTC', available: 280n }]);
    await ledgerMatchesServer([wallet.pubkey, recipient]);
    // Announced like any settlement, the commitment included.
    const confirmations = await rig.gateway.database.db
      .selectFrom('nostr_outbox')
      .select('event_json')
      .where('kind', '=', 31340)
      .execute();
    const mine = confirmations
      .map((r) => JSON.parse(r.event_json))
      .filter((e) => e.content.includes(around.arkTxid));
    expect(mine).toHaveLength(1);
    expect(JSON.parse(mine[0].content).commitment.preimage).toContain(actionId);
    // A second run finds nothing more to do.
    expect((await reconcile()).transactions.settled).toEqual([]);
  }, 60_000);

  it('holds the inputs the server holds in a pending transaction, and settles it once finalized', async () => {
    const { wallet, actionId, challenge } = await openTransfer();
    const around = await submitAroundTheGateway(wallet, challenge);
    await waitFor(
      async () => ((await sessionOf(actionId)).state === 'expired' ? true : undefined),
      20_000,
      '3003',
    );
    const report = await reconcile();
    expect(report.transactions.held).toEqual([around.arkTxid]);
    // Never spendable while the server holds them.
    expect((await rig.store.balances(wallet.pubkey))[0]).toMatchObject({ available: 0n, pending: 300n });
    await around.finalize();
    expect((await reconcile()).transactions.settled).toEqual([around.arkTxid]);
    expect((await rig.store.balances(wallet.pubkey))[0]).toMatchObject({ available: 10n, pending: 0n });
    await ledgerMatchesServer([wallet.pubkey]);
  }, 60_000);

  it('stops watching a transaction that can never be valid (an input spent elsewhere)', async () => {
    const { wallet, actionId } = await openTransfer();
    await waitFor(
      async () => ((await sessionOf(actionId)).state === 'expired' ? true : undefined),
      20_000,
      '3003',
    );
    const { ark_txid: arkTxid } = await sessionOf(actionId);
    expect((await reconcile()).transactions.voided).toEqual([]);
    // The wallet spends one of those VTXOs in another transfer through the rig.gateway.
    const again = intentEvent(wallet, rig.gw, {
      type: 'transfer:p2p',
      params: { recipient: new Wallet().pubkey, asset_id: 'gBTC', amount: 50 },
    });
    await wallet.publish(rig.url, again);
    const challenge = await waitFor(
      async () => (await challenges(rig.url, wallet)).find((c) => c.body.context.ark_txid !== arkTxid),
      15_000,
      'the second challenge',
    );
    await wallet.publish(rig.url, response(wallet, rig.gw, challenge));
    await waitFor(
      async () =>
        (await sessionOf(JSON.parse(again.content).action_id)).state === 'confirmed' ? true : undefined,
      20_000,
      'the second transfer settled',
    );
    expect((await reconcile()).transactions.voided).toEqual([arkTxid]);
    const row = await rig.gateway.ceremony!.engine.records.arkTx(arkTxid!);
    expect(row?.status).toBe('void');
  }, 60_000);

  it('releases a lock no session holds only when the server does not hold the VTXO', async () => {
    const owner = new Wallet();
    const { vtxo: free } = await fund(rig.gateway, owner.pubkey, 50n);
    const { vtxo: held } = await fund(rig.gateway, owner.pubkey, 60n);
    // Left behind by a crash: locks of sessions that never were.
    await rig.store.lockForSession('ghost-session', [free.vtxoId], owner.pubkey, 'gBTC', 3_600_000);
    await rig.store.lockForSession('ghost-session-2', [held.vtxoId], owner.pubkey, 'gBTC', 3_600_000);
    // The second VTXO is held at the server by a transaction its owner submitted on its own.
    const built = await rig.gateway.backends.ark.buildTransfer(
      [{ outpoint: { txid: held.txid, vout: held.vout }, ownerPubkey: owner.pubkey, amount: held.sats }],
      [{ ownerPubkey: owner.pubkey, amount: held.sats }],
    );
    const tx = parsePsbt(built.arkPsbt);
    signInputs(tx, owner.secret, [0]);
    await rig.gateway.backends.ark.submitTx(encodePsbt(tx), built.checkpointPsbts);
    const report = await reconcile();
    expect(report.locks.released).toEqual([free.vtxoId]);
    expect(report.locks.held).toEqual([held.vtxoId]);
    expect((await rig.store.get(free.vtxoId))?.status).toBe('assigned');
    expect(await rig.store.get(held.vtxoId)).toMatchObject({
      status: 'pending_spend',
      lockedBySession: serverHold(built.arkTxid),
    });
  }, 60_000);
});
