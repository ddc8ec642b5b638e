// Runs the real `arkrelay` command in a child process, with a clean environment so a
// developer's DATABASE_URL / REDIS_URL / .env never leak into an embedded-default test.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;

export interface CliRun {
  readonly child: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function tempDir(prefix = 'arkrelay-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function runCli(
  args: readonly string[],
  env: Record<string, string> = {},
  cwd = tempDir(),
  /** Written to the child's stdin (then closed); unset: no stdin. */
  input?: string,
): CliRun {
  const child = spawn(process.execPath, [join(root, 'bin/arkrelay.js'), ...args], {
    cwd,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? cwd,
      DATA_DIR: join(cwd, 'data'),
      LOG_DIR: join(cwd, 'logs'),
      // Suites run in parallel: each embedded relay and metrics exporter takes a free port unless a
      // test says otherwise.
      EMBEDDED_RELAY_PORT: '0',
      METRICS_PORT: '0',
      // A stop answers at once unless a test looks at the load-balancer drain.
      SHUTDOWN_DRAIN_MS: '0',
      ...env,
    },
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  if (input !== undefined) child.stdin?.end(input);
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** The JSON log lines a process printed on stdout. */
export function logLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
