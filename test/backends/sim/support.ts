// Test helpers for the simulators: a world in a temp folder, a controllable clock, and a
// wallet that signs with @scure/btc-signer's own signIdx (not the gateway's psbt helpers), so
// a bug in one cannot hide in the other.
import { rmSync } from 'node:fs';
import { Transaction } from '@arkade-os/sdk';
import { schnorr } from '@noble/curves/secp256k1.js';
import { base64, hex } from '@scure/base';
import { tempDir } from '../../support/cli.ts';
import { SimWorld } from '../../../src/backends/sim/world.ts';

export class FakeClock {
  ms: number;
  constructor(start = Date.UTC(2025, 0, 1)) {
    this.ms = start;
  }
  now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

export interface TestWorld {
  readonly dir: string;
  world: SimWorld;
  reopen(): SimWorld;
  dispose(): void;
}

export function testWorld(options: { seed?: string; now?: () => number } = {}): TestWorld {
  const dir = tempDir('arkrelay-sim-');
  const open = () =>
    new SimWorld({
      dataDir: dir,
      seed: options.seed ?? 'test-seed',
      ...(options.now ? { now: options.now } : {}),
    });
  const t: TestWorld = {
    dir,
    world: open(),
    reopen() {
      t.world.close();
      t.world = open();
      return t.world;
    },
    dispose() {
      t.world.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return t;
}

export interface TestKey {
  readonly priv: Uint8Array;
  readonly pub: string;
}

export function key(byte: number): TestKey {
  const priv = new Uint8Array(32).fill(byte);
  return { priv, pub: hex.encode(schnorr.getPublicKey(priv)) };
}

/** What a wallet does: sign the listed inputs of a PSBT with its key, return the PSBT. */
export function walletSign(psbt: string, k: TestKey, inputIndexes: readonly number[]): string {
  const tx = Transaction.fromPSBT(base64.decode(psbt));
  for (const i of inputIndexes) tx.signIdx(k.priv, i);
  return base64.encode(tx.toPSBT());
}
