// The production shape: two gateway API instances and a separate worker process share MariaDB
// and Redis and listen on two relays. Twenty wallets publish 200 transfers, every one to both
// relays, so each instance sees each event twice. Every intent runs once: 200 sessions, 200
// confirmations, no VTXO spent twice, and the ledger invariant holds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logging.ts';
import type { EmbeddedRelay } from '../../src/nostr/embedded-relay.ts';
import { ArkRelayWallet, WalletKey } from '../../src/wallet/index.ts';
import { addInventory, fund, gbtcReady } from '../ceremony/support.ts';
import { createStack, startRelay, waitReady, type SharedStack } from '../nostr/support.ts';
import { runCli, type CliRun } from '../support/cli.ts';
import { expectLedgerConsistent } from '../support/ledger.ts';
import { mariadbAvailable } from '../support/test-database.ts';
import { queryRelay } from '../support/relay-query.ts';

const WALLETS = 20;
const INTENTS_PER_WALLET = 10;
const AMOUNT = 20n;
const FEE = 10n;

describe.skipIf(!mariadbAvailable || !process.env.REDIS_URL)('two API instances and a worker process', () => {
  let stack: SharedStack;
  let relays: EmbeddedRelay[];
  let gateways: Gateway[];
  let worker: CliRun;
  let wallets: ArkRelayWallet[];
  let env: Record<string, string>;

  const instance = async (roles: ('api' | 'scheduler')[], name: string) => {
    const gateway = await startGateway(
      loadConfig({ ...env, PORT: '0', LOG_LEVEL: 'silent', INSTANCE_ID: name }),
      { roles, logger: createLogger({ level: 'silent' }) },
    );
    await waitReady(gateway);
    return gateway;
  };

  beforeAll(async () => {
    stack = await createStack();
    relays = [await startRelay(), await startRelay()];
    env = {
      ...stack.env,
      NOSTR_RELAYS: relays.map((r) => r.url).join(','),
      VTXO_AUTO_START: 'false',
      CEREMONY_SWEEP_INTERVAL_MS: '1000',
    };
    gateways = [await instance(['api', 'scheduler'], 'api-1'), await instance(['api'], 'api-2')];
    // The worker runs every job — intake of intents and responses, the ceremony, the sweep.
    worker = runCli(['worker'], { ...env, LOG_LEVEL: 'warn', INSTANCE_ID: 'worker-1' }, stack.dataDir);
    const [first] = gateways;
    await gbtcReady(first!);
    await addInventory(first!, 250);
    const gatewayPubkey = first!.nostr!.core.keys.active.pubkey;
    wallets = [];
    for (let i = 0; i < WALLETS; i++) {
      const wallet = await ArkRelayWallet.connect({ gatewayPubkey, relays: relays.map((r) => r.url) });
      // One VTXO per transfer, each exactly amount + fee: a wallet's transfers never compete.
      for (let j = 0; j < INTENTS_PER_WALLET; j++) await fund(first!, wallet.pubkey, AMOUNT + FEE);
      await wallet.syncState();
      wallets.push(wallet);
    }
  }, 240_000);

  afterAll(async () => {
    for (const wallet of wallets ?? []) wallet.close();
    worker?.child.kill('SIGTERM');
    await worker?.exited;
    for (const gateway of gateways ?? []) await gateway.stop();
    for (const relay of relays ?? []) await relay.stop();
    await stack?.drop();
  }, 60_000);

  it('runs 200 intents published to both relays exactly once each', async () => {
    const started = Date.now();
    const intentIds: string[] = [];
    const outcomes = await Promise.all(
      wallets.map(async (wallet) => {
        const results = [];
        for (let j = 0; j < INTENTS_PER_WALLET; j++) {
          const intent = wallet.transferIntent({
            recipient: WalletKey.generate().pubkey,
            assetId: 'gBTC',
            amount: AMOUNT,
          });
          intentIds.push(intent.event.id);
          // The pool publishes to both relays; both API instances subscribe to both.
          const delivered = await wallet.publishIntent(intent);
          expect(delivered).toHaveLength(2);
          results.push(await wallet.outcome(intent.content.action_id, 60_000));
        }
        return results;
      }),
    );
    const flat = outcomes.flat();
    const failed = flat.filter((o) => o.status !== 'settled');
    expect(failed).toEqual([]);
    expect(flat).toHaveLength(WALLETS * INTENTS_PER_WALLET);

    const db = gateways[0]!.database.db;
    const sessions = await db.selectFrom('signing_sessions').select(['state']).execute();
    expect(sessions).toHaveLength(200);
    expect(new Set(sessions.map((s) => s.state))).toEqual(new Set(['confirmed']));
    // One confirmation per intent, queued once and on both relays.
    const queued = await db.selectFrom('nostr_outbox').select('event_id').where('kind', '=', 31340).execute();
    expect(queued).toHaveLength(200);
    for (const relay of relays) {
      const seen = await queryRelay(relay.url, { kinds: [31340], '#e': intentIds });
      expect(new Set(seen.map((e) => e.tags.find((t) => t[0] === 'e')?.[1])).size).toBe(200);
    }
    // Every input was spent by exactly one Ark tx, and each wallet spent exactly its ten.
    const spent = await db
      .selectFrom('vtxos')
      .select(['owner_pubkey', 'spent_by_txid'])
      .where('status', '=', 'spent')
      .where(
        'owner_pubkey',
        'in',
        wallets.map((w) => w.pubkey),
      )
      .execute();
    expect(spent).toHaveLength(200);
    expect(new Set(spent.map((s) => s.spent_by_txid)).size).toBe(200);
    // Each intent was handled once though each event reached both instances over both relays.
    const claims = await db
      .selectFrom('processed_events')
      .select(['event_id', 'attempts'])
      .where('event_id', 'in', intentIds)
      .execute();
    expect(claims).toHaveLength(200);
    await expectLedgerConsistent(gateways[0]!.database);
    console.info(`multi-instance: 200 transfers in ${Date.now() - started} ms`);
  }, 300_000);
});
