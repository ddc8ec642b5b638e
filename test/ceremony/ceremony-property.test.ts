// Property: random interleavings of what happens to signing sessions — transfer intents, honest
// and wrong answers (another key, another digest, another payload_ref), silence, cancels, the same
// intent or response delivered twice, a gateway restart on the same data, arkd calls failing for a
// while (before or after taking effect), time passing — driven against a real gateway (embedded
// relay, simulated daemons; harness in property-gateway.ts). After every action: nothing is locked
// but by an open session, which holds all its inputs; the ledger invariant holds; the ledger never
// calls spendable what the Ark server spent or holds. Each action also checks its own outcome (a
// wrong answer is refused and moves nothing, a cancel before submission wins, a deadline passed
// before submission expires the session). At the end, after a sweep: no session is stuck and every
// ended one said so (one 31340, or one 31341 with its code); then every deadline passes while arkd
// still fails — only submitted sessions remain, inputs held — and once arkd is back they settle,
// leaving nothing open and nothing locked.
//
// Reproduce a failure from what fast-check prints: FC_SEED=<seed> FC_PATH=<path> npx vitest run <this file>.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackendError } from '../../src/backends/types.ts';
import { sweepSessions } from '../../src/ceremony/tasks.ts';
import { mariadbAvailable } from '../support/test-database.ts';
import {
  advanceClock,
  answer,
  ENDED,
  expectAnnounced,
  expectConsistent,
  expectNothingStuck,
  installClock,
  isPreSubmission,
  now,
  propertyStack,
  publish,
  Run,
  WALLETS,
  about,
  type Answer,
  type Fault,
  type Kind,
} from './property-gateway.ts';
import { fund, intentEvent, readyToTransfer } from './support.ts';

const FUNDS = [600n, 400n];
/** Past every session's deadline (SESSION_TIMEOUT_S, 900 s) and its locks' expiry (60 s more). */
const LONG_AFTER_MS = 20 * 60_000;

type Action =
  | { readonly t: 'intent'; readonly from: number; readonly to: number; readonly amount: number }
  | { readonly t: 'answer'; readonly pick: number; readonly how: Answer }
  | { readonly t: 'silent'; readonly wallet: number }
  | { readonly t: 'cancel'; readonly pick: number }
  | { readonly t: 'dupResponse'; readonly pick: number }
  | { readonly t: 'dupIntent'; readonly pick: number }
  | { readonly t: 'restart' }
  | { readonly t: 'fault'; readonly method: Fault; readonly lost: boolean; readonly span: number }
  /** Time passes; `sweep`: the sweep and the VTXO cleanup run at once (else a wallet may answer late). */
  | { readonly t: 'clock'; readonly ms: number; readonly sweep: boolean }
  | { readonly t: 'sweep' }
  | { readonly t: 'reconcile' };

const walletIndex = fc.integer({ min: 0, max: WALLETS - 1 });
const pick = fc.nat(64);
const intent = fc.record({
  t: fc.constant('intent' as const),
  from: walletIndex,
  // Another wallet, or (WALLETS) a stranger's key; never the author (refused before any session).
  to: fc.integer({ min: 1, max: WALLETS }),
  amount: fc.integer({ min: 1, max: 700 }),
});
const fault = fc.record({
  t: fc.constant('fault' as const),
  // finalizeTx twice as often: a failure there leaves the inputs pending at the Ark server.
  method: fc.constantFrom<Fault>('buildTransfer', 'submitTx', 'finalizeTx', 'finalizeTx', 'getPendingTx'),
  lost: fc.constantFrom(false, false, true),
  span: fc.integer({ min: 2, max: 8 }),
});
const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 5, arbitrary: intent },
  {
    weight: 5,
    arbitrary: fc.record({
      t: fc.constant('answer' as const),
      pick,
      how: fc.constantFrom<Answer>('honest', 'honest', 'wrongKey', 'wrongDigest', 'wrongRef'),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('silent' as const), wallet: walletIndex }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('cancel' as const), pick }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('dupResponse' as const), pick }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('dupIntent' as const), pick }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('restart' as const) }) },
  { weight: 3, arbitrary: fault },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('clock' as const),
      // Seconds (step deadlines), or a quarter to a whole hour (session deadlines, lock expiry).
      ms: fc.oneof(
        { weight: 4, arbitrary: fc.integer({ min: 1_000, max: 8_000 }) },
        { weight: 1, arbitrary: fc.integer({ min: 15 * 60_000, max: 60 * 60_000 }) },
      ),
      sweep: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('sweep' as const) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('reconcile' as const) }) },
);
/** A run: an intent first (so most actions have a session to act on), then 4 to 14 actions, now
 * and then an honest answer right into an arkd failure (the path where inputs reach the server). */
