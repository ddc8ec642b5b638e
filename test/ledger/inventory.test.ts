// The inventory key and the inventory service against the simulated Ark server, on SQLite and
// MariaDB: batches recorded as `available` inventory owned by the inventory key, a crash
// between the daemon and the database repaired by reconcile (once, even when run in parallel),
// updates published, and the key generated once however many instances start together.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret } from '../../src/config.ts';
import { ProtocolError } from '../../src/domain/error-codes.ts';
import { StartupError } from '../../src/errors.ts';
import { INVENTORY_KEY_SETTING, loadInventoryKey } from '../../src/ledger/inventory-key.ts';
import { InventoryService } from '../../src/ledger/inventory.ts';
import { VtxoStore, type NewOutput } from '../../src/ledger/vtxo-store.ts';
import { publicKeyOf } from '../../src/nostr/event.ts';
import { mariadbAvailable, silentLogger } from '../support/test-database.ts';
import { walletSign } from '../backends/sim/support.ts';
import { AT_REST, harness, type Harness } from './inventory-support.ts';

const kinds = [
  { kind: 'sqlite', skip: false },
  { kind: 'mariadb', skip: !mariadbAvailable },
] as const;

/** A store that "crashes" (throws) on its next createOutputs, as a process dying after the daemon answered. */
class CrashingStore extends VtxoStore {
  crashes = 1;
  override async createOutputs(outputs: readonly NewOutput[]) {
    if (this.crashes-- > 0) throw new Error('process died');
    return super.createOutputs(outputs);
  }
}

