// The 31511 signing challenge and 31512 response as docs/protocol.md (v1.1) defines them, and a
// strict reader of the decrypted challenge: the verifier only ever sees a well-formed one. Since
// v1.1 a session has one step: `psbts` holds the Ark tx and then one checkpoint per Ark input,
// and every signature names the PSBT it belongs to.
import { toAmount } from './amounts.ts';

/** The only challenge type of v1.1 (the v1.0 `sign_checkpoint_txs` step is gone). */
export type ChallengeType = 'sign_ark_tx';

export interface SighashRequest {
  /** 0: the Ark tx; 1 + i: the checkpoint of Ark input i. */
  readonly psbt_index: number;
  readonly input_index: number;
  readonly digest: string;
}

export interface ContextInput {
  readonly input_index: number;
  readonly vtxo_id: string;
  readonly owner: string;
  readonly asset_id: string;
  readonly amount: bigint;
  readonly sats: bigint;
}

export interface ContextOutput {
  readonly vout: number;
  readonly owner: string;
  readonly asset_id: string;
  readonly amount: bigint;
  readonly sats: bigint;
  readonly role: string;
}

/** The allocation commitment the Ark tx carries in an OP_RETURN output. */
export interface ContextCommitment {
  readonly vout: number;
  /** Hex sha256 of `preimage`. */
  readonly hash: string;
  /** The canonical JSON text that was hashed. */
  readonly preimage: string;
}

export interface ChallengeContext {
  readonly human?: string;
  readonly action_id: string;
  readonly type?: string;
  readonly ark_txid?: string;
  readonly batch_id?: string;
  readonly server_pubkey: string;
  /** The key that owns the gateway's VTXOs (fees, inventory); its Nostr key when absent. */
  readonly gateway_vtxo_pubkey?: string;
  readonly unilateral_exit_delay: { readonly type: 'blocks' | 'seconds'; readonly value: bigint };
  readonly inputs: readonly ContextInput[];
  readonly outputs: readonly ContextOutput[];
  readonly commitment: ContextCommitment;
  /** Everything else the gateway put in (params, fee, …), untouched. */
  readonly raw: Record<string, unknown>;
}

export interface Challenge {
  readonly session_id: string;
  readonly step: number;
  readonly step_total: number;
  readonly type: ChallengeType;
  /** The Ark tx, then checkpoint i for Ark input i (base64 PSBTs). */
  readonly psbts: readonly string[];
  readonly sighashes: readonly SighashRequest[];
  readonly payload_ref: string;
  readonly domain: string;
  readonly context: ChallengeContext;
  readonly expires_at: number;
}

export interface ResponseSignature {
  psbt_index: number;
  input_index: number;
  sig: string;
}

export interface ChallengeResponse {
  session_id: string;
  step: number;
  signatures: ResponseSignature[];
  payload_ref: string;
}

const HEX32 = /^[0-9a-f]{64}$/;

function fail(message: string): never {
  throw new Error(`malformed challenge: ${message}`);
}

const obj = (v: unknown, what: string): Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : fail(`${what} is not an object`);
const str = (v: unknown, what: string): string =>
  typeof v === 'string' ? v : fail(`${what} is not a string`);
const int = (v: unknown, what: string): number =>
  Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : fail(`${what} is not an integer`);
const hex32 = (v: unknown, what: string): string =>
  typeof v === 'string' && HEX32.test(v) ? v : fail(`${what} is not 32 bytes of hex`);
const amount = (v: unknown, what: string): bigint => {
  try {
    return toAmount(v, what);
  } catch (error) {
    return fail((error as Error).message);
  }
};

function parseCommitment(value: unknown): ContextCommitment {
  const c = obj(value, 'context.commitment');
  return {
    vout: int(c.vout, 'commitment.vout'),
    hash: hex32(c.hash, 'commitment.hash'),
    preimage: str(c.preimage, 'commitment.preimage'),
  };
}

