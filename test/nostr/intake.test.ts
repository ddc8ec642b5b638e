// Intake on its own, with a core whose claim store and job queue the test controls: what it
// answers at once (a request without its d tag, a created_at far off the clock), what it never
// records (a rate-limited event, handled when it comes again), and what it holds while the
// database or the job queue is away (handled within a second of their return; the relay cursor
// held back meanwhile).
import { finalizeEvent, generateSecretKey } from 'nostr-tools';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ProtocolError } from '../../src/domain/error-codes.ts';
import type { NostrEvent } from '../../src/domain/nostr-protocol.ts';
import { createLogger } from '../../src/logging.ts';
import type { NostrCore } from '../../src/nostr/core.ts';
import { Intake } from '../../src/nostr/intake.ts';
import type { JobQueue } from '../../src/jobs/queue.ts';

const GATEWAY = 'ab'.repeat(32);
const secret = generateSecretKey();

function request(options: { d?: boolean; createdAt?: number } = {}): NostrEvent {
  return finalizeEvent(
    {
      kind: 31500,
      created_at: options.createdAt ?? Math.floor(Date.now() / 1000),
      tags: [['p', GATEWAY], ...(options.d === false ? [] : [['d', `req-${Math.random()}`]])],
      content: 'opaque',
    },
    secret,
  ) as NostrEvent;
}

/** A core with the parts intake uses; `claimFails`/`queueFails` play a dependency that is away. */
function harness(rateLimitPerMinute = 60) {
  const state = { claimFails: false, queueFails: false };
  const claimed = new Set<string>();
  const enqueued: string[] = [];
  const rejected: { event: string; code: number }[] = [];
  const key = { pubkey: GATEWAY, status: 'active' };
  const core = {
    config: {
      nostr: { rateLimitPerMinute, maxEventBytes: 65_536, catchUpWindowS: 600 },
      intents: { maxLifetimeS: 3_600 },
    },
    keys: { pubkeys: [GATEWAY], keys: [key], active: key },
    claims: {
      async claim(event: NostrEvent) {
        if (state.claimFails)
          throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
        if (claimed.has(event.id)) return { outcome: 'processing' };
        claimed.add(event.id);
        return { outcome: 'claimed', attempt: 1 };
      },
    },
    publisher: {
      send: async () => undefined,
      rejection(event: NostrEvent, _key: unknown, error: ProtocolError) {
        rejected.push({ event: event.id, code: error.code });
        return { id: `reply-${event.id}` } as NostrEvent;
      },
    },
    complete: async () => true,
  } as unknown as NostrCore;
  const queue = {
    async enqueue(_task: string, data: { event: NostrEvent }) {
      if (state.queueFails) throw new Error('Connection is closed.');
      enqueued.push(data.event.id);
    },
  } as unknown as JobQueue;
  const intake = new Intake({
    core,
    queue,
    instanceId: 'test',
    logger: createLogger({ level: 'silent' }),
    resend: () => undefined,
  });
  return { intake, state, enqueued, rejected };
}

describe('intake', () => {
  let h: ReturnType<typeof harness>;
  beforeEach(() => {
    h = harness();
  });
  afterEach(() => {
    h.intake.stop();
    vi.useRealTimers();
  });

  it('answers a service request without its d tag with 1002, at once', async () => {
    const event = request({ d: false });
    expect(await h.intake.receive(event)).toBe(event.created_at);
    expect(h.rejected).toEqual([{ event: event.id, code: 1002 }]);
    expect(h.enqueued).toEqual([]);
  });

  it.each([
    ['an hour and more in the past', -(3_600 + 601)],
    ['more than the catch-up window ahead', 601],
  ])('answers an event created %s with 1003, not silence', async (_name, offsetS) => {
    const event = request({ createdAt: Math.floor(Date.now() / 1000) + offsetS });
    await h.intake.receive(event);
    expect(h.rejected).toEqual([{ event: event.id, code: 1003 }]);
  });

  it('handles a rate-limited event when it comes again after the window', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    h = harness(1);
    const first = request();
    const limited = request();
    await h.intake.receive(first);
    // Refused with 1008 and not recorded: the cursor does not move past it.
    expect(await h.intake.receive(limited)).toBeUndefined();
    expect(h.rejected).toEqual([{ event: limited.id, code: 1008 }]);
    vi.setSystemTime(Date.now() + 61_000);
    expect(await h.intake.receive(limited)).toBe(limited.created_at);
    expect(h.enqueued).toEqual([first.id, limited.id]);
  });

  it.each([
    ['the database (the claim)', 'claimFails'],
    ['the job queue (after the claim)', 'queueFails'],
  ] as const)(
    'holds an event while %s is away and hands it on within a second of its return',
    async (_n, what) => {
      // The retries run on timers: faked, so the outage and the backoff take no wall-clock time
      // and the bound below is exact, whatever the load of the machine.
      vi.useFakeTimers();
      h.state[what] = true;
      const event = request();
      expect(await h.intake.receive(event)).toBeUndefined();
      expect([h.intake.waiting, h.intake.oldestHeld()]).toEqual([1, event.created_at]);
      // 1.2 s of outage: the retry at 0.5 s fails, the next one is due at 1.5 s.
      await vi.advanceTimersByTimeAsync(1_200);
      expect(h.enqueued).toEqual([]);
      expect(h.intake.waiting).toBe(1);
      h.state[what] = false;
      // Retries back off from 0.5 s, doubling to at most 15 s: after 1.2 s of outage the event
      // is handed on within the next second.
      await vi.advanceTimersByTimeAsync(1_000);
      expect(h.enqueued).toEqual([event.id]);
      expect([h.intake.waiting, h.intake.oldestHeld()]).toEqual([0, undefined]);
    },
  );
});
