// The 31511 signing challenge and 31512 response as docs/protocol.md defines them, and a strict
// reader of the decrypted challenge: the verifier only ever sees a well-formed one.
import { toAmount } from './amounts.ts';

export type ChallengeType = 'sign_ark_tx' | 'sign_checkpoint_txs' | 'sign_payload';

export interface SighashRequest {
  readonly input_index: number;
  readonly digest: string;
  readonly psbt_index?: number;
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

export interface ChallengeContext {
  readonly human?: string;
  readonly action_id: string;
  readonly type?: string;
  readonly ark_txid?: string;
  readonly server_pubkey: string;
  /** The key that owns the gateway's VTXOs (fees, inventory); its Nostr key when absent. */
  readonly gateway_vtxo_pubkey?: string;
  readonly unilateral_exit_delay: { readonly type: 'blocks' | 'seconds'; readonly value: bigint };
  readonly inputs: readonly ContextInput[];
  readonly outputs: readonly ContextOutput[];
  /** Everything else the gateway put in (params, fee, …), untouched. */
  readonly raw: Record<string, unknown>;
}

export interface Challenge {
  readonly session_id: string;
  readonly step: number;
  readonly step_total: number;
  readonly type: ChallengeType;
  readonly psbt?: string;
  readonly psbts?: readonly string[];
  readonly sighashes: readonly SighashRequest[];
  readonly payload_ref: string;
  readonly domain: string;
  readonly context: ChallengeContext;
  readonly expires_at: number;
}

export interface ResponseSignature {
  input_index: number;
  sig: string;
  psbt_index?: number;
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

function parseContext(value: unknown): ChallengeContext {
  const c = obj(value, 'context');
  const delay = obj(c.unilateral_exit_delay, 'context.unilateral_exit_delay');
  if (delay.type !== 'blocks' && delay.type !== 'seconds') fail('unilateral_exit_delay.type');
  if (!Array.isArray(c.inputs) || !Array.isArray(c.outputs)) fail('context.inputs and outputs must be lists');
  return {
    ...(typeof c.human === 'string' ? { human: c.human } : {}),
    action_id: str(c.action_id, 'context.action_id'),
    ...(typeof c.type === 'string' ? { type: c.type } : {}),
    ...(c.ark_txid !== undefined ? { ark_txid: hex32(c.ark_txid, 'context.ark_txid') } : {}),
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
    raw: c,
  };
}

/** Parses decrypted 31511 content; throws on anything malformed. */
export function parseChallenge(plaintext: string): Challenge {
  let value: unknown;
  try {
    value = JSON.parse(plaintext);
  } catch {
    fail('not JSON');
  }
  const c = obj(value, 'content');
  const type = c.type;
  if (type !== 'sign_ark_tx' && type !== 'sign_checkpoint_txs' && type !== 'sign_payload')
    fail(`type ${String(type)}`);
  if (!Array.isArray(c.sighashes)) fail('sighashes is not a list');
  if (c.psbts !== undefined && !(Array.isArray(c.psbts) && c.psbts.every((p) => typeof p === 'string')))
    fail('psbts is not a list of strings');
  return {
    session_id: str(c.session_id, 'session_id'),
    step: int(c.step, 'step'),
    step_total: int(c.step_total, 'step_total'),
    type,
    ...(c.psbt !== undefined ? { psbt: str(c.psbt, 'psbt') } : {}),
    ...(c.psbts !== undefined ? { psbts: c.psbts as string[] } : {}),
    sighashes: c.sighashes.map((v: unknown, i) => {
      const s = obj(v, `sighashes[${i}]`);
      return {
        input_index: int(s.input_index, 'input_index'),
        digest: hex32(s.digest, 'digest'),
        ...(s.psbt_index !== undefined ? { psbt_index: int(s.psbt_index, 'psbt_index') } : {}),
      };
    }),
    payload_ref: hex32(c.payload_ref, 'payload_ref'),
    domain: typeof c.domain === 'string' ? c.domain : '',
    context: parseContext(c.context),
    expires_at: int(c.expires_at, 'expires_at'),
  };
}
