// Structured JSON logs to stdout and to LOG_DIR/arkrelay.log (+ arkrelay_errors.log for
// errors), rotated by size; stdout that is a terminal gets readable coloured lines instead
// (log-pretty.ts). Secrets are removed by key name before anything is written, and an error's
// SQL (which can carry PSBTs and keys as parameters) never reaches a log.
import { mkdirSync } from 'node:fs';
import pino, { type Logger, type StreamEntry } from 'pino';
import { createStream } from 'rotating-file-stream';
import { prettyStream } from './log-pretty.ts';

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

/** Fields of driver errors that carry the statement and its values: dropped from logs. */
const SQL_FIELDS = ['sql', 'parameters', 'values', 'query'];

/** pino's error serializer, without the SQL a database error carries. */
function errorWithoutSql(error: Error): Record<string, unknown> {
  const serialized = pino.stdSerializers.err(error) as unknown as Record<string, unknown>;
  for (const field of SQL_FIELDS) delete serialized[field];
  return serialized;
}

export function createLogger(options: LoggerOptions): Logger {
  const stdout = options.stdout ?? (process.stdout.isTTY ? prettyStream(process.stdout) : process.stdout);
  const streams: StreamEntry[] = [{ level: 'trace', stream: stdout }];
  if (options.logDir) {
    mkdirSync(options.logDir, { recursive: true, mode: 0o700 });
    const rotating = (file: string) =>
      createStream(file, {
        path: options.logDir,
        size: `${options.maxSizeMb ?? 50}M`,
        maxFiles: options.maxFiles ?? 10,
        mode: 0o600,
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
      serializers: { err: errorWithoutSql, error: errorWithoutSql },
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.multistream(streams),
  );
}

/** Closes the file streams so the last lines are on disk before the process exits. */
export async function flushLogger(logger: Logger): Promise<void> {
  await new Promise<void>((done) => logger.flush(() => done()));
}
