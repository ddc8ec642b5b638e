// docs/protocol.md shows the kinds and the error codes; its tables must equal the code's.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/domain/error-codes.ts';
import { KINDS } from '../../src/domain/nostr-protocol.ts';

const doc = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');

function table(name: string): string[][] {
  const start = doc.indexOf(`<!-- ${name}:start -->`);
  const end = doc.indexOf(`<!-- ${name}:end -->`);
  expect(start, `${name} table markers`).toBeGreaterThan(-1);
  return doc
    .slice(start, end)
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .slice(2)
    .map((line) =>
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
}

describe('docs/protocol.md', () => {
  it('lists exactly the kinds of src/domain/nostr-protocol.ts', () => {
    expect(table('kinds')).toEqual(
      KINDS.map((k) => [
        String(k.kind),
        k.name,
        k.direction,
        k.encrypted ? 'encrypted' : 'plain',
        k.tags.map((t) => `\`${t}\``).join(', '),
      ]),
    );
  });

  it('lists exactly the error codes of src/domain/error-codes.ts', () => {
    expect(table('errors')).toEqual(
      Object.entries(ERROR_CODES).map(([name, { code, message }]) => [String(code), name, message]),
    );
  });
});
