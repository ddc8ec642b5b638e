// The harness of ceremony-property.test.ts: one gateway on its own data (SQLite, or MariaDB and
// BullMQ when DATABASE_URL / REDIS_URL are set) with wallets that answer its challenges, arkd
// failures injected and lifted, a clock that jumps, and the checks that must hold whatever the
// sequence of events was.
import { randomBytes, randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { schnorr } from '@noble/curves/secp256k1.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { finalizeEvent, generateSecretKey, nip44, type Event } from 'nostr-tools';
import { Relay } from 'nostr-tools/relay';
import { expect } from 'vitest';
import type { Gateway } from '../../src/app.ts';
import type { ArkBackend, ArkVtxo, VtxoFilter } from '../../src/backends/ark/ark-backend.ts';
import { BackendError } from '../../src/backends/types.ts';
import { OPEN_STATES, PRE_SUBMISSION_STATES } from '../../src/ceremony/records.ts';
import { checkLedger, ledgerCheckJson } from '../../src/ledger/invariant.ts';
import type { SessionState } from '../../src/store/schema.ts';
import { redisAvailable, startTestGateway, waitReady, Wallet, type SharedStack } from '../nostr/support.ts';
import { tempDir } from '../support/cli.ts';
import { advanceClock, installClock, now } from '../support/clock.ts';
import { createTestDatabase } from '../support/test-database.ts';
import { waitFor } from '../support/wait.ts';
import { challenges, type Challenge } from './naive-signer.ts';

export const WALLETS = 3;
const STEP_TIMEOUT_MS = 5_000;

// --- the clock ---------------------------------------------------------------------------------
// Installed before any gateway starts, it lets a test jump past deadlines instead of sleeping
// through them (test/support/clock.ts).

export { advanceClock, installClock, now };

// --- the stack ---------------------------------------------------------------------------------

export type Kind = 'sqlite' | 'mariadb';

/** A fresh data directory, and on MariaDB a fresh database (and queue prefix, with Redis). */
export async function propertyStack(kind: Kind): Promise<SharedStack> {
  const dataDir = tempDir('arkrelay-ceremony-prop-');
  const env: Record<string, string> = { DATA_DIR: dataDir };
  const removeDir = () => rmSync(dataDir, { recursive: true, force: true });
  if (kind === 'sqlite') return { env, dataDir, drop: async () => removeDir() };
  const test = await createTestDatabase('mariadb');
  const url = new URL(process.env.DATABASE_URL!);
  url.pathname = `/${test.config.kind === 'mariadb' ? test.config.database : ''}`;
  env.DATABASE_URL = url.toString();
  env.SECRET_KEY = process.env.SECRET_KEY ?? 'test-secret-key-'.padEnd(40, 'x');
  if (redisAvailable) {
    env.REDIS_URL = process.env.REDIS_URL!;
    env.QUEUE_PREFIX = `cprop-${randomBytes(4).toString('hex')}`;
  }
  return {
    env,
    dataDir,
    drop: async () => {
      await test.drop();
      removeDir();
    },
  };
}

const GATEWAY_ENV = {
  SESSION_STEP_TIMEOUT_S: String(STEP_TIMEOUT_MS / 1000),
  // The sweep and the reconciliation run when a test says so, not on timers.
  CEREMONY_SWEEP_INTERVAL_MS: '600000',
  LEDGER_RECONCILE_INTERVAL_MS: '86400000',
  // The abuse limits are tested elsewhere; here they would only cut sequences short.
  SESSION_MAX_OPEN_PER_AUTHOR: '100',
  SESSION_MAX_INVENTORY_PER_AUTHOR: '100',
  SESSION_MAX_ABANDONED_PER_HOUR: '1000',
  NOSTR_RATE_LIMIT_PER_MINUTE: '10000',
};

// --- wallets -----------------------------------------------------------------------------------

export type Answer = 'honest' | 'wrongKey' | 'wrongDigest' | 'wrongRef';

/** A 31512 for `challenge`, honest or wrong in one way; its `d` unique per answer, as the protocol asks. */
export function answer(wallet: Wallet, gateway: string, challenge: Challenge, how: Answer): Event {
  const signer = how === 'wrongKey' ? generateSecretKey() : wallet.secret;
  const body = {
    session_id: challenge.body.session_id,
    step: challenge.body.step,
    payload_ref: how === 'wrongRef' ? 'ab'.repeat(32) : challenge.body.payload_ref,
    signatures: challenge.body.sighashes.map((s) => ({
      input_index: s.input_index,
      psbt_index: s.psbt_index,
      sig: bytesToHex(schnorr.sign(hexToBytes(how === 'wrongDigest' ? '07'.repeat(32) : s.digest), signer)),
    })),
  };
  return finalizeEvent(
    {
      kind: 31512,
      created_at: Math.floor(now() / 1000),
      tags: [
        ['p', gateway],
        ['e', challenge.event.id],
        ['d', `${challenge.body.session_id}:${challenge.body.step}:${randomUUID()}`],
      ],
      content: nip44.encrypt(JSON.stringify(body), nip44.getConversationKey(wallet.secret, gateway)),
    },
    wallet.secret,
  );
}

// --- one run -----------------------------------------------------------------------------------

export type Fault = 'buildTransfer' | 'submitTx' | 'finalizeTx' | 'getPendingTx';

export interface SessionRow {
  readonly session_id: string;
  readonly owner_pubkey: string;
  readonly action_id: string | null;
  readonly intent_event_id: string | null;
  readonly state: SessionState;
  readonly step_deadline_at: number | null;
  readonly error_code: number | null;
  readonly ark_txid: string | null;
}

export const ENDED: readonly SessionState[] = ['confirmed', 'failed', 'expired', 'cancelled'];
export const isPreSubmission = (state: SessionState): boolean =>
  (PRE_SUBMISSION_STATES as readonly string[]).includes(state);
/** The event is about `id` (e-tags it). */
export const about = (event: Event, id: string): boolean =>
  event.tags.some((t) => t[0] === 'e' && t[1] === id);

export async function publish(url: string, event: Event): Promise<void> {
  const relay = await Relay.connect(url);
  try {
    await relay.publish(event);
  } finally {
    relay.close();
  }
}

export class Run {
  gateway!: Gateway;
  url = '';
  gw = '';
  readonly wallets = Array.from({ length: WALLETS }, () => new Wallet());
  readonly stranger = new Wallet();
  readonly intents: Event[] = [];
  readonly responses: Event[] = [];
  /** Challenges the wallets have read, by session: a wallet may answer one after its deadline. */
  readonly read = new Map<string, Challenge>();
  /** Injected arkd failures and how many more actions each lasts. */
  readonly faults = new Map<Fault, { lost: boolean; left: number }>();
  readonly #stack: SharedStack;

  constructor(stack: SharedStack) {
    this.#stack = stack;
  }

  get db() {
    return this.gateway.database.db;
  }

  get engine() {
    return this.gateway.ceremony!.engine;
  }

  get gatewayKey() {
    return this.gateway.nostr!.core.keys.active;
  }

  walletOf(pubkey: string): Wallet {
    const wallet = this.wallets.find((w) => w.pubkey === pubkey);
    if (!wallet) throw new Error(`no wallet ${pubkey}`);
    return wallet;
  }

  /** A gateway on the run's data; the one before it (a restart) must have stopped. */
  async start(): Promise<void> {
    this.gateway = await startTestGateway({ stack: this.#stack, env: GATEWAY_ENV });
    await waitReady(this.gateway);
    // The embedded relay keeps its events in DATA_DIR but gets a new port.
    this.url = this.gateway.nostr!.embeddedRelayUrl!;
    this.gw = this.gatewayKey.pubkey;
    for (const method of this.faults.keys()) this.#inject(method);
    await this.quiet();
  }

  async stop(): Promise<void> {
    this.liftFaults();
    await this.gateway?.stop('property run over');
  }

  // --- arkd ------------------------------------------------------------------------------------

  /** The Ark server as it is, whatever failure is injected (the checks read through this). */
  async serverVtxos(filter: VtxoFilter): Promise<ArkVtxo[]> {
    const ark = this.gateway.backends.ark;
    return (Object.getPrototypeOf(ark) as ArkBackend).listVtxos.call(ark, filter);
  }

  /** arkd's `method` fails (`unavailable`) for the next `span` actions; `lost`: after taking effect. */
  fault(method: Fault, lost: boolean, span: number): void {
    this.faults.set(method, { lost, left: span + 1 });
    this.#inject(method);
  }

  #inject(method: Fault): void {
    // An own property shadows the simulator's method; deleting it restores the real one.
    const ark = this.gateway.backends.ark as unknown as Record<
      string,
      (...args: unknown[]) => Promise<unknown>
    >;
    const real = (Object.getPrototypeOf(ark) as typeof ark)[method]!;
    ark[method] = async (...args) => {
      const fault = this.faults.get(method);
      if (fault?.lost && (method === 'submitTx' || method === 'finalizeTx')) await real.apply(ark, args);
      throw new BackendError('arkd', 'unavailable', `arkd is down (${method}, injected by the test)`);
    };
  }

  /** One action has passed: the failures whose span is over are lifted. */
  tick(): void {
    for (const [method, fault] of this.faults) {
      if (--fault.left > 0) continue;
      this.faults.delete(method);
      delete (this.gateway.backends.ark as unknown as Record<string, unknown>)[method];
    }
  }

  liftFaults(): void {
    if (this.gateway) {
      for (const method of this.faults.keys())
        delete (this.gateway.backends.ark as unknown as Record<string, unknown>)[method];
    }
    this.faults.clear();
  }

  /** A submitted session cannot settle now: arkd fails a call it needs (before taking effect). */
  get submissionBlocked(): boolean {
    return [...this.faults].some(
      ([method, f]) => method === 'getPendingTx' || (method !== 'buildTransfer' && !f.lost),
    );
  }

  // --- the gateway at rest -----------------------------------------------------------------------

  /** No job waiting or running: what the gateway does in the background is done. */
  async quiet(): Promise<void> {
    let calm = 0;
    await waitFor(
      async () => {
        const stats = await this.gateway.queue.stats();
        const busy = Object.values(stats).some((c) => c.waiting + c.active > 0);
        calm = busy ? 0 : calm + 1;
        return calm >= 2 || undefined;
      },
      30_000,
      'the job queue to be idle',
    );
  }

  /** Publishes `event` to the relay and waits until the gateway handled it (its claim is done). */
  async deliver(event: Event): Promise<void> {
    await publish(this.url, event);
    await waitFor(
      async () =>
        (
          await this.db
            .selectFrom('processed_events')
            .select('status')
            .where('event_id', '=', event.id)
            .executeTakeFirst()
        )?.status === 'done' || undefined,
      20_000,
      `the gateway to handle kind ${event.kind} ${event.id.slice(0, 8)}`,
    );
    await this.quiet();
  }

  async sessions(): Promise<SessionRow[]> {
    const rows = await this.db
      .selectFrom('signing_sessions')
      .select([
        'session_id',
        'owner_pubkey',
        'action_id',
        'intent_event_id',
        'state',
        'step_deadline_at',
        'error_code',
        'ark_txid',
      ])
      .orderBy('created_at')
      .orderBy('session_id')
      .execute();
    return rows.map((r) => ({
      ...r,
      step_deadline_at: r.step_deadline_at === null ? null : Number(r.step_deadline_at),
      error_code: r.error_code === null ? null : Number(r.error_code),
    }));
  }

  async session(sessionId: string): Promise<SessionRow> {
    const found = (await this.sessions()).find((s) => s.session_id === sessionId);
    if (!found) throw new Error(`no session ${sessionId}`);
    return found;
  }

  /** When the session's challenge expires (unix ms). */
  async challengeExpiry(sessionId: string): Promise<number | undefined> {
    const row = await this.db
      .selectFrom('signing_challenges')
      .select('expires_at')
      .where('session_id', '=', sessionId)
      .executeTakeFirst();
    return row && Number(row.expires_at);
  }

  /** The challenge as its wallet reads it from the relay; undefined if it expired unread. */
  async challenge(session: SessionRow): Promise<Challenge | undefined> {
    const known = this.read.get(session.session_id);
    if (known) return known;
    // Past its expiration the relay no longer serves it (NIP-40).
    const expiresAt = await this.challengeExpiry(session.session_id);
    if (expiresAt === undefined || expiresAt <= now() + 1_000) return undefined;
    const wallet = this.walletOf(session.owner_pubkey);
    const found = await waitFor(
      async () => (await challenges(this.url, wallet)).find((c) => c.body.session_id === session.session_id),
      10_000,
      `the 31511 of session ${session.session_id} on the relay`,
    );
    this.read.set(session.session_id, found);
    return found;
  }

  /** The wallet reads every open challenge it has not read yet. */
  async readInbox(wallet: Wallet): Promise<void> {
    for (const s of await this.sessions())
      if (s.owner_pubkey === wallet.pubkey && s.state === 'awaiting_signatures') await this.challenge(s);
  }

  /** Every event of `kind` the gateway queued to publish. */
  async sent(kind: 31340 | 31341): Promise<Event[]> {
    const rows = await this.db
      .selectFrom('nostr_outbox')
      .select('event_json')
      .where('kind', '=', kind)
      .execute();
    return rows.map((r) => JSON.parse(r.event_json) as Event);
  }

  /** The decrypted body of a 31341 to one of the run's wallets. */
  failureBody(notice: Event): { action_id: string | null; code: number; details: { session_id?: string } } {
    const to = notice.tags.find((t) => t[0] === 'p')![1]!;
    return JSON.parse(this.walletOf(to).decrypt(notice.pubkey, notice.content).plaintext) as ReturnType<
      Run['failureBody']
    >;
  }
}

// --- the checks ------------------------------------------------------------------------------------

/**
 * What holds at every quiet moment: nothing is locked but by an open session, an open session
 * holds every input of its plan, the ledger invariant holds, and the ledger agrees with the Ark
 * server — never spendable what the server spent or holds pending, and spent what the server
 * spent (`settled`: no lag allowed; else a submitted session may learn of a finalization whose
 * answer arkd lost only when arkd next answers it).
 */
export async function expectConsistent(run: Run, when: string, settled = false): Promise<void> {
  const sessions = await run.sessions();
  const stateOf = new Map(sessions.map((s) => [s.session_id, s.state]));
  const open = sessions.filter((s) => OPEN_STATES.includes(s.state)).map((s) => s.session_id);
  const vtxos = await run.db
    .selectFrom('vtxos')
    .select(['vtxo_id', 'txid', 'vout', 'status', 'locked_by_session'])
    .execute();
  const byId = new Map(vtxos.map((v) => [v.vtxo_id, v]));

  const stray = vtxos
    .filter((v) => v.status === 'pending_spend' && !open.includes(v.locked_by_session ?? ''))
    .map(
      (v) => `${v.vtxo_id} by ${v.locked_by_session} (${stateOf.get(v.locked_by_session ?? '') ?? 'none'})`,
    );
  if (stray.length > 0) expect.fail(`${when}: VTXOs locked by no open session:\n${stray.join('\n')}`);

  // A submitted session's inputs may be at the Ark server: only settlement or the reconciliation
  // may free them, never a lock expiry.
  const unheld: string[] = [];
  for (const id of open) {
    const session = await run.engine.records.session(id);
    for (const input of session?.plan?.inputs ?? []) {
      const v = byId.get(input.vtxoId);
      if (v?.status !== 'pending_spend' || v.locked_by_session !== id)
        unheld.push(`${input.vtxoId} of ${session!.state} ${id}: ${v?.status} by ${v?.locked_by_session}`);
    }
  }
  if (unheld.length > 0) expect.fail(`${when}: inputs of open sessions not held:\n${unheld.join('\n')}`);

  const report = await checkLedger(run.gateway.database);
  if (!report.ok) expect.fail(`${when}: ledger check: ${JSON.stringify(ledgerCheckJson(report), null, 2)}`);

  const server = new Map(
    (await run.serverVtxos({ outpoints: vtxos.map((v) => ({ txid: v.txid, vout: Number(v.vout) })) })).map(
      (v) => [`${v.outpoint.txid}:${v.outpoint.vout}`, v],
    ),
  );
  const wrong: string[] = [];
  for (const v of vtxos) {
    const s = server.get(v.vtxo_id);
    const ledger = `${v.vtxo_id} is ${v.status} in the ledger`;
    if (v.status === 'assigned' || v.status === 'available') {
      if (!s) wrong.push(`${ledger}, unknown to the Ark server`);
      else if (s.spent) wrong.push(`${ledger}, spent by ${s.spentBy} at the Ark server`);
      else if (s.pendingBy) wrong.push(`${ledger}, pending in ${s.pendingBy} at the Ark server`);
    } else if (s?.spent && v.status !== 'spent') {
      const lag =
        !settled && v.status === 'pending_spend' && stateOf.get(v.locked_by_session ?? '') === 'submitted';
      if (!lag) wrong.push(`${ledger}, spent by ${s.spentBy} at the Ark server`);
    }
  }
  if (wrong.length > 0) expect.fail(`${when}: the ledger contradicts the Ark server:\n${wrong.join('\n')}`);
}

/** Every ended session said so, once: one 31340 when confirmed, else one 31341 with its code. */
export async function expectAnnounced(
  run: Run,
  sessions: readonly SessionRow[],
  when: string,
): Promise<void> {
  const confirmations = await run.sent(31340);
  const failures = await run.sent(31341);
  for (const s of sessions.filter((x) => ENDED.includes(x.state))) {
    const what = `${when}: session ${s.session_id} (${s.state})`;
    const confirmed = confirmations.filter((e) => about(e, s.intent_event_id!));
    const failed = failures.filter((e) => about(e, s.intent_event_id!));
    if (s.state === 'confirmed') {
      expect(confirmed.length, `${what}: its 31340s`).toBe(1);
      const body = JSON.parse(confirmed[0]!.content) as { action_ids: string[]; ark_txid: string };
      expect([body.action_ids.includes(s.action_id!), body.ark_txid], `${what}: its 31340`).toEqual([
        true,
        s.ark_txid,
      ]);
      expect(failed, `${what}: a 31341 about a confirmed session`).toEqual([]);
    } else {
      expect(failed.length, `${what}: its 31341s`).toBe(1);
      expect(confirmed, `${what}: a 31340 about a session that did not settle`).toEqual([]);
      const notice = run.failureBody(failed[0]!);
      expect(
        [notice.action_id, notice.code, notice.details.session_id],
        `${what}: its 31341 names it, with its code`,
      ).toEqual([s.action_id, s.error_code, s.session_id]);
    }
  }
}

/**
 * Nothing stuck after a sweep at `sweptAt`: an open session waits within a step deadline still
 * ahead, or is submitted while arkd keeps it from settling (`blocked`); an ended one said so; and
 * every intent got an answer (a session, or a 31341).
 */
export async function expectNothingStuck(
  run: Run,
  sweptAt: number,
  blocked: boolean,
  when: string,
): Promise<void> {
  const sessions = await run.sessions();
  for (const s of sessions) {
    if (ENDED.includes(s.state) || (s.state === 'submitted' && blocked)) continue;
    const what = `${when}: session ${s.session_id} is ${s.state}`;
    expect(isPreSubmission(s.state), `${what} after the sweep`).toBe(true);
    expect(s.step_deadline_at, `${what} without a step deadline`).not.toBeNull();
    expect(s.step_deadline_at!, `${what} past its step deadline`).toBeGreaterThan(sweptAt);
  }
  await expectAnnounced(run, sessions, when);
  const failures = await run.sent(31341);
  for (const intent of run.intents) {
    const answered =
      sessions.some((s) => s.intent_event_id === intent.id) || failures.some((e) => about(e, intent.id));
    expect(answered, `${when}: intent ${intent.id} has neither a session nor a 31341`).toBe(true);
  }
}
