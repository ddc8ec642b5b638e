// Outages under the production shape: two `arkrelay serve`, two `arkrelay worker` and one
// `arkrelay scheduler` process share MariaDB (through a TCP proxy the test can cut), a private
// Redis the test can kill, the simulated daemons' world in one DATA_DIR, and a relay.
//
// Under protocol v1.0 a 20 s Redis outage let sessions expire after their Ark tx had reached the
// Ark server: the ledger called the inputs spendable while the server held them pending, and the
// next lifts that picked those inventory VTXOs stayed uncredited. v1.1 forbids that: a timeout
// fails a session only before submission; a submitted one keeps its locks until it settles.
//
// A Redis outage alone no longer leaves anything in `submitted` (submission, finalization and
// settlement run in the job that records the answer, without Redis), so the test adds the case
// that does: a gateway process that dies right after SubmitTx. It is a sixth process, `arkrelay
// dev` on the same database and world with TEST_CRASH_AFTER=server_signed, that one wallet alone
// reaches (through a relay of its own); it takes that wallet's transfer past SubmitTx during the
// outage and dies. Nobody can resume the session before Redis is back (the sweep is a job), and
// by then its 30 s deadline has passed — what v1.0 turned into an expiry.
//
// The database outage cuts every process off MariaDB at a TCP proxy (other suites share the
// server) while transfers are in flight, twice.
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logging.ts';
import type { EmbeddedRelay } from '../../src/nostr/embedded-relay.ts';
import type { SessionState } from '../../src/store/schema.ts';
import { addInventory, fund, gbtcReady } from '../ceremony/support.ts';
import { startRelay, waitReady } from '../nostr/support.ts';
import { ArkServerView } from '../support/ark-server-view.ts';
import { tempDir } from '../support/cli.ts';
import { freePort, PrivateRedis } from '../support/redis-server.ts';
import { mirrorAuthor } from '../support/relay-mirror.ts';
import { queryRelay } from '../support/relay-query.ts';
import { SIMULATED_DAEMONS } from '../support/production-env.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';
import { createTestDatabase, mariadbAvailable, type TestDatabase } from '../support/test-database.ts';
import { waitFor } from '../support/wait.ts';
import { AMOUNT, FEE, outcomesOf, Player, type Sent } from './players.ts';
import { complaints, startMember, stopMember, type Member } from './topology.ts';

const ADMIN_KEY = 'outage-test-admin-key-0123456789abcdef';
const STEP_TIMEOUT_S = 10;
const SESSION_TIMEOUT_S = 30; // the smallest allowed
const REDIS_OUTAGE_MS = 20_000;
const OPEN: SessionState[] = ['accepted', 'ark_tx_prepared', 'awaiting_signatures', 'submitted'];
/** Transfers each wallet can make: one VTXO of exactly amount + fee per transfer. */
const FUNDED_TRANSFERS = 6;
const LIFT = 5_000n;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
const settled = (players: readonly Player[]) => players.map((p) => `${p.name}: settled`);

