// Read API under load:  npx node bench/read-api.ts
// GET /vtxos/user/{pk}, /sessions/{id}, /health and /metrics (the exporter on METRICS_PORT) with
// autocannon running in a child process (not on the gateway's event loop), against the gateway
// on SQLite (embedded default) and, when DATABASE_URL is set, on a fresh MariaDB database.
// Seeded: one user with 200 VTXOs, 10 000 VTXOs of 1 000 other users, 1 000 sessions.
// BENCH_SECONDS (default 10) per endpoint, BENCH_CONNECTIONS (default 50), BENCH_ENDPOINTS
// (parts of endpoint names, comma-separated: only those run).
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createTestDatabase } from '../test/support/test-database.ts';
import { startBenchGateway, waitReady, type BenchGateway } from './support/gateway.ts';
import { ms, printTargets, table, writeResult, type Target } from './support/report.ts';
import { randomPubkey, seedSessions, seedVtxos, syntheticContext } from './support/seed.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
/** Comma-separated parts of endpoint names to run (all when unset), e.g. "vtxos,health". */
const ONLY = process.env.BENCH_ENDPOINTS?.split(',').filter(Boolean);
const require = createRequire(import.meta.url);
const AUTOCANNON = join(dirname(require.resolve('autocannon/package.json')), 'autocannon.js');

interface Cannon {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}

function cannon(url: string): Promise<Cannon> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [AUTOCANNON, '-c', String(CONNECTIONS), '-d', String(SECONDS), '-j', url],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`autocannon exited ${code}: ${err}`));
      resolve(JSON.parse(out) as Cannon);
    });
  });
}

interface Row {
  readonly database: string;
  readonly endpoint: string;
  readonly req_per_s: number;
  readonly p50_ms: number;
  readonly p99_ms: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly gateway_cpu_cores: number;
}

async function benchOne(kind: 'sqlite' | 'mariadb'): Promise<Row[]> {
  let drop: (() => Promise<void>) | undefined;
  const env: Record<string, string> = { ENABLE_METRICS: 'true', METRICS_PORT: '0' };
  if (kind === 'mariadb') {
    const test = await createTestDatabase('mariadb');
    const url = new URL(process.env.DATABASE_URL!);
    url.pathname = `/${test.config.kind === 'mariadb' ? test.config.database : ''}`;
    env.DATABASE_URL = url.toString();
    env.SECRET_KEY = 'bench-secret-key-'.padEnd(40, 'x');
    await test.database.close();
    drop = () => test.drop();
  }
  let bench: BenchGateway | undefined;
  try {
    bench = await startBenchGateway(env);
    const { gateway } = bench;
    await waitReady(gateway);
    const user = randomPubkey();
    await seedVtxos(gateway.database, 200, { owner: user });
    await seedVtxos(gateway.database, 10_000, { perOwner: 10 });
    const context = syntheticContext();
    const [sessionId] = await seedSessions(gateway.database, 100, {
      state: 'confirmed',
      contextJson: context,
      owner: user,
    });
    await seedSessions(gateway.database, 900, { state: 'confirmed', contextJson: context });
    const endpoints: [string, string][] = [
      ['/vtxos/user/{pk}', `${gateway.httpUrl}/vtxos/user/${user}`],
      ['/sessions/{id}', `${gateway.httpUrl}/sessions/${sessionId}`],
      ['/health', `${gateway.httpUrl}/health`],
      ['/metrics', gateway.metricsUrl!],
    ];
    const rows: Row[] = [];
    for (const [name, url] of endpoints.filter(
      ([name]) => !ONLY || ONLY.some((part) => name.includes(part)),
    )) {
      const probe = await fetch(url);
      if (!probe.ok) throw new Error(`${name} answered ${probe.status}: ${await probe.text()}`);
      console.log(`${kind}: ${name} for ${SECONDS} s, ${CONNECTIONS} connections …`);
      const cpu = process.cpuUsage();
      const started = performance.now();
      const result = await cannon(url);
      const used = process.cpuUsage(cpu);
      rows.push({
        database: kind,
        endpoint: name,
        req_per_s: result.requests.average,
        p50_ms: result.latency.p50,
        p99_ms: result.latency.p99,
        non2xx: result.non2xx,
        errors: result.errors + result.timeouts,
        gateway_cpu_cores: (used.user + used.system) / 1000 / (performance.now() - started),
      });
    }
    return rows;
  } finally {
    await bench?.close();
    await drop?.();
  }
}

const rows = [...(await benchOne('sqlite')), ...(process.env.DATABASE_URL ? await benchOne('mariadb') : [])];
table(
  `Read API (autocannon ${CONNECTIONS} connections, ${SECONDS} s each, in a child process; 2 shared cores)`,
  ['database', 'endpoint', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', 'errors', 'gateway cores'],
  rows.map((r) => [
    r.database,
    r.endpoint,
    Math.round(r.req_per_s),
    ms(r.p50_ms, 0),
    ms(r.p99_ms, 0),
    r.non2xx,
    r.errors,
    ms(r.gateway_cpu_cores, 2),
  ]),
);
const user = rows.find((r) => r.database === 'sqlite' && r.endpoint === '/vtxos/user/{pk}');
const targets: Target[] = user
  ? [
      {
        name: '/vtxos/user/{pk} on SQLite',
        target: '≥ 5 000 req/s',
        measured: `${Math.round(user.req_per_s)} req/s`,
        pass: user.req_per_s >= 5_000 && user.non2xx === 0,
      },
    ]
  : [];
if (!process.env.DATABASE_URL) console.log('\nDATABASE_URL is not set: MariaDB skipped.');
printTargets(targets);
writeResult('read-api', {
  settings: {
    seconds: SECONDS,
    connections: CONNECTIONS,
    user_vtxos: 200,
    other_vtxos: 10_000,
    sessions: 1_000,
  },
  rows,
  targets,
});
process.exit(0);
