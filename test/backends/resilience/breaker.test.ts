import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../../../src/backends/resilience/breaker.ts';
import { ManualClock } from '../../../src/backends/resilience/clock.ts';

function setup() {
  const clock = new ManualClock(1_000_000);
  const changes: string[] = [];
  const breaker = new CircuitBreaker({ clock, onStateChange: (from, to) => changes.push(`${from}>${to}`) });
  return { clock, breaker, changes };
}

function fail(breaker: CircuitBreaker, times: number) {
  for (let i = 0; i < times; i++) {
    expect(breaker.tryAcquire()).toBe(true);
    breaker.failure();
  }
}

describe('circuit breaker', () => {
  it('stays closed through 4 consecutive failures and opens on the 5th', () => {
    const { breaker, changes } = setup();
    fail(breaker, 4);
    expect(breaker.state).toBe('closed');
    expect(breaker.snapshot().consecutiveFailures).toBe(4);
    fail(breaker, 1);
    expect(breaker.state).toBe('open');
    expect(changes).toEqual(['closed>open']);
  });

  it('counts only consecutive failures: a success in between starts over', () => {
    const { breaker } = setup();
    fail(breaker, 4);
    breaker.tryAcquire();
    breaker.success();
    fail(breaker, 4);
    expect(breaker.state).toBe('closed');
  });

  it('refuses every call while open, until the 60 s interval has passed', async () => {
    const { breaker, clock } = setup();
    fail(breaker, 5);
    expect(breaker.snapshot()).toMatchObject({ openedAtMs: 1_000_000, halfOpenAtMs: 1_060_000 });
    expect(breaker.tryAcquire()).toBe(false);
    await clock.advance(59_999);
    expect(breaker.state).toBe('open');
    expect(breaker.tryAcquire()).toBe(false);
    await clock.advance(1);
    expect(breaker.state).toBe('half_open');
  });

  it('half-open lets exactly one trial through; its success closes the breaker', async () => {
    const { breaker, clock, changes } = setup();
    fail(breaker, 5);
    await clock.advance(60_000);
    expect(breaker.tryAcquire()).toBe(true);
    expect(breaker.tryAcquire()).toBe(false); // a second caller waits for the trial
    breaker.success();
    expect(breaker.state).toBe('closed');
    expect(breaker.snapshot().consecutiveFailures).toBe(0);
    expect(breaker.tryAcquire()).toBe(true);
    expect(changes).toEqual(['closed>open', 'open>half_open', 'half_open>closed']);
  });

  it('a failed trial reopens for another full interval', async () => {
    const { breaker, clock } = setup();
    fail(breaker, 5);
    await clock.advance(60_000);
    expect(breaker.tryAcquire()).toBe(true);
    breaker.failure();
    expect(breaker.state).toBe('open');
    await clock.advance(59_000);
    expect(breaker.tryAcquire()).toBe(false);
    await clock.advance(1_000);
    expect(breaker.tryAcquire()).toBe(true);
  });

  it('a released trial (no verdict) lets the next caller try', async () => {
    const { breaker, clock } = setup();
    fail(breaker, 5);
    await clock.advance(60_000);
    expect(breaker.tryAcquire()).toBe(true);
    breaker.release();
    expect(breaker.tryAcquire()).toBe(true);
  });

  it('reset closes an open breaker at once', () => {
    const { breaker } = setup();
    fail(breaker, 5);
    breaker.reset();
    expect(breaker.state).toBe('closed');
    expect(breaker.tryAcquire()).toBe(true);
  });

  it('honours a custom threshold and interval', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ clock, failureThreshold: 2, resetTimeoutMs: 10 });
    fail(breaker, 2);
    expect(breaker.state).toBe('open');
    await clock.advance(10);
    expect(breaker.state).toBe('half_open');
  });
});