describe.skipIf(!mariadbAvailable || !process.env.REDIS_URL)('outages under a multi-process gateway', () => {
  let base: string;
  let testDb: TestDatabase;
  let proxy: TcpProxy;
  let redis: PrivateRedis;
  let relay: EmbeddedRelay;
  /** The crashing gateway's relay: only its wallet publishes there. */
  let sideRelay: EmbeddedRelay;
  let stopMirror: (() => void) | undefined;
  let server: ArkServerView;
  const members: Member[] = [];
  let api: Member[];
  let crashingGateway: Member;
  // Wallets named by what they do in the Redis outage; all of them take part in every round.
  const prompt = ['prompt-1', 'prompt-2', 'prompt-3'].map((n) => new Player(n));
  const slow = ['slow-1', 'slow-2', 'slow-3'].map((n) => new Player(n));
  const silent = ['silent-1', 'silent-2'].map((n) => new Player(n));
  const edge = new Player('edge');
  const during = ['during-1', 'during-2'].map((n) => new Player(n));
  const everyone = [...prompt, ...slow, ...silent, edge, ...during];
  const crashing = new Player('crashing');

  const db = () => testDb.database.db;
  const admin = async (method: 'GET' | 'POST', path: string) => {
    const response = await fetch(`${api[0]!.url}${path}`, { method, headers: { 'x-admin-key': ADMIN_KEY } });
    expect(response.status, `${method} ${path}`).toBe(200);
    return (await response.json()) as Record<string, unknown>;
  };
  const sessionOf = async (sent: Sent) =>
    (await db()
      .selectFrom('signing_sessions')
      .select(['state', 'ark_txid', 'deadline_at'])
      .where('action_id', '=', sent.actionId)
      .executeTakeFirst())!;
  const openSessions = () =>
    db().selectFrom('signing_sessions').select(['session_id', 'state']).where('state', 'in', OPEN).execute();
  const othersAlive = () => members.filter((m) => m !== crashingGateway && !m.alive()).map((m) => m.name);
  const diagnostics = () =>
    members
      .map((m) => `${m.name} (${m.alive() ? 'alive' : 'exited'}):\n  ${complaints(m).join('\n  ')}`)
      .join('\n');

  async function noSessionOpen(timeoutMs: number): Promise<void> {
    await waitFor(
      async () => (await openSessions()).length === 0 || undefined,
      timeoutMs,
      'every session to end',
    ).catch(async (error: unknown) => {
      const open = JSON.stringify(await openSessions());
      throw new Error(`${(error as Error).message}; still open: ${open}\n${diagnostics()}`);
    });
  }

  /**
   * Once nothing is open the ledger and the Ark server agree: no VTXO the ledger calls spendable
   * is spent or pending at the server, no lock is left, the server holds nothing pending, every
   * session whose Ark tx reached the server is confirmed, the reconciliation finds nothing to
   * correct and the ledger check passes.
   */
  async function expectLedgerFollowsServer(): Promise<void> {
    const rows = await db()
      .selectFrom('vtxos')
      .select(['vtxo_id', 'status'])
      .where('status', 'in', ['available', 'assigned', 'pending_spend'])
      .execute();
    const atServer = server.vtxos(rows.map((r) => r.vtxo_id));
    const disagreements = rows.flatMap((r) => {
      const seen = atServer.get(r.vtxo_id);
      if (!seen) return [`${r.vtxo_id}: ${r.status} in the ledger, unknown to the Ark server`];
      if (seen.spentBy) return [`${r.vtxo_id}: ${r.status} in the ledger, spent by ${seen.spentBy}`];
      if (seen.pendingBy) return [`${r.vtxo_id}: ${r.status} in the ledger, pending in ${seen.pendingBy}`];
      return [];
    });
    expect(disagreements).toEqual([]);
    expect(rows.filter((r) => r.status === 'pending_spend')).toEqual([]);
    expect(server.pendingVtxos()).toEqual([]);

    const sessions = await db()
      .selectFrom('signing_sessions')
      .select(['session_id', 'state', 'ark_txid', 'steps_completed_json'])
      .execute();
    const reachedServer = sessions.filter(
      (s) =>
        (JSON.parse(s.steps_completed_json) as number[]).length > 0 ||
        (s.ark_txid !== null && server.arkTx(s.ark_txid) !== undefined),
    );
    expect(reachedServer.filter((s) => s.state !== 'confirmed')).toEqual([]);

    const reconciled = (await admin('POST', '/admin/ledger/reconcile')) as {
      transactions: { settled: string[]; held: string[] };
      locks: { released: string[]; held: string[] };
      problems: unknown[];
    };
    expect({
      settledTxs: reconciled.transactions.settled,
      heldTxs: reconciled.transactions.held,
      releasedLocks: reconciled.locks.released,
      heldLocks: reconciled.locks.held,
      problems: reconciled.problems,
    }).toEqual({ settledTxs: [], heldTxs: [], releasedLocks: [], heldLocks: [], problems: [] });
    const check = await admin('GET', '/admin/ledger/check');
    expect(check.ok, JSON.stringify(check)).toBe(true);
  }

  /** One transfer from each wallet, answered at once: every one settles. */
  async function everyoneTransfers(): Promise<void> {
    for (const p of everyone) p.mode = 'prompt';
    const sent = await Promise.all(everyone.map((p) => p.transfer()));
    expect(await outcomesOf(sent, 60_000)).toEqual(settled(everyone));
  }

  async function expectPaidLiftCredited(player: Player): Promise<void> {
    const gbtc = async () => {
      const response = await fetch(`${api[1]!.url}/balances/${player.pubkey}`);
      const body = (await response.json()) as { balances: { asset_id: string; available: string }[] };
      return BigInt(body.balances.find((b) => b.asset_id === 'gBTC')?.available ?? '0');
    };
    const before = await gbtc();
    const lift = (await player.wallet.liftLightning('gBTC', LIFT)) as { bolt11: string };
    const paid = await fetch(`${api[0]!.url}/sim/lightning/pay`, {
      method: 'POST',
      headers: { 'x-admin-key': ADMIN_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ invoice: lift.bolt11 }),
    });
    expect(paid.status).toBe(200);
    await waitFor(async () => (await gbtc()) === before + LIFT || undefined, 30_000, 'the lift credited');
  }

  beforeAll(async () => {
    base = tempDir('arkrelay-outage-');
    const dataDir = `${base}/data`;
    testDb = await createTestDatabase('mariadb');
    if (testDb.config.kind !== 'mariadb') throw new Error('expected MariaDB');
    const direct = new URL(process.env.DATABASE_URL!);
    direct.pathname = `/${testDb.config.database}`;
    proxy = new TcpProxy(testDb.config.host, testDb.config.port);
    await proxy.start();
    const viaProxy = new URL(direct);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    redis = new PrivateRedis(await freePort());
    await redis.start();
    relay = await startRelay(`${base}/relay`);
    sideRelay = await startRelay(`${base}/side-relay`);

    const shared = {
      ...SIMULATED_DAEMONS,
      DATABASE_URL: viaProxy.toString(),
      SECRET_KEY: process.env.SECRET_KEY ?? 'outage-test-secret-key-0123456789abcdef',
      DATA_DIR: dataDir,
      METRICS_PORT: '0',
      VTXO_AUTO_START: 'false',
      ADMIN_API_KEY: ADMIN_KEY,
      SESSION_STEP_TIMEOUT_S: String(STEP_TIMEOUT_S),
      SESSION_TIMEOUT_S: String(SESSION_TIMEOUT_S),
      // Six processes on a MariaDB other suites use too.
      DB_POOL_SIZE: '4',
      DB_MAX_OVERFLOW: '4',
      DB_POOL_TIMEOUT_MS: '10000',
      SHUTDOWN_TIMEOUT_MS: '5000',
    };
    const topology = {
      ...shared,
      REDIS_URL: redis.url,
      QUEUE_PREFIX: `outage-${randomBytes(4).toString('hex')}`,
      NOSTR_RELAYS: relay.url,
      CEREMONY_SWEEP_INTERVAL_MS: '1000',
      // An event claimed while Redis was away goes to a worker again after this.
      NOSTR_CLAIM_LEASE_S: '10',
    };

    // Setup in this process, on the same database, world and Redis: gBTC minted, inventory made,
    // every wallet funded through real Ark transactions. It stops before the topology starts.
    const setup = await startGateway(
      loadConfig({
        ...topology,
        DATABASE_URL: direct.toString(),
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'silent',
        LOG_DIR: `${base}/setup-logs`,
        INSTANCE_ID: 'setup',
      }),
      { roles: ['api', 'worker'], logger: createLogger({ level: 'silent' }) },
    );
    let gatewayPubkey: string;
    try {
      await waitReady(setup);
      await gbtcReady(setup);
      await addInventory(setup, 150);
      gatewayPubkey = setup.nostr!.core.keys.active.pubkey;
      for (const p of everyone) {
        await p.connect(gatewayPubkey, [relay.url]);
        for (let i = 0; i < FUNDED_TRANSFERS; i++) await fund(setup, p.pubkey, AMOUNT + FEE);
        await p.wallet.syncState();
      }
      await crashing.connect(gatewayPubkey, [sideRelay.url]);
      await fund(setup, crashing.pubkey, AMOUNT + FEE);
    } finally {
      await setup.stop();
    }

    // Any API process publishes any queued event, to its own relays: the gateway's events are
    // mirrored between the two relays so both sides see them all.
    stopMirror = await mirrorAuthor([relay.url, sideRelay.url], gatewayPubkey);
    const started = await Promise.all([
      startMember('api-1', 'serve', topology, base),
      startMember('api-2', 'serve', topology, base),
      startMember('worker-1', 'worker', topology, base),
      startMember('worker-2', 'worker', topology, base),
      startMember('scheduler', 'scheduler', topology, base),
      // Its own in-process queue (no Redis), its own relay, no sweep or reconciliation of its
      // own, no claims of others: it touches nothing but the crashing wallet's transfer.
      startMember(
        'crashing-gateway',
        'dev',
        {
          ...shared,
          NOSTR_RELAYS: sideRelay.url,
          TEST_CRASH_AFTER: 'server_signed',
          CEREMONY_SWEEP_INTERVAL_MS: '600000',
          LEDGER_RECONCILE_INTERVAL_MS: '86400000',
          NOSTR_CLAIM_LEASE_S: '86400',
          LIGHTNING_AUTO_START: 'false',
        },
        base,
      ),
    ]);
    members.push(...started);
    api = started.slice(0, 2);
    crashingGateway = started[5]!;
    await crashing.wallet.syncState(); // through the one gateway on its relay
    server = new ArkServerView(dataDir);
  }, 240_000);

  afterAll(async () => {
    proxy?.restore(); // a failed test may have left the database cut off
    for (const p of [...everyone, crashing]) p.close();
    await Promise.all(members.map((m) => stopMember(m)));
    stopMirror?.();
    server?.close();
    await redis?.stop();
    await proxy?.close();
    await relay?.stop();
    await sideRelay?.stop();
    await testDb?.drop();
    if (base) rmSync(base, { recursive: true, force: true });
  }, 60_000);

  it('a Redis outage during open sessions: only unsubmitted sessions time out, and the ledger follows the Ark server', async () => {
    const started = Date.now();
    await everyoneTransfers(); // the topology works before anything breaks

    // Sessions in every situation, then Redis goes away.
    for (const p of [...slow, edge, crashing]) p.mode = 'hold';
    for (const p of silent) p.mode = 'silent';
    const crashingSent = await crashing.transfer();
    const promptSent = await Promise.all(prompt.map((p) => p.transfer()));
    const slowSent = await Promise.all(slow.map((p) => p.transfer()));
    const silentSent = await Promise.all(silent.map((p) => p.transfer()));
    const edgeSent = await edge.transfer();
    expect(await outcomesOf(promptSent, 30_000)).toEqual(settled(prompt));
    await waitFor(
      () =>
        [...slow, edge, crashing].every((p) => p.holding === 1) &&
        silent.every((p) => p.challenged.length === 2),
      15_000,
      'the challenges of the held and silent wallets',
    );
    expect((await sessionOf(crashingSent)).state).toBe('awaiting_signatures');

    edge.release(); // an answer on its way as Redis dies
    await redis.stop();
    const outageAt = Date.now();
    // A sweep already running when Redis died finishes with what it read; then nothing moves.
    await sleep(2_000);
    crashing.release();
    const crash = await Promise.race([crashingGateway.run.exited, sleep(20_000).then(() => 'alive')]);
    expect(crash).toEqual({ code: null, signal: 'SIGKILL' });
    // Submitted, its inputs pending at the Ark server, and nobody left to finish it.
    const submitted = await sessionOf(crashingSent);
    expect(submitted.state).toBe('submitted');
    expect(server.arkTx(submitted.ark_txid!)?.state).toBe('pending');
    const duringSent = await Promise.all(during.map((p) => p.transfer()));
    await sleep(outageAt + 4_000 - Date.now());
    for (const p of slow) p.release(); // inside their step deadline, but nothing can take them
    // Redis stays away past the crashed session's deadline, which v1.0 turned into an expiry.
    await sleep(Math.max(outageAt + REDIS_OUTAGE_MS, Number(submitted.deadline_at) + 1_000) - Date.now());
    expect((await sessionOf(crashingSent)).state).toBe('submitted');
    const outageMs = Date.now() - outageAt;
    await redis.start(); // empty: its jobs and schedules are gone
    const restartedAt = Date.now();

    // Every session ends: in time → settled; not in time → 3003; submitted → confirmed.
    expect(await outcomesOf(duringSent, 120_000)).toEqual(settled(during));
    await noSessionOpen(120_000);
    const recoveredMs = Date.now() - restartedAt;
    await expectLedgerFollowsServer();
    expect(await outcomesOf([...slowSent, ...silentSent], 10_000)).toEqual(
      [...slow, ...silent].map((p) => `${p.name}: 3003`),
    );
    expect(await outcomesOf([edgeSent], 10_000)).toEqual([expect.stringMatching(/^edge: (settled|3003)$/)]);
    const confirmed = await sessionOf(crashingSent);
    expect(confirmed.state).toBe('confirmed');
    expect(server.arkTx(confirmed.ark_txid!)?.state).toBe('finalized');
    // Its confirmation is queued with the settlement and published by an API process.
    await waitFor(
      async () =>
        (await queryRelay(relay.url, { kinds: [31340], '#e': [crashingSent.eventId] })).length === 1,
      15_000,
      'the crashed transfer’s confirmation on the relay',
    );

    // After the outage every wallet's next transfer settles, and a paid lift is credited.
    await everyoneTransfers();
    await expectPaidLiftCredited(prompt[0]!);
    await expectLedgerFollowsServer();
    expect(othersAlive()).toEqual([]);
    console.info(
      `redis outage: down ${outageMs} ms; every session ended ${recoveredMs} ms after it returned; ` +
        `test ${Date.now() - started} ms`,
    );
  }, 300_000);

  it('a database outage under load: transfers in flight settle or end with a code, none stuck', async () => {
    const started = Date.now();
    for (const p of everyone) p.mode = 'prompt';
    for (const p of slow) p.mode = 'hold';
    const slowSent = await Promise.all(slow.map((p) => p.transfer()));
    await waitFor(() => slow.every((p) => p.holding === 1), 15_000, 'the slow wallets’ challenges');
    const inFlight = [...prompt, ...silent, edge, ...during];
    const inFlightSent = await Promise.all(inFlight.map((p) => p.transfer()));
    // Cut while those are in flight, let the slow wallets answer during the cut (intake keeps
    // those answers until the database is back; they settle, or end 3003 when handled after the
    // step deadline), and cut again during the recovery.
    await sleep(300);
    const severed = proxy.severed;
    const openAtCut = (await openSessions()).length;
    proxy.cut();
    await sleep(2_000);
    for (const p of slow) p.release();
    await sleep(4_000);
    proxy.restore();
    await sleep(1_000);
    proxy.cut();
    await sleep(4_000);
    proxy.restore();
    expect(proxy.severed).toBeGreaterThan(severed);

    const outcomes = await outcomesOf([...slowSent, ...inFlightSent], 90_000);
    expect(
      outcomes.filter((o) => !/: (settled|\d{4})$/.test(o)),
      diagnostics(),
    ).toEqual([]);
    await noSessionOpen(60_000);
    expect(othersAlive()).toEqual([]);
    await expectLedgerFollowsServer();
    // And the gateway works again.
    await everyoneTransfers();
    await expectLedgerFollowsServer();
    console.info(
      `database outage: ${openAtCut} sessions open at the cut; ${outcomes.join(', ')}; ` +
        `test ${Date.now() - started} ms`,
    );
  }, 240_000);

  // An event that reaches an API process while the database is unreachable cannot be claimed:
  // intake keeps it and claims it once the database answers again.
  it('an intent published while the database is unreachable is answered once it is back', async () => {
    for (const p of during) p.mode = 'prompt';
    proxy.cut();
    const sent = await Promise.all(during.map((p) => p.transfer()));
    await sleep(4_000);
    proxy.restore();
    expect(await outcomesOf(sent, 30_000)).toEqual(settled(during));
  }, 60_000);
});
