// The one map from failures to HTTP answers (src/http/errors.ts, httpAnswer), which the server's
// error handler applies to every route: outages name their dependency and no host; a daemon's
// other failures answer as the protocol error a wallet gets for them; internals stay hidden.
import { describe, expect, it } from 'vitest';
import { BackendError } from '../../src/backends/types.ts';
import { DependencyUnavailableError } from '../../src/errors.ts';
import { ERROR_CODES, ProtocolError, type ErrorName } from '../../src/domain/error-codes.ts';
import { HTTP_ERROR, HttpError, httpAnswer } from '../../src/http/errors.ts';

describe('httpAnswer', () => {
  it('answers an outage with 503 naming the dependency, never its host', () => {
    const cases: [unknown, string][] = [
      [new BackendError('arkd', 'unavailable', 'connect ECONNREFUSED 10.0.0.7:7070'), 'arkd'],
      [new BackendError('lnd', 'circuit_open', 'breaker open'), 'lnd'],
      [new DependencyUnavailableError('redis', 'redis at redis://10.0.0.9 is unreachable'), 'redis'],
      [
        Object.assign(new Error('connect ECONNREFUSED 10.0.0.8:3306'), { code: 'ECONNREFUSED', fatal: true }),
        'database',
      ],
    ];
    for (const [error, dependency] of cases) {
      const answer = httpAnswer(error);
      expect(answer).toEqual({
        code: 'dependency_unavailable',
        message: `${dependency} is unavailable; try again shortly`,
        dependency,
      });
      expect(answer.message).not.toMatch(/10\.0\.0/);
    }
  });

  it('answers any other daemon failure as its protocol error would be answered', () => {
    expect(httpAnswer(new BackendError('lnd', 'rejected', 'invoice expired'))).toEqual({
      code: 'validation_failed',
      message: 'lnd: invoice expired',
    });
    expect(httpAnswer(new BackendError('arkd', 'not_found', 'no such tx')).code).toBe('not_found');
    // An arkd internal error is ARK_SERVER (5001) to a wallet, and unavailable (503) here.
    const internal = new BackendError('arkd', 'internal', 'boom');
    expect(internal.toProtocolError().code).toBe(ERROR_CODES.ARK_SERVER.code);
    expect(httpAnswer(internal).code).toBe('unavailable');
  });

  it('gives every protocol error an HTTP code: input 400, state 409, limits 429, daemons 503', () => {
    const status = (name: ErrorName) => HTTP_ERROR[httpAnswer(new ProtocolError(name)).code];
    for (const name of Object.keys(ERROR_CODES) as ErrorName[]) expect(status(name), name).not.toBe(500);
    expect(status('MALFORMED_CONTENT')).toBe(400);
    expect(status('BELOW_LIMITS')).toBe(400);
    expect(status('INSUFFICIENT_BALANCE')).toBe(409);
    expect(status('VTXO_UNKNOWN')).toBe(404);
    expect(status('RATE_LIMITED')).toBe(429);
    expect(status('SERVICE_UNAVAILABLE')).toBe(503);
  });

  it('keeps an HttpError, answers a RangeError 400, and hides anything else behind 500', () => {
    expect(httpAnswer(new HttpError('forbidden', 'no'))).toEqual({ code: 'forbidden', message: 'no' });
    expect(httpAnswer(new RangeError('blocks must be 1-100'))).toEqual({
      code: 'validation_failed',
      message: 'blocks must be 1-100',
    });
    expect(httpAnswer(new TypeError("cannot read 'x' of undefined at /srv/app.ts"))).toEqual({
      code: 'internal_error',
      message: 'internal error',
    });
  });
});