const sequence = fc
  .tuple(
    intent,
    fc.array(
      fc.oneof(
        { weight: 9, arbitrary: action.map((a) => [a]) },
        {
          weight: 1,
          arbitrary: fc
            .tuple(fault, pick)
            .map(([f, p]): Action[] => [f, { t: 'answer', pick: p, how: 'honest' }]),
        },
      ),
      { minLength: 4, maxLength: 12 },
    ),
  )
  .map(([first, rest]): Action[] => [first, ...rest.flat().slice(0, 14)]);

async function perform(run: Run, a: Action, when: string): Promise<void> {
  switch (a.t) {
    case 'intent': {
      const from = run.wallets[a.from]!;
      const other = (a.from + a.to) % (WALLETS + 1);
      const to = other < WALLETS ? run.wallets[other]! : run.stranger;
      const event = intentEvent(from, run.gw, {
        type: 'transfer:p2p',
        params: { recipient: to.pubkey, asset_id: 'gBTC', amount: a.amount },
      });
      run.intents.push(event);
      await run.deliver(event);
      // The challenge reached the relay; the wallet has read it (it may answer it late).
      await run.readInbox(from);
      return;
    }
    case 'silent':
      await run.readInbox(run.wallets[a.wallet]!);
      return;
    case 'answer': {
      const waiting = (await run.sessions()).filter((s) => s.state === 'awaiting_signatures');
      if (waiting.length === 0) return;
      const before = waiting[a.pick % waiting.length]!;
      const challenge = await run.challenge(before);
      if (!challenge) return;
      // Real time runs on while the answer travels: within a second of the deadline, either outcome.
      const margin = (await run.challengeExpiry(before.session_id))! - now();
      const late = margin < 0 ? true : margin > 1_000 ? false : undefined;
      const blocked = run.submissionBlocked;
      const event = answer(run.walletOf(before.owner_pubkey), run.gw, challenge, a.how);
      run.responses.push(event);
      await run.deliver(event);
      const after = await run.session(before.session_id);
      if (late === undefined) return;
      if (a.how === 'honest' && !late) {
        // Every signature is there: submitted, and settled unless arkd fails.
        expect(after.state, `${when}: an honest answer`).toBe(blocked ? 'submitted' : 'confirmed');
        return;
      }
      // Refused (3002, or 3003 when late), the step still open, nothing moved.
      expect(after.state, `${when}: a refused answer`).toBe('awaiting_signatures');
      const refusals = (await run.sent(31341)).filter((e) => about(e, event.id));
      expect(refusals.length, `${when}: a 31341 about the refused answer`).toBe(1);
      const body = run.failureBody(refusals[0]!);
      expect([body.code, body.action_id], `${when}: the refusal`).toEqual([
        late ? 3003 : 3002,
        before.action_id,
      ]);
      return;
    }
    case 'cancel': {
      const sessions = await run.sessions();
      if (sessions.length === 0) return;
      const before = sessions[a.pick % sessions.length]!;
      const request = run
        .walletOf(before.owner_pubkey)
        .serviceRequest(run.gw, 'cancel', { action_id: before.action_id });
      await run.deliver(request);
      // Before submission a cancel wins; from submission on it changes nothing.
      expect(
        (await run.session(before.session_id)).state,
        `${when}: cancel of a ${before.state} session`,
      ).toBe(isPreSubmission(before.state) ? 'cancelled' : before.state);
      return;
    }
    case 'dupResponse': {
      if (run.responses.length === 0) return;
      const event = run.responses[a.pick % run.responses.length]!;
      const before = await run.sessions();
      // Through the relay (which may refuse it as a duplicate), and straight to the ceremony, as a
      // reclaimed intake job would deliver it again.
      await publish(run.url, event).catch(() => undefined);
      await run.gateway.ceremony!.responses.onResponse(event, run.gatewayKey);
      await run.quiet();
      expect(await run.sessions(), `${when}: a response delivered again`).toEqual(before);
      return;
    }
    case 'dupIntent': {
      if (run.intents.length === 0) return;
      const event = run.intents[a.pick % run.intents.length]!;
      const before = await run.sessions();
      await publish(run.url, event).catch(() => undefined);
      await run.gateway.ceremony!.admission.onIntent(event, run.gatewayKey);
      await run.quiet();
      const after = await run.sessions();
      // No second session; an ended one stays as it was (an open one may move on: arkd may be back).
      expect(
        after.map((s) => s.session_id),
        `${when}: an intent delivered again`,
      ).toEqual(before.map((s) => s.session_id));
      for (const s of before.filter((x) => ENDED.includes(x.state)))
        expect(
          after.find((x) => x.session_id === s.session_id),
          when,
        ).toEqual(s);
      return;
    }
    case 'restart':
      await run.gateway.stop('property test: restart');
      await run.start();
      return;
    case 'fault':
      run.fault(a.method, a.lost, a.span);
      return;
    case 'clock': {
      const before = await run.sessions();
      advanceClock(a.ms);
      if (!a.sweep) return;
      // What the gateway's timers would have run meanwhile.
      const sweptAt = now();
      await sweepSessions(run.engine);
      await run.gateway.inventory!.cleanup.run();
      await run.quiet();
      const after = await run.sessions();
      for (const s of before) {
        const state = after.find((x) => x.session_id === s.session_id)!.state;
        const late = s.step_deadline_at !== null && s.step_deadline_at <= sweptAt;
        // Past its deadline before submission: expired. Submitted: never failed by a timeout.
        if (isPreSubmission(s.state) && late)
          expect(state, `${when}: ${s.state} past its deadline`).toBe('expired');
        if (s.state === 'submitted')
          expect(['submitted', 'confirmed'], `${when}: submitted`).toContain(state);
      }
      return;
    }
    case 'sweep':
      await sweepSessions(run.engine);
      await run.quiet();
      return;
    case 'reconcile':
      // With arkd down it gives up (its job is retried later); what it did until then must hold.
      await run.gateway.ceremony!.reconciler.run().catch((error: unknown) => {
        if (!(error instanceof BackendError && error.kind === 'unavailable')) throw error;
      });
      await run.quiet();
      return;
  }
}

