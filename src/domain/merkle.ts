// The Merkle tree of an L1 commitment (docs/ledger.md, "L1 commitments"). Pure: no I/O.
//
//   leaf = SHA-256(0x00 || txid)           txid: the 32 bytes of the hex as displayed
//   node = SHA-256(0x01 || left || right)
//
// Levels are built pairwise from the left; a last node without a partner is promoted to the
// next level unchanged. It is never paired with a copy of itself, as Bitcoin does: there the
// lists [a, b, c] and [a, b, c, c] share one root (CVE-2012-2459), so a root would not pin
// down its list. The 0x00/0x01 prefixes keep a leaf from ever being read as an inner node
// (second-preimage attack on the tree shape).
import { createHash } from 'node:crypto';

const TXID = /^[0-9a-f]{64}$/;
const LEAF = Buffer.from([0x00]);
const NODE = Buffer.from([0x01]);

const sha256 = (...parts: readonly Uint8Array[]): Buffer => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
};

export function merkleLeaf(txid: string): Buffer {
  if (!TXID.test(txid)) throw new TypeError(`not a txid (64 lowercase hex): ${txid}`);
  return sha256(LEAF, Buffer.from(txid, 'hex'));
}

export function merkleNode(left: Uint8Array, right: Uint8Array): Buffer {
  return sha256(NODE, left, right);
}

/** The level above: pairs hashed left to right, an unpaired last node promoted as it is. */
function parents(level: readonly Buffer[]): Buffer[] {
  const next: Buffer[] = [];
  for (let i = 0; i + 1 < level.length; i += 2) next.push(merkleNode(level[i]!, level[i + 1]!));
  if (level.length % 2 === 1) next.push(level[level.length - 1]!);
  return next;
}

/** The root, as 64 lowercase hex, of `txids` in the order given; at least one txid. */
export function merkleRoot(txids: readonly string[]): string {
  if (txids.length === 0) throw new RangeError('a Merkle root needs at least one txid');
  let level = txids.map(merkleLeaf);
  while (level.length > 1) {
    level = parents(level);
  }
  return level[0]!.toString('hex');
}

/** One step of an inclusion proof: the sibling hash and which side it sits on. */
export interface MerkleStep {
  readonly side: 'left' | 'right';
  readonly hash: string;
}

/** The path from the leaf of `txids[index]` to the root (promoted levels add no step). */
export function merkleProof(txids: readonly string[], index: number): MerkleStep[] {
  if (!Number.isInteger(index) || index < 0 || index >= txids.length) {
    throw new RangeError(`index ${index} is outside the ${txids.length} txids`);
  }
  const steps: MerkleStep[] = [];
  let level = txids.map(merkleLeaf);
  let position = index;
  while (level.length > 1) {
    const sibling = position % 2 === 0 ? position + 1 : position - 1;
    if (sibling < level.length) {
      steps.push({ side: position % 2 === 0 ? 'right' : 'left', hash: level[sibling]!.toString('hex') });
    }
    level = parents(level);
    position = Math.floor(position / 2);
  }
  return steps;
}

/** True when `proof` leads from `txid` to `root`. */
export function verifyMerkleProof(txid: string, proof: readonly MerkleStep[], root: string): boolean {
  let hash = merkleLeaf(txid);
  for (const step of proof) {
    const sibling = Buffer.from(step.hash, 'hex');
    hash = step.side === 'left' ? merkleNode(sibling, hash) : merkleNode(hash, sibling);
  }
  return hash.toString('hex') === root;
}
