import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/backends/resilience/clock.ts';
import { classifyTransportError, type Classified } from '../../../src/backends/resilience/errors.ts';
import { DaemonGuard } from '../../../src/backends/resilience/guard.ts';
import { BackendError } from '../../../src/backends/types.ts';

const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
const rejected = Object.assign(new Error('bad request'), { status: 400 });

function classify(error: unknown): Classified {
  const transport = classifyTransportError(error);
  if (transport) return transport;
  if ((error as { status?: number }).status === 400)
    return { kind: 'rejected', message: 'bad request', daemonCode: '400' };
  return { kind: 'internal', message: String(error) };
}

function setup(timeoutMs = 1_000) {
  const clock = new ManualClock(0);
  const guard = new DaemonGuard({ daemon: 'tapd', timeoutMs, clock, classify, retry: { attempts: 4 } });
  return { clock, guard };
}

/** A call whose attempts fail with the given errors in turn, then succeed. */
function script(...failures: unknown[]) {
  const times: number[] = [];
  let calls = 0;
  return {
    times,
    get calls() {
      return calls;
    },
    fn: (clock: ManualClock) => async () => {
      times.push(clock.now());
      const failure = failures[calls++];
      if (failure) throw failure;
      return 'ok';
    },
  };
}

async function settle<T>(promise: Promise<T>, clock: ManualClock, ms: number): Promise<T | unknown> {
  const outcome = promise.then(
    (v) => v,
    (e: unknown) => e,
  );
  await clock.advance(ms);
  return outcome;
}

describe('DaemonGuard', () => {
  it('retries a retryable failure after 1 s, 2 s, 4 s and then succeeds', async () => {
    const { clock, guard } = setup();
    const s = script(refused, reset, reset);
    const result = await settle(guard.call('GetInfo', s.fn(clock)), clock, 10_000);
    expect(result).toBe('ok');
    expect(s.times).toEqual([0, 1_000, 3_000, 7_000]);
    expect(guard.status().breaker.consecutiveFailures).toBe(0);
  });

  it('gives up after the configured attempts with a 5004-mapped unavailable error', async () => {
    const { clock, guard } = setup();
    const s = script(reset, reset, reset, reset, reset);
    const error = await settle(guard.call('GetInfo', s.fn(clock)), clock, 60_000);
    expect(s.calls).toBe(4);
    expect(error).toBeInstanceOf(BackendError);
    const e = error as BackendError;
    expect(e).toMatchObject({ backend: 'tapd', kind: 'unavailable', daemonCode: 'ECONNRESET' });
    expect(e.message).toMatch(/^tapd GetInfo: /);
    expect(e.toProtocolError().code).toBe(5004);
  });

  it('never retries a rejection, and a rejection does not count toward the breaker', async () => {
    const { clock, guard } = setup();
    const s = script(rejected);
    const error = (await settle(guard.call('Send', s.fn(clock)), clock, 60_000)) as BackendError;
    expect(s.calls).toBe(1);
    expect(error.kind).toBe('rejected');
    expect(error.retryable).toBe(false);
    expect(error.toProtocolError().code).toBe(5002);
    expect(guard.status().breaker.consecutiveFailures).toBe(0);
    expect(guard.status().lastError).toMatchObject({ kind: 'rejected', atMs: 0 });
  });

  it('retries a non-idempotent call only when the request never left', async () => {
    const { clock, guard } = setup();
    const notSent = script(refused);
    expect(await settle(guard.call('Pay', notSent.fn(clock), { idempotent: false }), clock, 5_000)).toBe(
      'ok',
    );
    expect(notSent.calls).toBe(2);

    const midCall = script(reset);
    const error = (await settle(
      guard.call('Pay', midCall.fn(clock), { idempotent: false }),
      clock,
      5_000,
    )) as BackendError;
    expect(midCall.calls).toBe(1);
    expect(error.kind).toBe('unavailable');
  });

  it('times out each attempt, retries idempotent calls, and reports a timeout', async () => {
    const { clock, guard } = setup(500);
    const starts: number[] = [];
    const hang = () => {
      starts.push(clock.now());
      return new Promise<never>(() => {});
    };
    const error = (await settle(guard.call('ListAssets', hang), clock, 60_000)) as BackendError;
    expect(starts).toEqual([0, 1_500, 4_000, 8_500]);
    expect(error.kind).toBe('timeout');
    expect(error.toProtocolError().code).toBe(5004);
  });

  it('does not retry a timed-out non-idempotent call', async () => {
    const { clock, guard } = setup(500);
    let calls = 0;
    const error = (await settle(
      guard.call('Send', () => (calls++, new Promise<never>(() => {})), { idempotent: false }),
      clock,
      60_000,
    )) as BackendError;
    expect(calls).toBe(1);
    expect(error.kind).toBe('timeout');
  });

  it('opens after 5 failed attempts, refuses without calling, half-opens after 60 s, closes on success', async () => {
    const { clock, guard } = setup();
    let calls = 0;
    let healthy = false;
    const fn = async () => {
      calls++;
      if (!healthy) throw reset;
      return 'ok';
    };
    for (let i = 0; i < 5; i++) await settle(guard.call('GetInfo', fn, { retry: false }), clock, 0);
    expect(calls).toBe(5);
    expect(guard.state).toBe('open');

    const refusedCall = (await settle(guard.call('GetInfo', fn), clock, 0)) as BackendError;
    expect(calls).toBe(5);
    expect(refusedCall.kind).toBe('circuit_open');
    expect(refusedCall.retryable).toBe(false);
    expect(refusedCall.message).toMatch(/next try in 60 s/);
    expect(refusedCall.toProtocolError().code).toBe(5004);

    await clock.advance(60_000);
    expect(guard.state).toBe('half_open');
    healthy = true;
    expect(await settle(guard.call('GetInfo', fn), clock, 0)).toBe('ok');
    expect(guard.state).toBe('closed');
    expect(guard.status().lastSuccessAtMs).toBe(60_000);
  });

  it('stops retrying as soon as its own retries open the breaker', async () => {
    const clock = new ManualClock();
    const guard = new DaemonGuard({
      daemon: 'lnd',
      timeoutMs: 1000,
      clock,
      classify,
      retry: { attempts: 10 },
    });
    let calls = 0;
    const error = (await settle(
      guard.call('GetInfo', async () => {
        calls++;
        throw reset;
      }),
      clock,
      600_000,
    )) as BackendError;
    expect(calls).toBe(5);
    expect(error.kind).toBe('circuit_open');
  });

  it('classifies a library error it does not know as internal, not retried', async () => {
    const { clock, guard } = setup();
    let calls = 0;
    const error = (await settle(
      guard.call('GetInfo', async () => {
        calls++;
        throw new TypeError('x is undefined');
      }),
      clock,
      10_000,
    )) as BackendError;
    expect(calls).toBe(1);
    expect(error.kind).toBe('internal');
  });

  it('follows the cause chain of a fetch failure', () => {
    const fetchFailed = new TypeError('fetch failed', { cause: refused });
    expect(classifyTransportError(fetchFailed)).toMatchObject({ kind: 'unavailable', notSent: true });
    expect(classifyTransportError(new Error('other'))).toBeUndefined();
  });
});
