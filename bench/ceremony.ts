// Ceremony throughput and latency against the crypto floor:
//   npx node bench/ceremony.ts            (BENCH_SECONDS=<s> scales the timed windows, default 20)
// The gateway runs here, on the embedded default (SQLite in a temp DATA_DIR, in-process queue,
// embedded relay, simulated arkd); the wallets (the reference wallet, src/wallet/) run in ONE
// child process (bench/ceremony-wallets.ts) so they do not share the gateway's event loop.
// In the same run: a counting pass (each crypto call of the gateway process counted and
// attributed to gateway / simulated arkd / embedded relay), a micro-benchmark of each
// operation's unit cost, and closed-loop transfer runs at 1, 10 and 50 concurrent wallets.
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import {
  COMPONENTS,
  installCryptoCounter,
  patchRuntimeCrypto,
  type Component,
  type Op,
} from './support/crypto-count.ts';
import { ms, percentile, printTargets, table, writeResult, type Target } from './support/report.ts';

// Before anything loads the crypto libraries: the counting hooks.
const counter = installCryptoCounter();
await patchRuntimeCrypto(counter);
const { addInventory, fund, startBenchGateway, waitReady } = await import('./support/gateway.ts');
const { measureUnitCosts } = await import('./support/crypto-units.ts');
const { WalletProcess, newSecret, pubkeyOf } = await import('./support/wallet-process.ts');

const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
// BENCH_LEVELS=10 runs one level only; BENCH_PROFILE=<file> writes a CPU profile of the timed runs.
const LEVELS = (process.env.BENCH_LEVELS ?? '1,10,50').split(',').map(Number);
const PROFILE = process.env.BENCH_PROFILE;
const WALLETS = Math.max(...LEVELS, 1);
const COUNTING_TRANSFERS = 10;

// --- setup ---------------------------------------------------------------------------------------
const bench = await startBenchGateway({
  // The default (60 per author per minute) would refuse a closed-loop wallet (3 events a ceremony).
  NOSTR_RATE_LIMIT_PER_MINUTE: '100000',
});
const { gateway } = bench;
await waitReady(gateway);
const relay = gateway.nostr!.embeddedRelayUrl!;
const gatewayPubkey = gateway.nostr!.core.keys.active.pubkey;
let setupStarted = performance.now();
// Each transfer tops sats up from an inventory VTXO (a user VTXO carries dust only) and gives
// the surplus back as a smaller one, so the inventory wears down by about one VTXO per transfer
// (the monitor that would refill it is off: its batches would land mid-run); each funding
// spends one. Enough for every level at up to MAX_RATE ceremonies/s, or the last level runs dry
// and fails with 5004 (inventory short) instead of measuring anything.
const MAX_RATE = 60;
await addInventory(gateway, 4 * WALLETS + Math.ceil(SECONDS * LEVELS.length * MAX_RATE) + 200);
const secrets = Array.from({ length: WALLETS }, newSecret);
// Two VTXOs per wallet. A wallet has one transfer in flight at a time and spends its change
// next, so its own transfers never compete for a VTXO.
for (const secret of secrets) {
  await fund(gateway, pubkeyOf(secret), 1_000_000n);
  await fund(gateway, pubkeyOf(secret), 1_000_000n);
}
console.log(
  `setup: inventory and ${2 * WALLETS} funded VTXOs in ${((performance.now() - setupStarted) / 1000).toFixed(1)} s`,
);

const wallets = new WalletProcess();
await wallets.next('started');
setupStarted = performance.now();
wallets.send({ type: 'init', relay, gateway: gatewayPubkey, keys: secrets });
const ready = await wallets.next('ready');
console.log(
  `wallets: ${WALLETS} connected, ${String(ready.vtxos)} VTXOs synced in ${((performance.now() - setupStarted) / 1000).toFixed(1)} s`,
);
const recipient = pubkeyOf(newSecret());

interface RunResult {
  latencies: number[];
  failures: Record<string, number>;
  elapsedMs: number;
  walletCpuMs: number;
  gatewayCpuMs: number;
  eventLoopP99Ms: number;
  rssMb: number;
}

async function runLevel(
  concurrency: number,
  options: { durationMs?: number; transfers?: number; warmup: number },
): Promise<RunResult> {
  const timed = wallets.next('timed');
  const done = wallets.next('result');
  wallets.send({
    type: 'run',
    concurrency,
    durationMs: options.durationMs ?? 0,
    transfers: options.transfers,
    warmup: options.warmup,
    recipient,
  });
  await timed;
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const cpuBefore = process.cpuUsage();
  const result = (await done) as unknown as Omit<RunResult, 'gatewayCpuMs' | 'eventLoopP99Ms' | 'rssMb'>;
  const cpu = process.cpuUsage(cpuBefore);
  loop.disable();
  return {
    ...result,
    gatewayCpuMs: (cpu.user + cpu.system) / 1000,
    eventLoopP99Ms: loop.percentile(99) / 1e6,
    rssMb: process.memoryUsage().rss / 2 ** 20,
  };
}

