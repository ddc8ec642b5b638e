// Runs the real `arkrelay-wallet` command in a child process with a clean environment and its
// own HOME (so the default key path ~/.arkrelay/wallet.key is inside the test's temp dir).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { tempDir } from '../support/cli.ts';

const root = new URL('../..', import.meta.url).pathname;

export interface WalletRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout parsed as one JSON document (for --json runs). */
  json<T = Record<string, unknown>>(): T;
}

export interface WalletProcess {
  readonly stdout: () => string;
  readonly stderr: () => string;
  readonly done: Promise<WalletRun>;
  kill(signal?: NodeJS.Signals): void;
}

export function spawnWallet(
  args: readonly string[],
  home: string,
  env: Record<string, string> = {},
): WalletProcess {
  const child = spawn(process.execPath, [join(root, 'bin/arkrelay-wallet.js'), ...args], {
    cwd: home,
    env: { PATH: process.env.PATH ?? '', HOME: home, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const done = new Promise<WalletRun>((resolve) =>
    child.on('exit', (code) =>
      resolve({ code, stdout: out, stderr: err, json: <T>() => JSON.parse(out) as T }),
    ),
  );
  return { stdout: () => out, stderr: () => err, done, kill: (signal = 'SIGTERM') => child.kill(signal) };
}

export function runWallet(
  args: readonly string[],
  home: string,
  env: Record<string, string> = {},
): Promise<WalletRun> {
  return spawnWallet(args, home, env).done;
}

export const walletHome = () => tempDir('arkrelay-wallet-');
