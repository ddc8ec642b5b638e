// The L1 commitment tree against an independent computation written here from the rules in
// docs/ledger.md (leaf = SHA-256(0x00 || txid bytes), node = SHA-256(0x01 || l || r), an odd
// last node promoted unchanged), recursive where the code is iterative, so a shared mistake is
// unlikely.
import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { merkleLeaf, merkleProof, merkleRoot, verifyMerkleProof } from '../../src/domain/merkle.ts';

const h = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();

/** Root by splitting at the largest power of two below n: the same tree as pairing level by level with promotion. */
function independentRoot(txids: readonly string[]): string {
  const hashes = txids.map((t) => h(Buffer.from([0]), Buffer.from(t, 'hex')));
  const build = (nodes: Buffer[]): Buffer => {
    if (nodes.length === 1) return nodes[0]!;
    let split = 1;
    while (split * 2 < nodes.length) split *= 2;
    return h(Buffer.from([1]), build(nodes.slice(0, split)), build(nodes.slice(split)));
  };
  return build(hashes).toString('hex');
}

const txid = () => randomBytes(32).toString('hex');

describe('Merkle root of L1 commitments', () => {
  it('one leaf: the root is the leaf hash, SHA-256(0x00 || txid)', () => {
    const t = 'ab'.repeat(32);
    const expected = createHash('sha256')
      .update(Buffer.concat([Buffer.from([0x00]), Buffer.from(t, 'hex')]))
      .digest('hex');
    expect(merkleRoot([t])).toBe(expected);
    expect(merkleLeaf(t).toString('hex')).toBe(expected);
  });

  it('two and three leaves, written out by hand', () => {
    const [a, b, c] = [txid(), txid(), txid()];
    const leaf = (t: string) => h(Buffer.from([0]), Buffer.from(t, 'hex'));
    const ab = h(Buffer.from([1]), leaf(a), leaf(b));
    expect(merkleRoot([a, b])).toBe(ab.toString('hex'));
    // Three: c is promoted, not paired with itself.
    expect(merkleRoot([a, b, c])).toBe(h(Buffer.from([1]), ab, leaf(c)).toString('hex'));
    expect(merkleRoot([a, b, c])).not.toBe(
      h(Buffer.from([1]), ab, h(Buffer.from([1]), leaf(c), leaf(c))).toString('hex'),
    );
  });

  it('the txid is read as displayed (hex decoded, not byte-reversed)', () => {
    const t = '00'.repeat(31) + '01';
    const reversed = '01' + '00'.repeat(31);
    expect(merkleRoot([t])).toBe(h(Buffer.from([0]), Buffer.from(t, 'hex')).toString('hex'));
    expect(merkleRoot([t])).not.toBe(merkleRoot([reversed]));
  });

  it.each([1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 100, 1001])(
    '%i txids: equals the independent computation',
    (n) => {
      const txids = Array.from({ length: n }, txid);
      expect(merkleRoot(txids)).toBe(independentRoot(txids));
    },
  );

  it('a list and the list with its last txid repeated have different roots (CVE-2012-2459)', () => {
    for (const n of [1, 3, 5, 7]) {
      const txids = Array.from({ length: n }, txid);
      expect(merkleRoot([...txids, txids[n - 1]!])).not.toBe(merkleRoot(txids));
    }
  });

  it('order matters, and any random list agrees with the independent computation', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { minLength: 1, maxLength: 64 }),
        (raw) => {
          const txids = raw.map((b) => Buffer.from(b).toString('hex'));
          expect(merkleRoot(txids)).toBe(independentRoot(txids));
        },
      ),
      { numRuns: 200 },
    );
    const [a, b] = [txid(), txid()];
    expect(merkleRoot([a, b])).not.toBe(merkleRoot([b, a]));
  });

  it('inclusion proofs lead from every txid to the root, and not from another txid', () => {
    for (const n of [1, 2, 3, 6, 11]) {
      const txids = Array.from({ length: n }, txid);
      const root = merkleRoot(txids);
      txids.forEach((t, i) => {
        const proof = merkleProof(txids, i);
        expect(verifyMerkleProof(t, proof, root)).toBe(true);
        expect(verifyMerkleProof(txid(), proof, root)).toBe(false);
      });
    }
  });

  it('refuses an empty list and malformed txids', () => {
    expect(() => merkleRoot([])).toThrow(RangeError);
    expect(() => merkleRoot(['AB'.repeat(32)])).toThrow(TypeError);
    expect(() => merkleRoot(['ab'.repeat(31)])).toThrow(TypeError);
  });
});
