// The wallet must never share a code path with the gateway's verifier, or one bug could hide in
// both: src/wallet imports only itself, the pure protocol data of src/domain, and npm libraries.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../../src/wallet');
const allowedShared = ['src/domain/nostr-protocol.ts', 'src/domain/error-codes.ts'];

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

describe('wallet independence', () => {
  it('imports nothing of the gateway but the protocol tables', () => {
    const offending: string[] = [];
    for (const file of files(root)) {
      for (const [, spec] of readFileSync(file, 'utf8').matchAll(/from '([^']+)'/g)) {
        if (!spec!.startsWith('.')) continue; // an npm library
        const target = relative(resolve(root, '../..'), resolve(file, '..', spec!));
        if (target.startsWith('src/wallet/') || allowedShared.includes(target)) continue;
        offending.push(`${relative(root, file)} → ${target}`);
      }
    }
    expect(offending).toEqual([]);
    expect(files(root).length).toBeGreaterThan(5);
  });
});