/** One run: a fresh gateway, funded wallets, the actions, then the end game. */
async function play(kind: Kind, actions: readonly Action[]): Promise<void> {
  const stack = await propertyStack(kind);
  const run = new Run(stack);
  try {
    await run.start();
    await readyToTransfer(run.gateway, 40);
    for (const wallet of run.wallets)
      for (const amount of FUNDS) await fund(run.gateway, wallet.pubkey, amount);
    await expectConsistent(run, 'after funding');

    for (const [i, a] of actions.entries()) {
      const when = `action ${i} ${JSON.stringify(a)}`;
      await perform(run, a, when);
      run.tick();
      await expectConsistent(run, when);
    }

    // The sweep runs, arkd as it is now: nothing is stuck.
    const blocked = run.submissionBlocked;
    const sweptAt = now();
    await sweepSessions(run.engine);
    await run.quiet();
    await expectNothingStuck(run, sweptAt, blocked, 'after the sequence');
    await expectConsistent(run, 'after the sequence');

    // Every deadline passes, and the locks' own expiry, while arkd still fails: what was not
    // submitted has expired; what was submitted waits on, its inputs held.
    const before = await run.sessions();
    advanceClock(LONG_AFTER_MS);
    await sweepSessions(run.engine);
    await run.gateway.inventory!.cleanup.run();
    await run.quiet();
    const after = await run.sessions();
    for (const s of before) {
      const state = after.find((x) => x.session_id === s.session_id)!.state;
      expect(state, `past every deadline: session ${s.session_id}, ${s.state} before`).toBe(
        isPreSubmission(s.state) ? 'expired' : s.state,
      );
    }
    await expectAnnounced(run, after, 'past every deadline');
    await expectConsistent(run, 'past every deadline');

    // arkd is back: the sweep settles what was submitted; nothing is open, nothing is locked.
    run.liftFaults();
    for (let i = 0; i < 3 && (await run.sessions()).some((s) => s.state === 'submitted'); i++) {
      await sweepSessions(run.engine);
      await run.quiet();
    }
    const last = await run.sessions();
    for (const s of after) {
      const state = last.find((x) => x.session_id === s.session_id)!.state;
      expect(state, `arkd back: session ${s.session_id}, ${s.state} before`).toBe(
        s.state === 'submitted' ? 'confirmed' : s.state,
      );
    }
    await expectAnnounced(run, last, 'at the end');
    await expectConsistent(run, 'at the end', true);
    const locked = await run.db
      .selectFrom('vtxos')
      .select(['vtxo_id', 'locked_by_session'])
      .where('status', '=', 'pending_spend')
      .execute();
    expect(locked, 'VTXOs locked once every session ended').toEqual([]);
  } finally {
    await run.stop();
    await stack.drop();
  }
}

const kinds = [
  { kind: 'sqlite', skip: false, runs: 12 },
  { kind: 'mariadb', skip: !mariadbAvailable, runs: 8 },
] as const;

let restoreClock: (() => void) | undefined;
beforeAll(() => {
  restoreClock = installClock();
});
afterAll(() => restoreClock?.());

for (const { kind, skip, runs } of kinds) {
  describe.skipIf(skip)(`signing sessions under random events on ${kind}`, () => {
    it('never leaves a session stuck, a stray lock, or a ledger the Ark server contradicts', async () => {
      await fc.assert(
        fc.asyncProperty(sequence, (actions) => play(kind, actions)),
        {
          numRuns: runs,
          // Each run starts a gateway: bound the shrinking, so a failure is reported in time.
          plugins: [fc.interruptAfterTimeLimit(240_000)],
          ...(process.env.FC_SEED
            ? { seed: Number(process.env.FC_SEED), path: process.env.FC_PATH, endOnFailure: true }
            : {}),
        },
      );
    }, 300_000);
  });
}