function parseContext(value: unknown): ChallengeContext {
  const c = obj(value, 'context');
  const delay = obj(c.unilateral_exit_delay, 'context.unilateral_exit_delay');
  if (delay.type !== 'blocks' && delay.type !== 'seconds') fail('unilateral_exit_delay.type');
  if (!Array.isArray(c.inputs) || !Array.isArray(c.outputs)) fail('context.inputs and outputs must be lists');
  if (c.commitment === undefined) fail('context.commitment is missing');
  return {
    ...(typeof c.human === 'string' ? { human: c.human } : {}),
    action_id: str(c.action_id, 'context.action_id'),
    ...(typeof c.type === 'string' ? { type: c.type } : {}),
    ...(c.ark_txid !== undefined ? { ark_txid: hex32(c.ark_txid, 'context.ark_txid') } : {}),
    ...(c.batch_id !== undefined ? { batch_id: str(c.batch_id, 'context.batch_id') } : {}),
    server_pubkey: hex32(c.server_pubkey, 'context.server_pubkey'),
    ...(c.gateway_vtxo_pubkey !== undefined
      ? { gateway_vtxo_pubkey: hex32(c.gateway_vtxo_pubkey, 'context.gateway_vtxo_pubkey') }
      : {}),
    unilateral_exit_delay: { type: delay.type, value: amount(delay.value, 'unilateral_exit_delay.value') },
    inputs: c.inputs.map((v: unknown, i) => {
      const input = obj(v, `context.inputs[${i}]`);
      return {
        input_index: int(input.input_index, 'input_index'),
        vtxo_id: str(input.vtxo_id, 'vtxo_id'),
        owner: hex32(input.owner, 'input owner'),
        asset_id: str(input.asset_id, 'input asset_id'),
        amount: amount(input.amount, 'input amount'),
        sats: amount(input.sats, 'input sats'),
      };
    }),
    outputs: c.outputs.map((v: unknown, i) => {
      const output = obj(v, `context.outputs[${i}]`);
      return {
        vout: int(output.vout, 'vout'),
        owner: hex32(output.owner, 'output owner'),
        asset_id: str(output.asset_id, 'output asset_id'),
        amount: amount(output.amount, 'output amount'),
        sats: amount(output.sats, 'output sats'),
        role: str(output.role, 'output role'),
      };
    }),
    commitment: parseCommitment(c.commitment),
    raw: c,
  };
}

/** Parses decrypted 31511 content; throws on anything malformed or of another protocol version. */
export function parseChallenge(plaintext: string): Challenge {
  let value: unknown;
  try {
    value = JSON.parse(plaintext);
  } catch {
    fail('not JSON');
  }
  const c = obj(value, 'content');
  if (c.type !== 'sign_ark_tx') fail(`type ${String(c.type)} (v1.1 knows only sign_ark_tx)`);
  if (c.psbt !== undefined) fail('a v1.0 `psbt` field (v1.1 sends every PSBT in `psbts`)');
  if (!Array.isArray(c.psbts) || c.psbts.length === 0 || !c.psbts.every((p) => typeof p === 'string'))
    fail('psbts is not a non-empty list of strings');
  if (!Array.isArray(c.sighashes)) fail('sighashes is not a list');
  return {
    session_id: str(c.session_id, 'session_id'),
    step: int(c.step, 'step'),
    step_total: int(c.step_total, 'step_total'),
    type: c.type,
    psbts: c.psbts as string[],
    sighashes: c.sighashes.map((v: unknown, i) => {
      const s = obj(v, `sighashes[${i}]`);
      return {
        psbt_index: int(s.psbt_index, `sighashes[${i}].psbt_index`),
        input_index: int(s.input_index, `sighashes[${i}].input_index`),
        digest: hex32(s.digest, `sighashes[${i}].digest`),
      };
    }),
    payload_ref: hex32(c.payload_ref, 'payload_ref'),
    domain: typeof c.domain === 'string' ? c.domain : '',
    context: parseContext(c.context),
    expires_at: int(c.expires_at, 'expires_at'),
  };
}
