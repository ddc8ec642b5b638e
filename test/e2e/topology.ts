// The production shape as real processes: `arkrelay serve`, `worker`, `scheduler` (or `dev`)
// started with the CLI on one shared environment (database, Redis, DATA_DIR with the simulated
// daemons' world), each found by the line it logs when it has started.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, type CliRun } from '../support/cli.ts';
import { waitFor } from '../support/wait.ts';

export type Command = 'serve' | 'worker' | 'scheduler' | 'dev';

export interface Member {
  readonly name: string;
  readonly command: Command;
  readonly run: CliRun;
  /** The HTTP API of a serve / dev process. */
  readonly url: string | undefined;
  readonly alive: () => boolean;
}

function startedLine(stdout: string): Record<string, unknown> | undefined {
  const line = stdout.split('\n').find((l) => l.includes('"msg":"arkrelay started"'));
  return line ? (JSON.parse(line) as Record<string, unknown>) : undefined;
}

/** Starts one process and waits until it has started (and, with an API, is ready). */
export async function startMember(
  name: string,
  command: Command,
  env: Record<string, string>,
  baseDir: string,
): Promise<Member> {
  // Its own working directory (logs); DATA_DIR comes with `env`, shared.
  const cwd = join(baseDir, name);
  mkdirSync(cwd, { recursive: true });
  const run = runCli(
    [command],
    { PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env, INSTANCE_ID: name },
    cwd,
  );
  let exited = false;
  void run.exited.then(() => (exited = true));
  const started = await waitFor(
    () => (exited ? 'exited' : startedLine(run.stdout())),
    60_000,
    `${name} (arkrelay ${command}) to start`,
  );
  if (started === 'exited') {
    throw new Error(`${name} exited before it started: ${run.stderr() || run.stdout().slice(-2_000)}`);
  }
  const url = typeof started.http === 'string' ? started.http : undefined;
  if (url) {
    await waitFor(
      async () => (await fetch(`${url}/ready`)).status === 200 || undefined,
      30_000,
      `${name} to be ready`,
    );
  }
  return { name, command, run, url, alive: () => !exited };
}

/** SIGTERM, then SIGKILL if it has not stopped within `graceMs`. */
export async function stopMember(member: Member, graceMs = 10_000): Promise<void> {
  if (!member.alive()) return;
  member.run.child.kill('SIGTERM');
  const timer = setTimeout(() => member.run.child.kill('SIGKILL'), graceMs);
  await member.run.exited;
  clearTimeout(timer);
}

/** The last warnings and errors a process logged, for a failure message. */
export function complaints(member: Member, limit = 10): string[] {
  return member.run
    .stdout()
    .split('\n')
    .filter((l) => /"level":"(warn|error|fatal)"/.test(l))
    .slice(-limit)
    .map((l) => l.slice(0, 400));
}
