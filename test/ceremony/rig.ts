// One gateway per suite for the ceremony tests: started before the suite (all three roles, so
// the sweep runs with Redis too), with the inventory it asks for; the ledger invariant checked
// after every test; wallets closed and everything dropped after the suite. Call it inside a
// `describe`; the returned object is filled in by the time the tests run.
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { Gateway } from '../../src/app.ts';
import { VtxoStore } from '../../src/ledger/vtxo-store.ts';
import { ArkRelayWallet } from '../../src/wallet/index.ts';
import { createStack, startTestGateway, waitReady, type SharedStack } from '../nostr/support.ts';
import { expectLedgerConsistent } from '../support/ledger.ts';
import { addInventory, fund, gbtcReady } from './support.ts';

export type WalletOptions = Partial<Parameters<typeof ArkRelayWallet.connect>[0]>;

export interface CeremonyRig {
  gateway: Gateway;
  store: VtxoStore;
  /** The embedded relay. */
  url: string;
  /** The gateway's Nostr key. */
  gw: string;
  /** A reference wallet on the relay, closed after the suite. */
  wallet(options?: WalletOptions): Promise<ArkRelayWallet>;
  /** A wallet holding one VTXO per amount (each a real Ark transaction), knowing them. */
  funded(amounts: readonly bigint[], options?: WalletOptions): Promise<ArkRelayWallet>;
}

export function ceremonyRig(options: {
  readonly env?: Record<string, string>;
  /** Inventory VTXOs to make, and their sats (default 2 000). */
  readonly inventory: number;
  readonly inventorySats?: bigint;
}): CeremonyRig {
  let stack: SharedStack;
  const wallets: ArkRelayWallet[] = [];
  const rig = {
    async wallet(walletOptions: WalletOptions = {}) {
      const w = await ArkRelayWallet.connect({ gatewayPubkey: rig.gw, relays: [rig.url], ...walletOptions });
      wallets.push(w);
      return w;
    },
    async funded(amounts: readonly bigint[], walletOptions: WalletOptions = {}) {
      const w = await rig.wallet(walletOptions);
      for (const amount of amounts) await fund(rig.gateway, w.pubkey, amount);
      await w.syncState();
      return w;
    },
  } as CeremonyRig;

  beforeAll(async () => {
    stack = await createStack();
    rig.gateway = await startTestGateway({
      stack,
      env: { SESSION_STEP_TIMEOUT_S: '5', CEREMONY_SWEEP_INTERVAL_MS: '500', ...options.env },
      roles: ['api', 'worker', 'scheduler'],
    });
    await waitReady(rig.gateway);
    await gbtcReady(rig.gateway);
    await addInventory(rig.gateway, options.inventory, options.inventorySats);
    rig.url = rig.gateway.nostr!.embeddedRelayUrl!;
    rig.gw = rig.gateway.nostr!.core.keys.active.pubkey;
    rig.store = new VtxoStore(rig.gateway.database);
  }, 90_000);
  afterEach(async () => {
    await expectLedgerConsistent(rig.gateway.database);
  });
  afterAll(async () => {
    for (const w of wallets) w.close();
    await rig.gateway?.stop();
    await stack?.drop();
  });
  return rig;
}
