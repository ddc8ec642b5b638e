// The allocation commitment (docs/protocol.md, "Allocation commitment"), checked by the wallet on
// its own — never with the gateway's helper, so one bug cannot hide in both. Asset colours are
// not in the Ark tx; this OP_RETURN output binds the tx to them. The wallet signs only when the
// output commits to exactly the allocation the context shows (every VTXO output's owner, asset
// and amount) and to its own intent's action id: a gateway cannot announce one allocation to the
// wallet and record another, since anyone can check the 31340's commitment against the tx.
import type { Transaction } from '@arkade-os/sdk';
import { sha256 } from '@noble/hashes/sha2.js';
import { hex } from '@scure/base';
import type { ChallengeContext, ContextOutput } from '../challenge.ts';
import { Refusal } from './refusal.ts';

const TAG = new TextEncoder().encode('arkrelay');
const VERSION = 0x01;
const OP_RETURN = 0x6a;

/** `6a 29 "arkrelay" 01 <hash>`: OP_RETURN and one 41-byte push of tag, version and hash. */
export function commitmentScript(hash: Uint8Array): Uint8Array {
  const data = new Uint8Array([...TAG, VERSION, ...hash]);
  return new Uint8Array([OP_RETURN, data.length, ...data]);
}

interface CommittedOutput {
  readonly vout: number;
  readonly owner: string;
  readonly asset_id: string;
  readonly amount: string;
}

interface Preimage {
  readonly v: 1;
  readonly action_ids: readonly string[];
  readonly outputs: readonly CommittedOutput[];
}

const sameKeys = (value: object, keys: readonly string[]) =>
  Object.keys(value).length === keys.length && keys.every((k) => Object.hasOwn(value, k));

function parsePreimage(text: string): Preimage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Refusal('the commitment preimage is not JSON');
  }
  const p = value as Preimage;
  if (typeof value !== 'object' || value === null || !sameKeys(value, ['v', 'action_ids', 'outputs'])) {
    throw new Refusal('the commitment preimage is not {v, action_ids, outputs}');
  }
  if (p.v !== 1) throw new Refusal(`the commitment preimage is version ${String(p.v)}, not 1`);
  if (!Array.isArray(p.action_ids) || !p.action_ids.every((a) => typeof a === 'string')) {
    throw new Refusal('the commitment preimage has no list of action ids');
  }
  if (!Array.isArray(p.outputs)) throw new Refusal('the commitment preimage has no list of outputs');
  for (const o of p.outputs as unknown[]) {
    const out = o as CommittedOutput;
    if (
      typeof o !== 'object' ||
      o === null ||
      !sameKeys(o, ['vout', 'owner', 'asset_id', 'amount']) ||
      !Number.isSafeInteger(out.vout) ||
      typeof out.owner !== 'string' ||
      typeof out.asset_id !== 'string' ||
      typeof out.amount !== 'string' ||
      !/^(0|[1-9]\d*)$/.test(out.amount)
    ) {
      throw new Refusal(
        'the commitment preimage lists an output that is not {vout, owner, asset_id, amount}',
      );
    }
  }
  return p;
}

/** The preimage's outputs are context.outputs, all of them in vout order, and nothing else. */
function sameAllocation(committed: readonly CommittedOutput[], listed: readonly ContextOutput[]): void {
  const expected = [...listed].sort((a, b) => a.vout - b.vout);
  if (committed.length !== expected.length) {
    throw new Refusal(
      `the commitment allocates ${committed.length} outputs, the context lists ${expected.length}`,
    );
  }
  expected.forEach((e, i) => {
    const c = committed[i]!;
    if (
      c.vout !== e.vout ||
      c.owner !== e.owner ||
      c.asset_id !== e.asset_id ||
      c.amount !== e.amount.toString()
    ) {
      throw new Refusal(
        `the commitment allocates ${c.amount} ${c.asset_id} to ${c.owner} at vout ${c.vout}, the context ${e.amount} ${e.asset_id} to ${e.owner} at vout ${e.vout}`,
      );
    }
  });
}

/** Output context.commitment.vout is the zero-value OP_RETURN of sha256(preimage). */
export function checkCommitmentOutput(tx: Transaction, ctx: ChallengeContext): void {
  const { vout, hash, preimage } = ctx.commitment;
  const digest = sha256(new TextEncoder().encode(preimage));
  if (hex.encode(digest) !== hash) throw new Refusal('commitment.hash is not the sha256 of its preimage');
  if (vout >= tx.outputsLength) throw new Refusal(`the Ark tx has no output ${vout} for the commitment`);
  const out = tx.getOutput(vout);
  if (!out.script || hex.encode(out.script) !== hex.encode(commitmentScript(digest))) {
    throw new Refusal(`output ${vout} is not the allocation commitment of context.commitment`);
  }
  if (out.amount !== 0n) throw new Refusal(`the commitment output ${vout} carries ${out.amount} sats, not 0`);
}

/** The preimage allocates exactly context.outputs and names this intent, in canonical text. */
export function checkCommittedAllocation(ctx: ChallengeContext): void {
  const { preimage } = ctx.commitment;
  const parsed = parsePreimage(preimage);
  if (!parsed.action_ids.includes(ctx.action_id)) {
    throw new Refusal(`the commitment does not name the action ${ctx.action_id}`);
  }
  sameAllocation(parsed.outputs, ctx.outputs);
  // The text itself must be the canonical form: a duplicate key or other spelling could read
  // differently to another parser than it did to this one.
  const canonical = JSON.stringify({
    v: 1,
    action_ids: parsed.action_ids,
    outputs: parsed.outputs.map((o) => ({
      vout: o.vout,
      owner: o.owner,
      asset_id: o.asset_id,
      amount: o.amount,
    })),
  });
  if (canonical !== preimage) throw new Refusal('the commitment preimage is not in canonical form');
}
