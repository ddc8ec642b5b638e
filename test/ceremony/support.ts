// Shared setup of the ceremony tests: a gateway on the embedded relay and simulator, gBTC
// inventory created through the Ark backend, and users funded by real Ark transactions
// (the gateway's Issuer), so every VTXO a test spends exists on the simulated Ark server.
import { randomUUID } from 'node:crypto';
import { finalizeEvent, type Event } from 'nostr-tools';
import type { Gateway } from '../../src/app.ts';
import { waitFor } from '../support/wait.ts';
import { waitReady, type Wallet } from '../nostr/support.ts';

/** The gateway's inventory key (it owns inventory and fee VTXOs). */
export const inventoryKeyOf = (gateway: Gateway) => gateway.inventory!.key;

/** `count` inventory VTXOs of `sats` each, created in Ark batches by the inventory service. */
export async function addInventory(gateway: Gateway, count: number, sats = 2_000n): Promise<void> {
  for (let done = 0; done < count; done += 1_000) {
    await gateway.inventory!.inventory.createBatch({
      assetId: 'gBTC',
      count: Math.min(1_000, count - done),
      amountSats: sats,
    });
  }
}

/** Waits until gBTC is registered and enabled (the ledger mints it on first start). */
export async function gbtcReady(gateway: Gateway): Promise<void> {
  await waitFor(
    async () =>
      (
        await gateway.database.db
          .selectFrom('assets')
          .select('enabled')
          .where('asset_id', '=', 'gBTC')
          .executeTakeFirst()
      )?.enabled === 1 || undefined,
    15_000,
    'gBTC to be minted',
  );
}

/** Ready for transfers: intake subscribed, gBTC minted, `inventory` inventory VTXOs made. */
export async function readyToTransfer(gateway: Gateway, inventory: number): Promise<void> {
  await waitReady(gateway);
  await gbtcReady(gateway);
  await addInventory(gateway, inventory);
}

/** Registers gUSD, a permissionless test asset with 2 decimals (a second asset to swap). */
export async function addTestDollar(gateway: Gateway): Promise<void> {
  await gateway.ledger.assets.create({
    assetId: 'gUSD',
    name: 'Test dollar',
    ticker: 'gUSD',
    decimals: 2,
    assetType: 'permissionless',
  });
}

/** Gives `owner` a VTXO of `amount` gBTC through a real Ark transaction. */
export async function fund(gateway: Gateway, owner: string, amount: bigint, assetId = 'gBTC') {
  return gateway.ceremony!.issuer.issue({
    owner,
    assetId,
    amount,
    reference: `test-${randomUUID()}`,
    kind: 'mint',
  });
}

export interface IntentInput {
  readonly type: string;
  readonly params: Record<string, unknown>;
  readonly fee?: { asset_id: string; amount: number | string };
  readonly actionId?: string;
  readonly expiresInS?: number;
  /** Only the content's `expires_at` (the NIP-40 tag keeps expiresInS; relays drop expired events). */
  readonly contentExpiresInS?: number;
}

/** A signed 31510 intent from `wallet` to `gateway`. */
export function intentEvent(wallet: Wallet, gateway: string, input: IntentInput): Event {
  const actionId = input.actionId ?? randomUUID();
  const expiresAt = Math.floor(Date.now() / 1000) + (input.expiresInS ?? 600);
  return finalizeEvent(
    {
      kind: 31510,
      created_at: Math.floor(Date.now() / 1000),
      tags: [
        ['p', gateway],
        ['d', actionId],
        ['expiration', String(expiresAt)],
      ],
      content: JSON.stringify({
        v: 1,
        action_id: actionId,
        type: input.type,
        params: input.params,
        fee: input.fee ?? { asset_id: 'gBTC', amount: 10 },
        expires_at:
          input.contentExpiresInS === undefined
            ? expiresAt
            : Math.floor(Date.now() / 1000) + input.contentExpiresInS,
      }),
    },
    wallet.secret,
  );
}
