// What the CLI prints. The answer goes to stdout — text for people, or one JSON document with
// --json (`watch --json`: one JSON line per event). Progress goes to stderr, so a script reading
// stdout sees only the answer. Amounts are bigint inside and decimal strings in JSON.
import type { Writable } from 'node:stream';

export interface OutputStreams {
  readonly stdout: Writable;
  readonly stderr: Writable;
}

export function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), indent);
}

export class Output {
  readonly json: boolean;
  readonly #streams: OutputStreams;
  readonly #quiet: boolean;

  constructor(options: { json: boolean; quiet?: boolean }, streams: OutputStreams) {
    this.json = options.json;
    this.#quiet = options.quiet ?? false;
    this.#streams = streams;
  }

  /** A line about what is happening (stderr; silenced by --quiet). */
  progress(text: string): void {
    if (!this.#quiet) this.#streams.stderr.write(`… ${text}\n`);
  }

  /** The command's answer: `lines` for people, `data` with --json. */
  result(lines: readonly string[], data: unknown): void {
    if (this.json) this.#streams.stdout.write(`${toJson(data, 2)}\n`);
    else for (const line of lines) this.#streams.stdout.write(`${line}\n`);
  }

  /** One streamed item (watch): a line for people, a JSON line with --json. */
  item(line: string, data: unknown): void {
    this.#streams.stdout.write(this.json ? `${toJson(data)}\n` : `${line}\n`);
  }

  error(text: string, data: unknown): void {
    this.#streams.stderr.write(`arkrelay-wallet: ${text}\n`);
    if (this.json) this.#streams.stdout.write(`${toJson({ error: data }, 2)}\n`);
  }
}
