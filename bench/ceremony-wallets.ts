// The wallets of bench/ceremony.ts, in a process of their own so that they do not share the
// gateway's event loop. Started by bench/ceremony.ts with child_process.fork (IPC channel);
// not meant to be run by hand. Messages:
//   parent → { type: 'init', relay, gateway, keys: hex[] }         → { type: 'ready', vtxos }
//   parent → { type: 'run', concurrency, durationMs, recipient }    → { type: 'result', ... }
//   parent → { type: 'exit' }
// A run is closed-loop: each of the first `concurrency` wallets publishes a transfer, waits for
// its 31340, and publishes the next, until the duration is over. Latency is measured from just
// before the intent is published to the moment the wallet has the confirmation naming it.
import { performance } from 'node:perf_hooks';
import { ArkRelayWallet } from '../src/wallet/index.ts';

interface Init {
  readonly type: 'init';
  readonly relay: string;
  readonly gateway: string;
  readonly keys: readonly string[];
}
interface Run {
  readonly type: 'run';
  readonly concurrency: number;
  readonly durationMs: number;
  readonly recipient: string;
  /** Transfers per wallet before the timed window (not counted). */
  readonly warmup: number;
  /** Instead of a duration: exactly this many transfers per wallet (the counting pass). */
  readonly transfers?: number;
}
type Message = Init | Run | { readonly type: 'exit' };

const TRANSFER = 100n;
let wallets: ArkRelayWallet[] = [];

function send(message: Record<string, unknown>): void {
  process.send!(message);
}

async function transfer(
  wallet: ArkRelayWallet,
  recipient: string,
): Promise<{ ms: number; ok: boolean; code?: number }> {
  const intent = wallet.transferIntent({ recipient, assetId: 'gBTC', amount: TRANSFER });
  const started = performance.now();
  await wallet.publishIntent(intent);
  const outcome = await wallet.outcome(intent.content.action_id, 60_000);
  const ms = performance.now() - started;
  return outcome.status === 'settled' ? { ms, ok: true } : { ms, ok: false, code: outcome.code };
}

async function init(message: Init): Promise<void> {
  wallets = await Promise.all(
    message.keys.map((key) =>
      ArkRelayWallet.connect({ key, gatewayPubkey: message.gateway, relays: [message.relay] }),
    ),
  );
  // The wallets learn their VTXOs (and the gateway caches each wallet's ECDH secret) before any timing.
  let vtxos = 0;
  for (const wallet of wallets) vtxos += (await wallet.syncState()).vtxos.length;
  send({ type: 'ready', vtxos });
}

async function run(message: Run): Promise<void> {
  const active = wallets.slice(0, message.concurrency);
  // A warm-up that fails (a gateway too slow to answer) is not fatal: the timed loop counts it.
  for (let i = 0; i < message.warmup; i++)
    await Promise.all(active.map((w) => transfer(w, message.recipient).catch(() => undefined)));
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  send({ type: 'timed' });
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const deadline = started + message.durationMs;
  await Promise.all(
    active.map(async (wallet) => {
      for (
        let done = 0;
        message.transfers === undefined ? performance.now() < deadline : done < message.transfers;
        done++
      ) {
        try {
          const result = await transfer(wallet, message.recipient);
          if (result.ok) latencies.push(result.ms);
          else failures[String(result.code)] = (failures[String(result.code)] ?? 0) + 1;
        } catch (error) {
          const key = (error as Error).name || 'error';
          failures[key] = (failures[key] ?? 0) + 1;
        }
      }
    }),
  );
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  send({
    type: 'result',
    latencies,
    failures,
    elapsedMs,
    walletCpuMs: (cpu.user + cpu.system) / 1000,
  });
}

process.on('message', (raw) => {
  const message = raw as Message;
  const work =
    message.type === 'init' ? init(message) : message.type === 'run' ? run(message) : Promise.resolve();
  work.then(
    () => {
      if (message.type === 'exit') {
        for (const wallet of wallets) wallet.close();
        process.exit(0);
      }
    },
    (error: unknown) => {
      send({ type: 'error', message: String((error as Error).stack ?? error) });
    },
  );
});
send({ type: 'started' });
