// The child process that runs the benches' wallets (bench/ceremony-wallets.ts), and keys for them.
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { schnorr } from '@noble/curves/secp256k1.js';

const here = dirname(fileURLToPath(import.meta.url));

export class WalletProcess {
  readonly child: ChildProcess;
  readonly #waiting = new Map<string, (message: Record<string, unknown>) => void>();
  constructor() {
    // execArgv [] : a --cpu-prof of the gateway process does not profile the wallets too.
    this.child = fork(join(here, '..', 'ceremony-wallets.ts'), [], {
      execPath: process.execPath,
      execArgv: [],
    });
    this.child.on('message', (raw) => {
      const message = raw as Record<string, unknown> & { type: string };
      if (message.type === 'error') {
        console.error(`wallet process failed: ${String(message.message)}`);
        process.exit(1);
      }
      const resolve = this.#waiting.get(message.type);
      this.#waiting.delete(message.type);
      resolve?.(message);
    });
    this.child.on('exit', (code) => {
      if (code !== 0 && code !== null) {
        console.error(`wallet process exited with ${code}`);
        process.exit(1);
      }
    });
  }
  /** Resolves with the next message of this type (register before sending what causes it). */
  next(type: string): Promise<Record<string, unknown>> {
    return new Promise((resolve) => this.#waiting.set(type, resolve));
  }
  send(message: Record<string, unknown>): void {
    this.child.send(message);
  }
}

export function newSecret(): string {
  for (;;) {
    const secret = randomBytes(32);
    try {
      schnorr.getPublicKey(secret);
      return secret.toString('hex');
    } catch {
      // out of range: draw again
    }
  }
}

export const pubkeyOf = (secret: string) =>
  Buffer.from(schnorr.getPublicKey(Buffer.from(secret, 'hex'))).toString('hex');
