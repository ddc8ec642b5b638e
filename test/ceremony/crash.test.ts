// Crash recovery: the real `arkrelay dev` process kills itself (SIGKILL, TEST_CRASH_AFTER) right
// after each persisted point of a transfer's ceremony; a fresh gateway on the same data then
// resumes it. Each time the transfer settles exactly once (one 31340, each input spent once),
// no lock is left behind, and the ledger invariant holds. The relay and the wallet live in the
// test process, so they outlive the crashes as they would in the field.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import type { EmbeddedRelay } from '../../src/nostr/embedded-relay.ts';
import { createLogger } from '../../src/logging.ts';
import { VtxoStore } from '../../src/ledger/vtxo-store.ts';
import { ArkRelayWallet, WalletKey } from '../../src/wallet/index.ts';
import { startRelay, waitReady } from '../nostr/support.ts';
import { logLines, runCli, tempDir } from '../support/cli.ts';
import { expectLedgerConsistent } from '../support/ledger.ts';
import { queryRelay } from '../support/relay-query.ts';
import { waitFor } from '../support/wait.ts';
import { addInventory, fund, gbtcReady } from './support.ts';

const POINTS = [
  'accepted',
  'ark_tx_prepared',
  'awaiting_signatures',
  'answered',
  'submitted',
  'server_signed',
  'finalized',
  'confirmed',
] as const;

describe('crash recovery of the ceremony', () => {
  const cwd = tempDir('arkrelay-crash-');
  let relay: EmbeddedRelay;
  let env: Record<string, string>;
  let alice: ArkRelayWallet;
  let gatewayPubkey: string;

  const inProcess = async (): Promise<Gateway> => {
    const gateway = await startGateway(loadConfig({ ...env, PORT: '0', LOG_LEVEL: 'silent' }), {
      roles: ['api'],
      logger: createLogger({ level: 'silent' }),
    });
    await waitReady(gateway);
    return gateway;
  };

  beforeAll(async () => {
    relay = await startRelay();
    env = {
      DATA_DIR: `${cwd}/data`,
      LOG_DIR: `${cwd}/logs`,
      NOSTR_RELAYS: relay.url,
      VTXO_AUTO_START: 'false',
      CEREMONY_SWEEP_INTERVAL_MS: '500',
      METRICS_PORT: '0',
    };
    const gateway = await inProcess();
    try {
      await gbtcReady(gateway);
      await addInventory(gateway, 40);
      gatewayPubkey = gateway.nostr!.core.keys.active.pubkey;
      alice = await ArkRelayWallet.connect({ gatewayPubkey, relays: [relay.url] });
      for (let i = 0; i < POINTS.length; i++) await fund(gateway, alice.pubkey, 1_000n);
      await alice.syncState();
    } finally {
      await gateway.stop();
    }
  }, 90_000);

  afterAll(async () => {
    alice?.close();
    await relay?.stop();
  });

  it.each(POINTS)(
    'a transfer interrupted after %s settles exactly once after a restart',
    async (point) => {
      const child = runCli(['dev'], { ...env, PORT: '0', LOG_LEVEL: 'info', TEST_CRASH_AFTER: point }, cwd);
      await waitFor(
        () => logLines(child.stdout()).some((l) => l.msg === 'arkrelay started') || undefined,
        30_000,
        'the gateway process to start',
      );
      // It subscribes to the relay just after it logs its start; give intake a moment.
      await waitFor(
        async () => (await fetch(urlOf(child.stdout()) + '/ready')).status === 200 || undefined,
        15_000,
        'the gateway process to be ready',
      );
      const intent = alice.transferIntent({
        recipient: WalletKey.generate().pubkey,
        assetId: 'gBTC',
        amount: 300n,
      });
      const outcome = alice.outcome(intent.content.action_id, 60_000);
      await alice.publishIntent(intent);
      const exit = await Promise.race([
        child.exited,
        new Promise<'alive'>((resolve) => setTimeout(() => resolve('alive'), 30_000)),
      ]);
      expect(exit).toEqual({ code: null, signal: 'SIGKILL' });

      const gateway = await inProcess();
      try {
        const result = await outcome;
        expect(result.status).toBe('settled');
        const sessions = await gateway.database.db
          .selectFrom('signing_sessions')
          .select(['state', 'ark_txid'])
          .where('action_id', '=', intent.content.action_id)
          .execute();
        expect(sessions.map((s) => s.state)).toEqual(['confirmed']);
        // One confirmation on the relay for this intent, and each input spent by that one tx.
        const confirmations = await queryRelay(relay.url, { kinds: [31340], '#e': [intent.event.id] });
        expect(confirmations).toHaveLength(1);
        const spent = await gateway.database.db
          .selectFrom('vtxos')
          .select(['spent_by_txid'])
          .where('spent_by_txid', '=', sessions[0]!.ark_txid!)
          .where('owner_pubkey', '=', alice.pubkey)
          .execute();
        expect(spent.length).toBeGreaterThan(0);
        const locked = await gateway.database.db
          .selectFrom('vtxos')
          .select('vtxo_id')
          .where('status', '=', 'pending_spend')
          .execute();
        expect(locked).toEqual([]);
        const balances = await new VtxoStore(gateway.database).balances(alice.pubkey);
        expect(balances[0]?.pending ?? 0n).toBe(0n);
        await expectLedgerConsistent(gateway.database);
      } finally {
        await gateway.stop();
      }
    },
    120_000,
  );
});

function urlOf(stdout: string): string {
  const started = logLines(stdout).find((l) => l.msg === 'arkrelay started');
  return String(started?.http);
}
