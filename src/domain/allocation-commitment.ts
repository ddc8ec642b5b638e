// The allocation commitment every Ark transaction of the gateway carries (docs/protocol.md,
// "Allocation commitment"). Asset colours live in the ledger, not in the Ark transaction; one
// OP_RETURN output binds the transaction to what it allocates — every VTXO output with its owner,
// asset and amount, and the action ids it settles — so any party can check an announced
// allocation against the transaction, and two intents never build byte-identical transactions.
//
//   data     = "arkrelay" || 0x01 || sha256(preimage)          (41 bytes)
//   script   = OP_RETURN <push 41> data                         (6a 29 …, value 0)
//   preimage = {"v":1,"action_ids":[…],"outputs":[{"vout","owner","asset_id","amount"},…]}
//
// The tag is lower case: arkd reads an OP_RETURN whose data begins with "ARK" as its own extension
// packet, and one pushing exactly 32 bytes as a sub-dust VTXO. Pure: no I/O.
import { createHash } from 'node:crypto';

export const COMMITMENT_TAG = 'arkrelay';
export const COMMITMENT_VERSION = 1;
const TAG_BYTES = new TextEncoder().encode(COMMITMENT_TAG);
const OP_RETURN = 0x6a;
const DATA_LENGTH = TAG_BYTES.length + 1 + 32;

export interface AllocatedOutput {
  readonly vout: number;
  readonly owner: string;
  readonly assetId: string;
  readonly amount: bigint;
}

export interface AllocationCommitment {
  /** Where the OP_RETURN output sits: right after the VTXO outputs. */
  readonly vout: number;
  /** Hex sha256 of the preimage. */
  readonly hash: string;
  /** The canonical JSON text that was hashed. */
  readonly preimage: string;
  /** The OP_RETURN data (tag, version, hash): what the backend puts in the output. */
  readonly data: Uint8Array;
}

/** The canonical preimage: keys in this order, no whitespace, amounts as decimal strings. */
export function commitmentPreimage(
  actionIds: readonly string[],
  outputs: readonly AllocatedOutput[],
): string {
  const ordered = [...outputs].sort((a, b) => a.vout - b.vout);
  return JSON.stringify({
    v: COMMITMENT_VERSION,
    action_ids: [...actionIds],
    outputs: ordered.map((o) => ({
      vout: o.vout,
      owner: o.owner,
      asset_id: o.assetId,
      amount: o.amount.toString(),
    })),
  });
}

/** The commitment of a transaction whose VTXO outputs are `outputs` (vouts 0..n-1). */
export function allocationCommitment(
  actionIds: readonly string[],
  outputs: readonly AllocatedOutput[],
): AllocationCommitment {
  const preimage = commitmentPreimage(actionIds, outputs);
  const hash = createHash('sha256').update(preimage, 'utf8').digest();
  const data = new Uint8Array(DATA_LENGTH);
  data.set(TAG_BYTES, 0);
  data[TAG_BYTES.length] = COMMITMENT_VERSION;
  data.set(hash, TAG_BYTES.length + 1);
  return { vout: outputs.length, hash: hash.toString('hex'), preimage, data };
}

/** The output script carrying `data`: OP_RETURN and one direct push (data is under 76 bytes). */
export function opReturnScript(data: Uint8Array): Uint8Array {
  if (data.length === 0 || data.length > 75) throw new RangeError('OP_RETURN data must be 1-75 bytes');
  const script = new Uint8Array(data.length + 2);
  script[0] = OP_RETURN;
  script[1] = data.length;
  script.set(data, 2);
  return script;
}

/** The hash an output script commits to, when it is an allocation commitment; else undefined. */
export function committedHash(script: Uint8Array): string | undefined {
  if (script.length !== DATA_LENGTH + 2 || script[0] !== OP_RETURN || script[1] !== DATA_LENGTH)
    return undefined;
  for (let i = 0; i < TAG_BYTES.length; i++) if (script[2 + i] !== TAG_BYTES[i]) return undefined;
  if (script[2 + TAG_BYTES.length] !== COMMITMENT_VERSION) return undefined;
  return Buffer.from(script.subarray(2 + TAG_BYTES.length + 1)).toString('hex');
}

/** The wire form in a challenge's context and a 31340. */
export function commitmentJson(commitment: Pick<AllocationCommitment, 'vout' | 'hash' | 'preimage'>) {
  return { vout: commitment.vout, hash: commitment.hash, preimage: commitment.preimage };
}