// --- counting pass -------------------------------------------------------------------------------
counter.reset();
counter.enabled = true;
const counted = await runLevel(1, { transfers: COUNTING_TRANSFERS, warmup: 0 });
counter.enabled = false;
const ceremoniesCounted = counted.latencies.length;
if (ceremoniesCounted === 0)
  throw new Error(`no ceremony settled in the counting pass: ${JSON.stringify(counted.failures)}`);
const perCeremony = (component: Component, op: Op) =>
  (counter.counts.get(component)?.get(op) ?? 0) / ceremoniesCounted;
const opsSeen = [...new Set([...counter.counts.values()].flatMap((m) => [...m.keys()]))];
const encrypts = [...counter.counts.values()].reduce((s, m) => s + (m.get('nip44_encrypt') ?? 0), 0);
const decrypts = [...counter.counts.values()].reduce((s, m) => s + (m.get('nip44_decrypt') ?? 0), 0);
const averages = {
  encryptBytes: encrypts ? counter.nip44Bytes.encrypt / encrypts : 300,
  decryptBytes: decrypts ? counter.nip44Bytes.decrypt / decrypts : 300,
  // NIP-44 payload: base64 of (1 + 32 + padded plaintext + 32).
  eventContentBytes: encrypts ? (((counter.nip44Bytes.encrypt / encrypts) * 1.1 + 65) * 4) / 3 : 600,
};

// --- unit costs ----------------------------------------------------------------------------------
const units = measureUnitCosts(counter, averages);
const unitOf = new Map(units.map((u) => [u.op, u.us]));
const costUs = (components: readonly Component[]) =>
  opsSeen.reduce(
    (sum, op) => sum + components.reduce((s, c) => s + perCeremony(c, op), 0) * (unitOf.get(op) ?? 0),
    0,
  );
const gatewayCostUs = costUs(['gateway']);
const processCostUs = costUs(COMPONENTS);
const floor = {
  gateway_only: {
    us_per_ceremony: gatewayCostUs,
    one_core: 1e6 / gatewayCostUs,
    two_cores: 2e6 / gatewayCostUs,
  },
  whole_process: {
    us_per_ceremony: processCostUs,
    one_core: 1e6 / processCostUs,
    two_cores: 2e6 / processCostUs,
  },
};

// --- timed runs ----------------------------------------------------------------------------------
const runs: (RunResult & { concurrency: number })[] = [];
const profiler = PROFILE ? await startProfile() : undefined;
for (const concurrency of LEVELS) {
  const durationMs = SECONDS * 1000 * (concurrency === 1 ? 0.75 : 1);
  console.log(`running ${concurrency} concurrent for ${(durationMs / 1000).toFixed(0)} s …`);
  runs.push({ concurrency, ...(await runLevel(concurrency, { durationMs, warmup: 1 })) });
}
if (profiler) await profiler.stop(PROFILE!);
wallets.send({ type: 'exit' });

async function startProfile() {
  const { Session } = await import('node:inspector/promises');
  const { writeFileSync } = await import('node:fs');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 500 });
  await session.post('Profiler.start');
  return {
    async stop(file: string) {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
      console.log(`CPU profile of the timed runs: ${file}`);
    },
  };
}

// --- report --------------------------------------------------------------------------------------
const rows = runs.map((r) => {
  const n = r.latencies.length;
  const rate = n / (r.elapsedMs / 1000);
  return {
    concurrency: r.concurrency,
    ceremonies: n,
    failures: r.failures,
    p50_ms: percentile(r.latencies, 50),
    p95_ms: percentile(r.latencies, 95),
    p99_ms: percentile(r.latencies, 99),
    max_ms: percentile(r.latencies, 100),
    ceremonies_per_s: rate,
    gateway_cpu_ms_per_ceremony: r.gatewayCpuMs / n,
    gateway_cpu_cores_used: r.gatewayCpuMs / r.elapsedMs,
    wallets_cpu_ms_per_ceremony: r.walletCpuMs / n,
    event_loop_delay_p99_ms: r.eventLoopP99Ms,
    gateway_rss_mb: r.rssMb,
    ratio_to_floor_process_2_cores: rate / floor.whole_process.two_cores,
    ratio_to_floor_process_1_core: rate / floor.whole_process.one_core,
    ratio_to_floor_gateway_2_cores: rate / floor.gateway_only.two_cores,
  };
});

