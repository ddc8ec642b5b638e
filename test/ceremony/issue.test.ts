// The Issuer after a crash: interrupted after SubmitTx, or after FinalizeTx, a second call with
// the same reference finishes the stored transaction — one inventory VTXO spent, one movement,
// one user VTXO — instead of building another.
import { CeremonyRecords } from '../../src/ceremony/records.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/app.ts';
import type { ArkBackend } from '../../src/backends/ark/ark-backend.ts';
import { Issuer } from '../../src/ceremony/issue.ts';
import { VtxoStore } from '../../src/ledger/vtxo-store.ts';
import { createStack, startTestGateway, Wallet, type SharedStack } from '../nostr/support.ts';
import { expectLedgerConsistent } from '../support/ledger.ts';
import { inventoryKeyOf, readyToTransfer } from './support.ts';

describe('Issuer crash recovery', () => {
  let stack: SharedStack;
  let gateway: Gateway;

  beforeAll(async () => {
    stack = await createStack();
    gateway = await startTestGateway({ stack });
    await readyToTransfer(gateway, 10);
  }, 60_000);
  afterAll(async () => {
    await gateway?.stop();
    await stack?.drop();
  });

  /** An Ark backend that dies (like the process would) right after `after` succeeds, once. */
  function crashing(after: 'submitTx' | 'finalizeTx'): ArkBackend {
    const real = gateway.backends.ark;
    let armed = true;
    return new Proxy(real, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver) as unknown;
        if (property !== after || typeof value !== 'function')
          return typeof value === 'function' ? value.bind(target) : value;
        return async (...args: unknown[]) => {
          const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          if (armed) {
            armed = false;
            throw new Error(`crashed after ${after}`);
          }
          return result;
        };
      },
    });
  }

  it.each(['submitTx', 'finalizeTx'] as const)(
    'finishes a transaction interrupted after %s, once',
    async (after) => {
      const key = await inventoryKeyOf(gateway);
      const store = new VtxoStore(gateway.database);
      const issuer = (ark: ArkBackend) =>
        new Issuer({
          database: gateway.database,
          records: new CeremonyRecords(gateway.database),
          vtxos: store,
          ark,
          inventoryKey: async () => key,
          inventoryAssetId: 'gBTC',
          lockTtlMs: 3_600_000,
        });
      const owner = new Wallet().pubkey;
      const request = {
        owner,
        assetId: 'gBTC',
        amount: 77n,
        reference: `crash-${after}`,
        kind: 'mint' as const,
      };
      const availableBefore = (await store.listByOwner(key.pubkey, { statuses: ['available'] })).length;

      await expect(issuer(crashing(after)).issue(request)).rejects.toThrow(`crashed after ${after}`);
      const resumed = await issuer(gateway.backends.ark).issue(request);
      const again = await issuer(gateway.backends.ark).issue(request);
      expect(again.arkTxid).toBe(resumed.arkTxid);
      expect(resumed.vtxo).toMatchObject({ ownerPubkey: owner, amount: 77n, status: 'assigned' });

      // One inventory VTXO went in (its surplus came back as a new one), one movement, one tx.
      const spent = await gateway.database.db
        .selectFrom('vtxos')
        .select('vtxo_id')
        .where('owner_pubkey', '=', key.pubkey)
        .where('status', '=', 'spent')
        .where('spent_by_txid', '=', resumed.arkTxid)
        .execute();
      expect(spent).toHaveLength(1);
      expect((await store.listByOwner(key.pubkey, { statuses: ['available'] })).length).toBe(availableBefore);
      const txs = await gateway.database.db
        .selectFrom('ark_transactions')
        .select(['status'])
        .where('session_id', '=', `issue:crash-${after}`)
        .execute();
      expect(txs.map((t) => t.status)).toEqual(['finalized']);
      expect(await store.balances(owner)).toMatchObject([{ assetId: 'gBTC', available: 77n }]);
      await expectLedgerConsistent(gateway.database);
    },
    30_000,
  );
});
