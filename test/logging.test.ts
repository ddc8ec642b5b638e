import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Secret } from '../src/config.ts';
import { prettyLine } from '../src/log-pretty.ts';
import { createLogger, flushLogger } from '../src/logging.ts';
import { tempDir } from './support/cli.ts';
import { waitFor } from './support/wait.ts';

function collector() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, stream };
}

describe('logging', () => {
  it('removes secrets by key name and by type before anything is written', () => {
    const out = collector();
    const logger = createLogger({ level: 'info', stdout: out.stream });
    logger.info(
      {
        password: 'pw-1',
        macaroon: '0201036c6e64',
        daemon: { macaroon: 'deadbeef', tlsCert: 'PEM' },
        req: { headers: { 'x-admin-key': 'admin-key-value' } },
        event: { nsec: 'nsec1secret', privateKey: 'aa'.repeat(32) },
        key: new Secret('wrapped-secret'),
      },
      'hello',
    );
    const text = out.lines.join('\n');
    for (const secret of [
      'pw-1',
      '0201036c6e64',
      'deadbeef',
      'PEM',
      'admin-key-value',
      'nsec1secret',
      'aa'.repeat(32),
      'wrapped-secret',
    ]) {
      expect(text).not.toContain(secret);
    }
    expect(JSON.parse(out.lines[0]!)).toMatchObject({ level: 'info', msg: 'hello', password: '[redacted]' });
  });

  it('writes errors to arkrelay_errors.log too, and rotates a log by size', async () => {
    const dir = tempDir();
    const logger = createLogger({
      level: 'info',
      logDir: dir,
      maxSizeMb: 1,
      maxFiles: 3,
      stdout: collector().stream,
    });
    logger.error('something broke');
    const line = 'x'.repeat(1024);
    for (let i = 0; i < 1500; i++) logger.info({ i, line }, 'filler');
    await flushLogger(logger);
    const files = await waitFor(
      () => {
        const names = readdirSync(dir);
        return names.filter((n) => n.endsWith('arkrelay.log')).length >= 2 ? names : undefined;
      },
      10_000,
      'a rotated arkrelay.log',
    );
    expect(files).toContain('arkrelay_errors.log');
    const errors = readFileSync(join(dir, 'arkrelay_errors.log'), 'utf8');
    expect(errors).toContain('something broke');
    expect(errors).not.toContain('filler');
  });

  it('reads well at a terminal: time, level, component, message, then key=value; a non-JSON line as it is', () => {
    const line = JSON.stringify({
      level: 'warn',
      time: '2026-12-03T21:18:43.160Z',
      component: 'backends',
      msg: 'simulated daemon',
      daemon: 'arkd',
      reason: 'no URL set',
      err: { message: 'boom', stack: 'Error: boom\n    at here' },
    });
    expect(prettyLine(line, false)).toBe(
      '21:18:43.160 WARN  [backends] simulated daemon daemon=arkd reason="no URL set"\n  Error: boom\n    at here',
    );
    expect(prettyLine(line, true)).toContain('\x1b[33mWARN \x1b[0m');
    expect(prettyLine('not json', true)).toBe('not json');
  });
});
