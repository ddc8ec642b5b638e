// Growth with load:  npx node bench/growth.ts
// (a) Intake latency and RSS with 0, 1 000, 10 000 and 100 000 open sessions: open session rows
//     (state awaiting_signatures, deadlines an hour away, the context_json of a real settled
//     transfer) are inserted directly, then a wallet in a child process runs sequential
//     transfers and we take intent-publish → 31340 latency and the gateway's RSS. The sweep
//     (every CEREMONY_SWEEP_INTERVAL_MS) keeps resuming the open sessions, as it would in production.
// (b) Coin selection with 100 000 VTXOs of one owner (bench/coin-selection.ts).
// BENCH_TRANSFERS (default 20) transfers per level.
import { performance } from 'node:perf_hooks';
import { coinSelectionBench, reportCoinSelection } from './coin-selection.ts';
import { addInventory, fund, startBenchGateway, waitReady } from './support/gateway.ts';
import { ms, percentile, printTargets, table, writeResult, type Target } from './support/report.ts';
import { seedSessions } from './support/seed.ts';
import { WalletProcess, newSecret, pubkeyOf } from './support/wallet-process.ts';

const TRANSFERS = Number(process.env.BENCH_TRANSFERS ?? 20);
const LEVELS = [0, 1_000, 10_000, 100_000];

const bench = await startBenchGateway({ NOSTR_RATE_LIMIT_PER_MINUTE: '100000' });
const { gateway } = bench;
await waitReady(gateway);
await addInventory(gateway, 100);
const secret = newSecret();
await fund(gateway, pubkeyOf(secret), 10_000_000n);
const wallets = new WalletProcess();
await wallets.next('started');
wallets.send({
  type: 'init',
  relay: gateway.nostr!.embeddedRelayUrl!,
  gateway: gateway.nostr!.core.keys.active.pubkey,
  keys: [secret],
});
await wallets.next('ready');
const recipient = pubkeyOf(newSecret());

async function transfers(count: number, warmup: number) {
  const done = wallets.next('result');
  wallets.send({ type: 'run', concurrency: 1, durationMs: 0, transfers: count, warmup, recipient });
  let peakRss = process.memoryUsage().rss;
  const timer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
  const result = (await done) as { latencies: number[]; failures: Record<string, number> };
  clearInterval(timer);
  return { ...result, peakRssMb: peakRss / 2 ** 20 };
}

// One real transfer first: its session's context_json is the template of the seeded ones.
await transfers(1, 0);
const template = await gateway.database.db
  .selectFrom('signing_sessions')
  .select('context_json')
  .where('state', '=', 'confirmed')
  .executeTakeFirstOrThrow();
const contextBytes = Buffer.byteLength(template.context_json);
console.log(`open sessions get a real context_json of ${contextBytes} bytes`);

const rows: {
  open_sessions: number;
  seed_s: number;
  p50_ms: number;
  p95_ms: number;
  max_ms: number;
  failures: Record<string, number>;
  rss_mb: number;
  peak_rss_mb: number;
  heap_used_mb: number;
}[] = [];
let open = 0;
for (const level of LEVELS) {
  const started = performance.now();
  if (level > open) {
    await seedSessions(gateway.database, level - open, {
      state: 'awaiting_signatures',
      contextJson: template.context_json,
    });
    open = level;
  }
  const seedS = (performance.now() - started) / 1000;
  console.log(`${level} open sessions (seeded in ${seedS.toFixed(1)} s): ${TRANSFERS} transfers …`);
  const result = await transfers(TRANSFERS, 2);
  const memory = process.memoryUsage();
  rows.push({
    open_sessions: level,
    seed_s: seedS,
    p50_ms: percentile(result.latencies, 50),
    p95_ms: percentile(result.latencies, 95),
    max_ms: percentile(result.latencies, 100),
    failures: result.failures,
    rss_mb: memory.rss / 2 ** 20,
    peak_rss_mb: result.peakRssMb,
    heap_used_mb: memory.heapUsed / 2 ** 20,
  });
}
wallets.send({ type: 'exit' });
await bench.close();

table(
  `Intake latency (intent published → 31340 received, sequential transfers) and gateway RSS vs open sessions (2 shared cores)`,
  ['open sessions', 'p50 ms', 'p95 ms', 'max ms', 'failures', 'RSS MB', 'peak RSS MB', 'heap MB'],
  rows.map((r) => [
    r.open_sessions,
    ms(r.p50_ms),
    ms(r.p95_ms),
    ms(r.max_ms),
    Object.values(r.failures).reduce((a, b) => a + b, 0),
    ms(r.rss_mb, 0),
    ms(r.peak_rss_mb, 0),
    ms(r.heap_used_mb, 0),
  ]),
);

const coin = await coinSelectionBench();
const coinTargets = reportCoinSelection(coin);
const at = (n: number) => rows.find((r) => r.open_sessions === n)!;
const targets: Target[] = [
  {
    name: 'latency p50 at 100 000 vs 1 000 open sessions',
    target: '≤ 2×',
    measured: `${ms(at(100_000).p50_ms)} / ${ms(at(1_000).p50_ms)} = ${ms(at(100_000).p50_ms / at(1_000).p50_ms, 2)}×`,
    pass: at(100_000).p50_ms <= 2 * at(1_000).p50_ms,
  },
  {
    name: 'RSS at 10 000 open sessions',
    target: '≤ 400 MB',
    measured: `${ms(at(10_000).peak_rss_mb, 0)} MB (peak)`,
    pass: at(10_000).peak_rss_mb <= 400,
  },
  ...coinTargets,
];
printTargets(targets);
writeResult('growth', {
  settings: { transfers: TRANSFERS, levels: LEVELS, context_json_bytes: contextBytes },
  sessions: rows,
  coin_selection: coin,
  targets,
});
process.exit(0);