for (const { kind, skip } of kinds) {
  describe.skipIf(skip)(`inventory on ${kind}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await harness(kind, ['gBTC', 'gUSD']);
    });
    afterAll(async () => h?.dispose());

    it('a batch becomes available inventory of the asset, owned by the inventory key, sats only', async () => {
      const before = h.published.length;
      const batch = await h.inventory.createBatch({ assetId: 'gBTC', count: 5, amountSats: 1_000n });
      expect(batch.count).toBe(5);
      expect(batch.commitmentTxid).toMatch(/^[0-9a-f]{64}$/);
      const anchor = await h.ark.getCommitmentAnchor();
      expect(anchor?.txid).toBe(batch.commitmentTxid);

      const rows = await h.vtxos.listByOwner(h.key.pubkey, { assetId: 'gBTC' });
      expect(rows).toHaveLength(5);
      const pkScript = (await h.ark.vtxoScript(h.key.pubkey)).pkScript;
      for (const row of rows) {
        expect(row).toMatchObject({
          status: 'available',
          amount: 0n,
          sats: 1_000n,
          batchTxid: batch.commitmentTxid,
          createdByTxid: batch.commitmentTxid,
          scriptHex: pkScript,
        });
        expect(row.expiresAt).toBeGreaterThan(0);
      }
      // The server agrees: the same outpoints, spendable, owned by our script.
      const onServer = await h.ark.listVtxos({ scripts: [pkScript], spendableOnly: true });
      expect(onServer.map((v) => `${v.outpoint.txid}:${v.outpoint.vout}`).sort()).toEqual(
        rows.map((r) => r.vtxoId).sort(),
      );
      expect(await h.inventory.available('gBTC')).toBe(5);
      expect(await h.inventory.available('gUSD')).toBe(0);
      expect((await h.inventory.counts('gBTC')).available).toBe(5);
      expect(await h.inventory.lastBatch('gBTC')).toMatchObject({
        commitmentTxid: batch.commitmentTxid,
        count: 5,
      });
      expect(h.published.slice(before)).toEqual([
        expect.objectContaining({
          asset_id: 'gBTC',
          available: 5,
          reason: 'batch',
          commitment_txid: batch.commitmentTxid,
        }),
      ]);
      expect(await h.inventory.availableByAsset()).toEqual([
        { asset: 'gBTC', count: 5 },
        { asset: 'gUSD', count: 0 },
      ]);
    });

    it('refuses a count or amount outside the limits with 2004, without calling the server', async () => {
      const calls = h.counting.batchCalls;
      for (const request of [
        { assetId: 'gBTC', count: 0, amountSats: 1_000n },
        { assetId: 'gBTC', count: 10_001, amountSats: 1_000n },
        { assetId: 'gBTC', count: 1, amountSats: 329n },
      ]) {
        const error = await h.inventory.createBatch(request).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ProtocolError);
        expect((error as ProtocolError).code).toBe(2004);
      }
      expect(h.counting.batchCalls).toBe(calls);
    });

    it('a crash after the server made the batch loses nothing: reconcile records it once, even three at a time', async () => {
      const crashing = new CrashingStore(h.database, { now: h.clock.now });
      const service = new InventoryService({
        database: h.database,
        vtxos: crashing,
        ark: h.ark,
        key: h.key,
        updates: h.updates,
        logger: silentLogger,
      });
      const before = await h.inventory.available('gUSD');
      await expect(service.createBatch({ assetId: 'gUSD', count: 7, amountSats: 500n })).rejects.toThrow(
        'process died',
      );
      expect(await h.inventory.available('gUSD')).toBe(before);

      const others = [h.inventory, await h.another(), await h.another()];
      const results = await Promise.all(others.map((s) => s.reconcile('gUSD')));
      // Exactly the 7 lost ones, recorded by whichever runner got there first.
      expect(results.reduce((sum, r) => sum + r.recorded, 0)).toBe(7);
      expect(await h.inventory.available('gUSD')).toBe(before + 7);
      expect((await h.inventory.reconcile('gUSD')).recorded).toBe(0);
      // VTXOs already in the ledger (the gBTC batch) are not recorded again under another asset.
      expect(await h.inventory.available('gBTC')).toBe(5);
    });

    it('reconcile leaves an offchain (preconfirmed) VTXO of the inventory key to the ceremony', async () => {
      // The inventory key pays itself offchain from one gUSD inventory VTXO: the server now
      // holds a preconfirmed output to the inventory script that no batch created.
      const [input] = await h.vtxos.listByOwner(h.key.pubkey, { assetId: 'gUSD', limit: 1 });
      const signer = { priv: h.key.secretKey, pub: h.key.pubkey };
      const built = await h.ark.buildTransfer(
        [
          {
            outpoint: { txid: input!.txid, vout: input!.vout },
            ownerPubkey: h.key.pubkey,
            amount: input!.sats,
          },
        ],
        [{ ownerPubkey: h.key.pubkey, amount: input!.sats }],
      );
      const arkSlots = built.signatures.filter((s) => s.tx === 'ark').map((s) => s.inputIndex);
      const submitted = await h.ark.submitTx(
        walletSign(built.arkPsbt, signer, arkSlots),
        built.checkpointPsbts,
      );
      await h.ark.finalizeTx(
        submitted.arkTxid,
        submitted.signedCheckpointPsbts.map((psbt, i) => {
          const slot = built.signatures.find((s) => s.tx === 'checkpoint' && s.checkpoint === i)!;
          return walletSign(psbt, signer, [slot.inputIndex]);
        }),
      );
      const pkScript = (await h.ark.vtxoScript(h.key.pubkey)).pkScript;
      const onServer = await h.ark.listVtxos({ scripts: [pkScript], spendableOnly: true });
      expect(onServer.some((v) => v.preconfirmed && v.outpoint.txid === submitted.arkTxid)).toBe(true);

      const result = await h.inventory.reconcile('gUSD');
      expect(result.recorded).toBe(0);
      expect(await h.vtxos.get(`${submitted.arkTxid}:0`)).toBeUndefined();
    });
  });
}

describe.each(kinds.filter((k) => !k.skip))('inventory key on $kind', ({ kind }) => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness(kind);
  });
  afterAll(async () => h?.dispose());

  it('is generated once, stored encrypted, and the same for every instance starting together', async () => {
    const stored = await h.database.db
      .selectFrom('settings')
      .select('value_json')
      .where('name', '=', INVENTORY_KEY_SETTING)
      .executeTakeFirstOrThrow();
    const value = JSON.parse(stored.value_json) as { pubkey: string; encrypted_secret: string };
    expect(value.pubkey).toBe(h.key.pubkey);
    expect(publicKeyOf(h.key.secretKey)).toBe(h.key.pubkey);
    expect(stored.value_json).not.toContain(Buffer.from(h.key.secretKey).toString('hex'));
    expect(JSON.stringify(h.key)).toBe(JSON.stringify({ pubkey: h.key.pubkey }));

    // A fresh name: six instances race to create it; all end with one key.
    await h.database.db.deleteFrom('settings').where('name', '=', INVENTORY_KEY_SETTING).execute();
    const databases =
      kind === 'mariadb' ? await Promise.all(Array.from({ length: 4 }, () => h.test.reopen())) : [h.database];
    const keys = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        loadInventoryKey({
          database: databases[i % databases.length]!,
          atRestKey: AT_REST,
          configured: undefined,
          logger: silentLogger,
        }),
      ),
    );
    expect(new Set(keys.map((k) => k.pubkey)).size).toBe(1);
    const again = await loadInventoryKey({
      database: h.database,
      atRestKey: AT_REST,
      configured: undefined,
      logger: silentLogger,
    });
    expect(again.pubkey).toBe(keys[0]!.pubkey);
    expect(Buffer.from(again.secretKey).equals(Buffer.from(keys[0]!.secretKey))).toBe(true);
  });

  it('a wrong at-rest key stops the start naming GATEWAY_ENCRYPTION_KEY', async () => {
    const error = await loadInventoryKey({
      database: h.database,
      atRestKey: new Secret('another-at-rest-key'.padEnd(40, 'y')),
      configured: undefined,
      logger: silentLogger,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StartupError);
    expect((error as StartupError).variable).toBe('GATEWAY_ENCRYPTION_KEY');
  });

  it('ARK_INVENTORY_SECRET_KEY wins over the stored key; an invalid one stops the start', async () => {
    const secret = '11'.repeat(32);
    const key = await loadInventoryKey({
      database: h.database,
      atRestKey: AT_REST,
      configured: new Secret(secret),
      logger: silentLogger,
    });
    expect(key.pubkey).toBe(publicKeyOf(Buffer.from(secret, 'hex')));
    const error = await loadInventoryKey({
      database: h.database,
      atRestKey: AT_REST,
      configured: new Secret('ff'.repeat(32)),
      logger: silentLogger,
    }).catch((e: unknown) => e);
    expect((error as StartupError).variable).toBe('ARK_INVENTORY_SECRET_KEY');
  });
});
