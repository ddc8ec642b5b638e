// `npm run demo` end to end, as a newcomer runs it: a child process that starts its own gateway
// in a temp DATA_DIR and must exit 0 after lift → transfer → split → swap → land, with the
// final balances it checks itself.
import { spawn } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../support/cli.ts';

const root = new URL('../..', import.meta.url).pathname;

describe('npm run demo', () => {
  it('runs every step and exits 0', async () => {
    const cwd = tempDir('arkrelay-demo-test-');
    const child = spawn(process.execPath, [join(root, 'scripts/demo.ts')], {
      cwd,
      // No DATABASE_URL / REDIS_URL from the developer's shell: the demo is the embedded default.
      env: { PATH: process.env.PATH ?? '', HOME: cwd },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code, out).toBe(0);
    // Its gateway lived in a temp DATA_DIR (removed at the end): nothing lands in the cwd (./data, ./logs).
    expect(readdirSync(cwd)).toEqual([]);
    rmSync(cwd, { recursive: true, force: true });
    for (const step of ['== lift', '== transfer', '== split', '== swap', '== land', '== final balances']) {
      expect(out).toContain(step);
    }
    expect(out).toMatch(/alice {2}64975 gBTC, 1000 gUSD/);
    expect(out).toContain('ledger invariant: ok');
    // Every kind of the flow went over Nostr and was printed.
    for (const kind of [31500, 31501, 31502, 31510, 31511, 31512, 31340, 25500, 25501]) {
      expect(out).toContain(`[${kind} `);
    }
  }, 60_000);
});