table(
  `Ceremony: closed-loop transfers (gateway process: embedded default; wallets: one child process; 2 shared cores)`,
  [
    'concurrent',
    'done',
    'fail',
    'p50 ms',
    'p95 ms',
    'p99 ms',
    'cer/s',
    'gw CPU ms/cer',
    'gw cores',
    'wallets CPU ms/cer',
    'loop p99 ms',
    'RSS MB',
  ],
  rows.map((r) => [
    r.concurrency,
    r.ceremonies,
    Object.values(r.failures).reduce((a, b) => a + b, 0),
    ms(r.p50_ms),
    ms(r.p95_ms),
    ms(r.p99_ms),
    ms(r.ceremonies_per_s, 2),
    ms(r.gateway_cpu_ms_per_ceremony),
    ms(r.gateway_cpu_cores_used, 2),
    ms(r.wallets_cpu_ms_per_ceremony),
    ms(r.event_loop_delay_p99_ms),
    ms(r.gateway_rss_mb, 0),
  ]),
);

const cryptoRows = opsSeen
  .map((op) => {
    const counts = COMPONENTS.map((c) => perCeremony(c, op));
    const total = counts.reduce((a, b) => a + b, 0);
    return { op, counts, total, us: unitOf.get(op) ?? 0 };
  })
  .sort((a, b) => b.total * b.us - a.total * a.us);
table(
  `Crypto per ceremony in the gateway process (counted over ${ceremoniesCounted} transfers) × unit cost`,
  ['operation', 'gateway', 'arkd-sim', 'relay', 'unit µs', 'gateway µs/cer', 'process µs/cer'],
  [
    ...cryptoRows.map((r) => [
      r.op,
      ms(r.counts[0]!, 1),
      ms(r.counts[1]!, 1),
      ms(r.counts[2]!, 1),
      ms(r.us, 1),
      ms(r.counts[0]! * r.us, 0),
      ms(r.total * r.us, 0),
    ]),
    ['total', '', '', '', '', ms(gatewayCostUs, 0), ms(processCostUs, 0)],
  ],
);
table(
  'Crypto floor (ceremonies/s if the process did nothing but its crypto)',
  ['scope', 'µs/ceremony', '1 core', '2 cores', 'measured@50 / 2-core floor'],
  [
    [
      'gateway only (without simulated arkd and relay)',
      ms(gatewayCostUs, 0),
      ms(floor.gateway_only.one_core, 1),
      ms(floor.gateway_only.two_cores, 1),
      ms(rows.at(-1)!.ratio_to_floor_gateway_2_cores, 3),
    ],
    [
      'whole gateway process (gateway + arkd-sim + relay)',
      ms(processCostUs, 0),
      ms(floor.whole_process.one_core, 1),
      ms(floor.whole_process.two_cores, 1),
      ms(rows.at(-1)!.ratio_to_floor_process_2_cores, 3),
    ],
  ],
);
table(
  'Unit costs (measured in this run, this process)',
  ['operation', 'µs', 'per s', 'how'],
  units.map((u) => [u.op, ms(u.us, 1), Math.round(u.perSecond), u.detail]),
);

const at10 = rows.find((r) => r.concurrency === 10);
const at50 = rows.find((r) => r.concurrency === 50);
const targets: Target[] = [
  ...(at10
    ? [
        {
          name: 'p50 at 10 concurrent',
          target: '≤ 50 ms',
          measured: `${ms(at10.p50_ms)} ms`,
          pass: at10.p50_ms <= 50,
        },
        {
          name: 'p99 at 10 concurrent',
          target: '≤ 250 ms',
          measured: `${ms(at10.p99_ms)} ms`,
          pass: at10.p99_ms <= 250,
        },
      ]
    : []),
  ...(at50
    ? [
        {
          name: 'throughput at 50 / crypto floor',
          target: '≥ 0.50 (whole process, 2 cores)',
          measured: `${ms(at50.ceremonies_per_s, 2)} / ${ms(floor.whole_process.two_cores, 1)} = ${ms(at50.ratio_to_floor_process_2_cores, 3)}`,
          pass: at50.ratio_to_floor_process_2_cores >= 0.5,
        },
      ]
    : []),
];
printTargets(targets);

writeResult('ceremony', {
  settings: {
    seconds: SECONDS,
    levels: LEVELS,
    wallets: WALLETS,
    counting_transfers: ceremoniesCounted,
    rate_limit_per_minute: 100000,
    worker_concurrency: gateway.config.jobs.concurrency,
  },
  runs: rows,
  crypto: {
    per_ceremony: Object.fromEntries(
      cryptoRows.map((r) => [r.op, Object.fromEntries(COMPONENTS.map((c, i) => [c, r.counts[i]]))]),
    ),
    unit_us: Object.fromEntries(units.map((u) => [u.op, u.us])),
    unit_detail: Object.fromEntries(units.map((u) => [u.op, u.detail])),
    averages,
    floor,
  },
  targets,
});
await bench.close();
process.exit(0);
