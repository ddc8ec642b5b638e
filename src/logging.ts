// Structured JSON logs to stdout and to LOG_DIR/arkrelay.log (+ arkrelay_errors.log for
// errors), rotated by size. Secrets are removed by key name before anything is written.
import { mkdirSync } from 'node:fs';
import pino, { type Logger, type StreamEntry } from 'pino';
import { createStream } from 'rotating-file-stream';

export type { Logger };

/** Keys whose values never reach a log, at any of the first three levels of an object. */
const SECRET_KEYS = [
  'password',
  'secret',
  'secretKey',
  'privateKey',
  'private_key',
  'nsec',
  'macaroon',
  'tlsCert',
  'apiKey',
  'adminApiKey',
  'authorization',
  'x-admin-key',
  'plaintext',
  'seed',
  'preimage',
];

const isIdentifier = (key: string) => /^[A-Za-z_$][\w$]*$/.test(key);
/** `.key`, or `["x-key"]` for names that are not identifiers (redaction path syntax). */
const accessor = (key: string) => (isIdentifier(key) ? `.${key}` : `["${key}"]`);

export const REDACT_PATHS = SECRET_KEYS.flatMap((key) => [
  isIdentifier(key) ? key : `["${key}"]`,
  `*${accessor(key)}`,
  `*.*${accessor(key)}`,
  `req.headers${accessor(key)}`,
  `*.req.headers${accessor(key)}`,
]);

export interface LoggerOptions {
  readonly level: string;
  /** Unset: stdout only (tests, CLI one-shots). */
  readonly logDir?: string;
  readonly maxSizeMb?: number;
  readonly maxFiles?: number;
  readonly base?: Record<string, unknown>;
  /** Where the stdout stream goes; tests pass a collector. */
  readonly stdout?: NodeJS.WritableStream;
}

export function createLogger(options: LoggerOptions): Logger {
  const streams: StreamEntry[] = [{ level: 'trace', stream: options.stdout ?? process.stdout }];
  if (options.logDir) {
    mkdirSync(options.logDir, { recursive: true, mode: 0o750 });
    const rotating = (file: string) =>
      createStream(file, {
        path: options.logDir,
        size: `${options.maxSizeMb ?? 50}M`,
        maxFiles: options.maxFiles ?? 10,
        mode: 0o640,
      });
    streams.push({ level: 'trace', stream: rotating('arkrelay.log') });
    streams.push({ level: 'error', stream: rotating('arkrelay_errors.log') });
  }
  return pino(
    {
      level: options.level,
      base: options.base ?? { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.multistream(streams),
  );
}

/** Closes the file streams so the last lines are on disk before the process exits. */
export async function flushLogger(logger: Logger): Promise<void> {
  await new Promise<void>((done) => logger.flush(() => done()));
}
