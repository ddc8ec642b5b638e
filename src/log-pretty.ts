// Log lines for a person at a terminal: time, coloured level, component, message, then the
// other fields as key=value. Only for stdout when it is a TTY; files and pipes keep JSON lines,
// which is what log shippers read. It formats what pino already redacted.
import { Writable } from 'node:stream';

const COLOURS: Record<string, string> = {
  trace: '\x1b[90m',
  debug: '\x1b[36m',
  info: '\x1b[32m',
  warn: '\x1b[33m',
  error: '\x1b[31m',
  fatal: '\x1b[35m',
};
const RESET = '\x1b[0m';
const DIM = '\x1b[2m';
/** Shown in the line's head, not repeated after the message. */
const HEAD = new Set(['time', 'level', 'msg', 'component', 'pid']);

function value(v: unknown): string {
  if (typeof v === 'string') return /[\s"=]/.test(v) ? JSON.stringify(v) : v;
  return JSON.stringify(v);
}

/** One JSON log line as text; a line that is not JSON is passed through as it is. */
export function prettyLine(line: string, colour = true): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const level = String(entry.level ?? 'info');
  const time = typeof entry.time === 'string' ? entry.time.slice(11, 23) : '';
  const paint = (code: string | undefined, text: string) =>
    colour && code ? `${code}${text}${RESET}` : text;
  const component = entry.component ? ` ${paint(DIM, `[${String(entry.component)}]`)}` : '';
  const err = entry.err as { message?: unknown; stack?: unknown } | undefined;
  const fields = Object.entries(entry)
    .filter(([k]) => !HEAD.has(k) && k !== 'err')
    .map(([k, v]) => `${paint(DIM, `${k}=`)}${value(v)}`);
  const head = `${paint(DIM, time)} ${paint(COLOURS[level], level.toUpperCase().padEnd(5))}${component} ${String(entry.msg ?? '')}`;
  const tail = fields.length > 0 ? ` ${fields.join(' ')}` : '';
  const stack = err ? `\n  ${paint(COLOURS.error, String(err.stack ?? err.message ?? ''))}` : '';
  return `${head}${tail}${stack}`;
}

/** A stream that turns the JSON lines written to it into readable lines on `out`. */
export function prettyStream(out: NodeJS.WritableStream, colour = true): Writable {
  let pending = '';
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line) out.write(`${prettyLine(line, colour)}\n`);
      done();
    },
  });
}
