// How the wallet CLI ends: one line on stderr (and `{"error": …}` on stdout with --json) and an
// exit status a script can branch on. A failure the gateway reported carries its protocol code.
import { ERROR_CODES } from '../domain/error-codes.ts';

/** Exit statuses: 0 done; these otherwise. */
export const EXIT = {
  /** The gateway refused or the intent failed (a protocol error code is printed). */
  FAILED: 1,
  /** Bad arguments, a missing or unsafe key file, no gateway to talk to. */
  USAGE: 2,
  /** No answer in time, or no relay/gateway reachable. */
  UNREACHABLE: 3,
} as const;

export class CliError extends Error {
  readonly exitCode: number;
  /** The protocol error code (docs/protocol.md) when the gateway gave one. */
  readonly code: number | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    message: string,
    options: { exitCode?: number; code?: number; details?: Record<string, unknown> } = {},
  ) {
    super(message);
    this.name = 'CliError';
    this.exitCode = options.exitCode ?? EXIT.FAILED;
    this.code = options.code;
    this.details = options.details;
  }
}

export const usage = (message: string) => new CliError(message, { exitCode: EXIT.USAGE });

/** The name of a protocol error code (`INSUFFICIENT_BALANCE`), or undefined for an unknown one. */
export function codeName(code: number): string | undefined {
  return Object.entries(ERROR_CODES).find(([, spec]) => spec.code === code)?.[0];
}

/** "2001 INSUFFICIENT_BALANCE: <message>" */
export function describeCode(code: number, message: string): string {
  const name = codeName(code);
  return `${code}${name ? ` ${name}` : ''}: ${message}`;
}
