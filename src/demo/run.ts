// `npm run demo`: the whole product in one command. A real gateway on the embedded default, three
// reference wallets (alice, bob, and the example solver's), and one pass through
//   lift → transfer → split → swap → land
// printing every Nostr event and the final balances, which it checks against what each step must
// leave. Exits 0, or 1 naming the step that failed.
import { ArkRelayWallet, RelayPool, type Outcome, type SignedIntent } from '../wallet/index.ts';
import { requestQuote, swapWith } from '../../examples/solver/client.ts';
import { Solver } from '../../examples/solver/solver.ts';
import { EventLog } from './event-log.ts';
import { startDemoGateway, type DemoGateway } from './gateway.ts';

const STEP_TIMEOUT_MS = 60_000;
const print = (line: string) => process.stdout.write(`${line}\n`);

class StepFailed extends Error {
  readonly step: string;
  constructor(step: string, cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.step = step;
  }
}

async function step<T>(name: string, work: () => Promise<T>): Promise<T> {
  print(`\n== ${name}`);
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const result = await Promise.race([
      work(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no result within ${STEP_TIMEOUT_MS / 1000} s`)),
          STEP_TIMEOUT_MS,
        );
      }),
    ]);
    const took = Date.now() - started;
    // A moment for the step's last events to reach the event log, so they print under it.
    await new Promise((r) => setTimeout(r, 200));
    print(`   ok (${took} ms)`);
    return result;
  } catch (error) {
    throw new StepFailed(name, error);
  } finally {
    clearTimeout(timer);
  }
}

async function http<T>(demo: DemoGateway, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${demo.http}${path}`, {
    method,
    headers: { 'x-admin-key': demo.adminKey, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const json = (await response.json()) as T;
  if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status} ${JSON.stringify(json)}`);
  return json;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function settled(outcome: Outcome, what: string): string {
  if (outcome.status !== 'settled') throw new Error(`${what} failed: ${outcome.code} ${outcome.message}`);
  return outcome.confirmation.ark_txid;
}

/** lift_lightning, then the simulator pays the invoice as an outside payer; resolves when credited. */
async function lift(
  demo: DemoGateway,
  wallet: ArkRelayWallet,
  assetId: string,
  amount: bigint,
): Promise<string> {
  const invoice = (await wallet.liftLightning(assetId, amount)) as { bolt11: string; payment_hash: string };
  const credited = new Promise<string>((resolve) => {
    const stop = wallet.on('notification', ({ body }) => {
      if (body.type === 'lift_paid' && body.payment_hash === invoice.payment_hash) {
        stop();
        resolve(String(body.vtxo_id));
      }
    });
  });
  await http(demo, 'POST', '/sim/lightning/pay', { invoice: invoice.bolt11 });
  const vtxo = await credited;
  print(
    `   ${amount} ${assetId} lifted: invoice ${invoice.bolt11.slice(0, 24)}… paid, VTXO ${vtxo.slice(0, 12)}…`,
  );
  return vtxo;
}

async function publishAndSettle(wallet: ArkRelayWallet, intent: SignedIntent, what: string): Promise<string> {
  await wallet.syncState();
  await wallet.publishIntent(intent);
  return settled(await wallet.outcome(intent.content.action_id, STEP_TIMEOUT_MS), what);
}

type Balances = Record<string, bigint>;

async function balances(wallet: ArkRelayWallet): Promise<Balances> {
  const { raw } = await wallet.syncState();
  const list = raw.balances as { asset_id: string; available: string; pending: string }[];
  return Object.fromEntries(list.map((b) => [b.asset_id, BigInt(b.available) + BigInt(b.pending)]));
}

export async function runDemo(): Promise<number> {
  const started = Date.now();
  let demo: DemoGateway | undefined;
  const wallets: ArkRelayWallet[] = [];
  let monitor: RelayPool | undefined;
  let log: EventLog | undefined;
  let solver: Solver | undefined;
  let failed: StepFailed | undefined;
  try {
    demo = await step('start the gateway (embedded default, simulated daemons, temp DATA_DIR)', async () => {
      const d = await startDemoGateway();
      print(`   http ${d.http}  relay ${d.relay}  data ${d.dataDir}`);
      await until('/ready', async () => ((await fetch(`${d.http}/ready`)).ok ? true : undefined));
      // gBTC is minted on first start; the inventory monitor then fills the VTXO inventory.
      const inventory = await until('gBTC and its VTXO inventory', async () => {
        const inv = await http<{ enabled: boolean; available: number }>(d, 'GET', '/vtxos/inventory/gBTC');
        return inv.enabled && inv.available >= 50 ? inv : undefined;
      });
      print(
        `   gateway ${d.gateway.nostr!.core.keys.active.pubkey.slice(0, 16)}…  gBTC inventory ${inventory.available} VTXOs`,
      );
      return d;
    });
    const gw = demo;

    const [alice, bob, solverWallet] = await step(
      'connect three wallets (alice, bob, the solver)',
      async () => {
        const connect = () => ArkRelayWallet.connect({ gatewayPubkey: gw.pubkey, relays: [gw.relay] });
        const list = await Promise.all([connect(), connect(), connect()]);
        wallets.push(...list);
        monitor = new RelayPool([gw.relay]);
        await monitor.connect();
        log = new EventLog(print);
        log.party(gw.pubkey, { name: 'gateway' });
        const names = ['alice', 'bob', 'solver'];
        list.forEach((w, i) => {
          log!.party(w.pubkey, { name: names[i]!, key: w.key });
          print(`   ${names[i]!.padEnd(6)} ${w.npub}`);
        });
        log.start(monitor, Math.floor(Date.now() / 1000) - 1);
        return list as [ArkRelayWallet, ArkRelayWallet, ArkRelayWallet];
      },
    );

    await step(
      'register gUSD (minted in the simulated tapd, registered with POST /admin/assets)',
      async () => {
        // Minting a Taproot Asset is the issuer's business (tapcli on a real tapd); the demo plays
        // the issuer on the simulated one, then registers the asset as an operator would.
        const minted = await gw.gateway.backends.assets.mintAsset({
          name: 'gUSD',
          amount: 1_000_000_000n,
          decimalDisplay: 2,
          grouped: false,
        });
        await http(gw, 'POST', '/admin/assets', {
          asset_id: 'gUSD',
          name: 'Gateway USD',
          ticker: 'gUSD',
          decimals: 2,
          type: 'permissionless',
          tapd_asset_id: minted.assetId,
        });
        print(`   gUSD = tapd asset ${minted.assetId.slice(0, 16)}…`);
      },
    );

    await step('lift: alice lifts 100 000 gBTC; the solver lifts 1 000 gBTC and 50 000 gUSD', async () => {
      await lift(gw, alice, 'gBTC', 100_000n);
      await lift(gw, solverWallet, 'gBTC', 1_000n);
      await lift(gw, solverWallet, 'gUSD', 50_000n);
    });

    await step('transfer: alice sends 20 000 gBTC to bob (fee 10 gBTC)', async () => {
      const intent = alice.transferIntent({ recipient: bob.npub, assetId: 'gBTC', amount: 20_000n });
      print(`   ark tx ${await publishAndSettle(alice, intent, 'transfer')}`);
    });

    await step('split: bob splits his 20 000 gBTC into 10 000 + 5 000 + 4 990 (fee 10 from it)', async () => {
      await bob.syncState();
      const vtxo = bob.vtxos.list().find((v) => v.assetId === 'gBTC' && v.amount === 20_000n);
      if (!vtxo) throw new Error('bob has no 20 000 gBTC VTXO');
      const intent = bob.splitIntent({ vtxoId: vtxo.vtxoId, amounts: [10_000n, 5_000n, 4_990n] });
      print(`   ark tx ${await publishAndSettle(bob, intent, 'split')}`);
    });

    await step('swap: alice swaps 10 000 gBTC for gUSD with the solver (one batch, two legs)', async () => {
      await solverWallet.syncState();
      solver = new Solver({
        wallet: solverWallet,
        // 1 sat = 0.1 US cent (BTC at 100 000 USD): 10 gBTC units per gUSD cent.
        rate: { base: 'gBTC', quote: 'gUSD', numerator: 1n, denominator: 10n },
        log: (line) => print(`   ${line}`),
      });
      solver.start();
      const quote = await requestQuote(alice, solver.pubkey, { asset_id: 'gBTC', amount: 10_000n }, 'gUSD');
      print(
        `   quote ${quote.quote_id.slice(0, 8)}: ${quote.give.amount} ${quote.give.asset_id} → ${quote.receive.amount} ${quote.receive.asset_id}`,
      );
      const done = await swapWith(alice, quote, { timeoutMs: STEP_TIMEOUT_MS });
      print(`   batch ${done.batch.batch_id.slice(0, 13)}… ark tx ${settled(done.outcome, 'swap')}`);
    });

    await step('land: alice pays a 5 000 sat Lightning invoice from gBTC (fee 0.1 % = 5 gBTC)', async () => {
      const invoice = await http<{ payment_request: string }>(gw, 'POST', '/sim/lightning/external-invoice', {
        amount_msat: '5000000',
        memo: 'demo land',
      });
      const intent = alice.landIntent({ assetId: 'gBTC', amount: 5_000n, invoice: invoice.payment_request });
      print(`   ark tx ${await publishAndSettle(alice, intent, 'land')}`);
    });

    await step('final balances (sync_state) and the ledger invariant', async () => {
      const expected: Record<string, Balances> = {
        // 100 000 − 20 010 (transfer + fee) − 10 010 (swap + fee) − 5 005 (land + fee)
        alice: { gBTC: 64_975n, gUSD: 1_000n },
        // 20 000 − 10 (split fee)
        bob: { gBTC: 19_990n },
        // 1 000 + 10 000 − 10 (fee); 50 000 − 1 000
        solver: { gBTC: 10_990n, gUSD: 49_000n },
      };
      const actual: Record<string, Balances> = {
        alice: await balances(alice),
        bob: await balances(bob),
        solver: await balances(solverWallet),
      };
      for (const [name, assets] of Object.entries(actual)) {
        print(
          `   ${name.padEnd(6)} ${
            Object.entries(assets)
              .map(([a, v]) => `${v} ${a}`)
              .join(', ') || 'nothing'
          }`,
        );
      }
      for (const [name, want] of Object.entries(expected)) {
        for (const [asset, amount] of Object.entries(want)) {
          if (actual[name]![asset] !== amount) {
            throw new Error(`${name} holds ${actual[name]![asset] ?? 0n} ${asset}, expected ${amount}`);
          }
        }
      }
      const check = await http<{ ok: boolean }>(gw, 'GET', '/admin/ledger/check');
      if (!check.ok) throw new Error(`ledger check failed: ${JSON.stringify(check)}`);
      print('   ledger invariant: ok');
    });
    // Let the last confirmations reach the event log before it closes.
    await new Promise((r) => setTimeout(r, 300));
  } catch (error) {
    failed = error instanceof StepFailed ? error : new StepFailed('setup', error);
  } finally {
    solver?.stop();
    log?.stop();
    monitor?.close();
    for (const w of wallets) w.close();
    await demo?.stop(failed !== undefined).catch(() => undefined);
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (failed) {
    print(`\ndemo FAILED at step "${failed.step}": ${failed.message}`);
    const logs = demo?.logs().trim();
    if (logs) print(`gateway warnings and errors:\n${logs.split('\n').slice(-20).join('\n')}`);
    if (demo) print(`gateway data kept in ${demo.dataDir}`);
    return 1;
  }
  print(
    `\ndemo finished in ${seconds} s: ${log?.count ?? 0} Nostr events (${[...(log?.byKind ?? [])].map(([k, n]) => `${k}×${n}`).join(' ')})`,
  );
  return 0;
}
