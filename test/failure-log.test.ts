// Repeated failures: one line at once, then one a minute with the count, one when it works again;
// with a backoff, attempts are spaced out (doubling up to a ceiling) while it keeps failing.
import { describe, expect, it } from 'vitest';
import { FailureLog } from '../src/failure-log.ts';
import { LogCapture } from './nostr/support.ts';

const lines = (capture: LogCapture) =>
  capture.text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('failure log', () => {
  it('logs the first failure at once, then one line a minute with the count, then the recovery', () => {
    const capture = new LogCapture('info');
    const log = new FailureLog({ logger: capture.logger, what: 'system sample write' });
    const error = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:3306\n    at stack'), {
      code: 'ECONNREFUSED',
    });
    for (let t = 0; t <= 150_000; t += 1_000) log.failed(error, {}, t);
    log.succeeded();
    expect(lines(capture).map((l) => [l.level, l.msg, l.failures])).toEqual([
      ['warn', 'system sample write failed', 1],
      ['warn', 'system sample write still failing', 60],
      ['warn', 'system sample write still failing', 60],
      ['info', 'system sample write works again', 151],
    ]);
    expect(lines(capture)[0]!.error).toBe('connect ECONNREFUSED 127.0.0.1:3306');
    expect(capture.text).not.toContain('stack');
  });

  it('backs off: doubling waits up to the ceiling, back to at once after a success', () => {
    const capture = new LogCapture('info');
    const log = new FailureLog({
      logger: capture.logger,
      what: 'write',
      backoff: { initialMs: 1_000, maxMs: 5_000 },
    });
    let now = 0;
    const waits: number[] = [];
    for (let i = 0; i < 5; i++) {
      log.failed(new Error('down'), {}, now);
      let wait = 0;
      while (!log.ready(now + wait)) wait += 500;
      waits.push(wait);
      now += wait;
    }
    expect(waits).toEqual([1_000, 2_000, 4_000, 5_000, 5_000]);
    log.succeeded();
    expect(log.ready(now)).toBe(true);
  });

  it('without a backoff, a failure after a quiet interval starts a new episode', () => {
    const capture = new LogCapture('info');
    const log = new FailureLog({ logger: capture.logger, what: 'requests needing redis' });
    log.failed(new Error('down'), {}, 0);
    log.failed(new Error('down'), {}, 1_000);
    log.failed(new Error('down'), {}, 300_000);
    expect(lines(capture).map((l) => [l.msg, l.failures])).toEqual([
      ['requests needing redis failed', 1],
      ['requests needing redis failed', 1],
    ]);
  });
});
