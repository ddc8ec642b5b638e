// The content of a 31511 challenge and the check of a 31512 response (docs/protocol.md,
// "Signing sessions"). One step: the challenge carries the Ark tx and every checkpoint tx
// (`psbts`), and the answer signs all of them. The sighashes are always recomputed here from the
// gateway's own copy of the PSBTs — a digest a wallet echoes back is never trusted — and every
// signature the owner owes must verify against the owner's key.
import { createHash } from 'node:crypto';
import * as ecc from 'tiny-secp256k1';
import { hex } from '@scure/base';
import type { ArkServerInfo } from '../backends/ark/ark-backend.ts';
import { parsePsbt, sighashesFor } from '../backends/ark/psbt.ts';
import { ProtocolError } from '../domain/error-codes.ts';
import type { PreparedTx } from './context.ts';
import type { Plan } from './planner.ts';
import { SIGNING_STEP, type PreparedSession } from './records.ts';

export const CHALLENGE_TYPE = 'sign_ark_tx';

export interface SighashEntry {
  readonly input_index: number;
  readonly digest: string;
  readonly psbt_index: number;
}

/** What a response must echo: sha256 of the UTF-8 text of the base64 PSBTs joined by "\n". */
export function payloadRef(psbts: readonly string[]): string {
  return createHash('sha256').update(psbts.join('\n'), 'utf8').digest('hex');
}

/** Every sighash `owner` must sign in `psbts` (psbt_index = position in the list). */
export function ownerSighashes(psbts: readonly string[], owner: string): SighashEntry[] {
  return psbts.flatMap((psbt, psbtIndex) =>
    sighashesFor(parsePsbt(psbt), owner).map((h) => ({
      input_index: h.inputIndex,
      digest: h.digest,
      psbt_index: psbtIndex,
    })),
  );
}

/** The plan as a wallet reads it in `context`: amounts as decimal strings. */
function describePlan(plan: Plan, vouts: readonly number[]) {
  return {
    inputs: plan.inputs.map((input, i) => ({
      input_index: i,
      vtxo_id: input.vtxoId,
      owner: input.owner,
      asset_id: input.assetId,
      amount: input.amount.toString(),
      sats: input.sats.toString(),
    })),
    outputs: plan.outputs.map((output, i) => ({
      vout: vouts[i]!,
      owner: output.owner,
      asset_id: output.assetId,
      amount: output.amount.toString(),
      sats: output.sats.toString(),
      role: output.role,
    })),
  };
}

function serverContext(info: ArkServerInfo) {
  return {
    server_pubkey: info.signerPubkey,
    unilateral_exit_delay: {
      type: info.unilateralExitDelay.type,
      value: info.unilateralExitDelay.value.toString(),
    },
  };
}

/**
 * The 31511 content for one session of a prepared group: `psbts` are the Ark tx and its
 * checkpoints, unsigned, in input order.
 */
export function challengePayload(
  session: PreparedSession,
  psbts: readonly string[],
  info: ArkServerInfo,
  gatewayVtxoPubkey: string,
  expiresAtMs: number,
) {
  const { context, tx } = session;
  return {
    session_id: session.sessionId,
    step: SIGNING_STEP,
    step_total: SIGNING_STEP,
    type: CHALLENGE_TYPE,
    psbts: [...psbts],
    sighashes: ownerSighashes(psbts, session.owner),
    payload_ref: payloadRef(psbts),
    domain: 'ark_tx',
    context: {
      human: context.human,
      action_id: session.actionId,
      type: context.intent.type,
      params: context.intent.params,
      fee: context.intent.fee,
      ark_txid: tx.arkTxid,
      ...(session.batchId ? { batch_id: session.batchId } : {}),
      ...serverContext(info),
      gateway_vtxo_pubkey: gatewayVtxoPubkey,
      ...describePlan(session.plan, tx.vouts),
      ...commitmentContext(tx),
    },
    expires_at: Math.floor(expiresAtMs / 1000),
  };
}

function commitmentContext(tx: PreparedTx) {
  return tx.commitment
    ? { commitment: { vout: tx.commitment.vout, hash: tx.commitment.hash, preimage: tx.commitment.preimage } }
    : {};
}

export interface ResponseBody {
  readonly session_id: string;
  readonly step: number;
  readonly signatures: readonly {
    readonly input_index: number;
    readonly sig: string;
    readonly psbt_index: number;
  }[];
  readonly payload_ref: string;
}

const HEX64 = /^[0-9a-f]{64}$/;
const HEX128 = /^[0-9a-f]{128}$/;

/** Parses the decrypted 31512 content; 1002 for anything not of the documented shape. */
export function parseResponse(plaintext: string): ResponseBody {
  let body: unknown;
  try {
    body = JSON.parse(plaintext);
  } catch {
    throw new ProtocolError('MALFORMED_CONTENT', 'response content is not JSON');
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new ProtocolError('MALFORMED_CONTENT', 'response content must be an object');
  }
  const record = body as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!['session_id', 'step', 'signatures', 'payload_ref'].includes(key)) {
      throw new ProtocolError('MALFORMED_CONTENT', `unknown field "${key}"`);
    }
  }
  const { session_id, step, signatures, payload_ref } = record;
  if (typeof session_id !== 'string' || session_id.length === 0 || session_id.length > 64) {
    throw new ProtocolError('MALFORMED_CONTENT', 'session_id must be a string');
  }
  if (step !== SIGNING_STEP) throw new ProtocolError('MALFORMED_CONTENT', `step must be ${SIGNING_STEP}`);
  if (typeof payload_ref !== 'string' || !HEX64.test(payload_ref)) {
    throw new ProtocolError('MALFORMED_CONTENT', 'payload_ref must be 64 hex');
  }
  if (!Array.isArray(signatures) || signatures.length === 0 || signatures.length > 512) {
    throw new ProtocolError('MALFORMED_CONTENT', 'signatures must be a non-empty list');
  }
  const parsed = signatures.map((entry: unknown) => {
    const e = entry as Record<string, unknown>;
    if (!e || typeof e !== 'object')
      throw new ProtocolError('MALFORMED_CONTENT', 'a signature must be an object');
    for (const key of Object.keys(e)) {
      if (!['input_index', 'sig', 'psbt_index'].includes(key)) {
        throw new ProtocolError('MALFORMED_CONTENT', `unknown signature field "${key}"`);
      }
    }
    const psbtIndex = e.psbt_index;
    if (!Number.isSafeInteger(e.input_index) || (e.input_index as number) < 0) {
      throw new ProtocolError('MALFORMED_CONTENT', 'input_index must be an integer >= 0');
    }
    if (!Number.isSafeInteger(psbtIndex) || (psbtIndex as number) < 0) {
      throw new ProtocolError('MALFORMED_CONTENT', 'psbt_index must be an integer >= 0 on every signature');
    }
    if (typeof e.sig !== 'string' || !HEX128.test(e.sig)) {
      throw new ProtocolError('MALFORMED_CONTENT', 'sig must be a 64-byte hex BIP-340 signature');
    }
    return { input_index: e.input_index as number, sig: e.sig, psbt_index: psbtIndex as number };
  });
  return { session_id, step, signatures: parsed, payload_ref };
}

/**
 * Checks a response against the challenge's PSBTs: the payload matches, and for every sighash the
 * owner owes there is exactly one signature that verifies under the owner's key over the
 * digest recomputed from the PSBT. Returns the signatures in sighash order. 3002 otherwise.
 */
export function verifyResponse(
  response: ResponseBody,
  psbts: readonly string[],
  owner: string,
): { input_index: number; psbt_index: number; sig: string }[] {
  const invalid = (message: string) => new ProtocolError('CHALLENGE_RESPONSE_INVALID', message);
  if (response.payload_ref !== payloadRef(psbts)) throw invalid('payload_ref does not match the challenge');
  const owed = ownerSighashes(psbts, owner);
  const given = new Map(response.signatures.map((s) => [`${s.psbt_index}:${s.input_index}`, s.sig]));
  if (given.size !== response.signatures.length) throw invalid('a signature is given twice');
  if (given.size !== owed.length) throw invalid(`expected ${owed.length} signatures, got ${given.size}`);
  const pubkey = hex.decode(owner);
  return owed.map((slot) => {
    const sig = given.get(`${slot.psbt_index}:${slot.input_index}`);
    if (!sig) throw invalid(`no signature for input ${slot.input_index} of PSBT ${slot.psbt_index}`);
    if (!verifies(slot.digest, pubkey, sig)) {
      throw invalid(`signature for input ${slot.input_index} of PSBT ${slot.psbt_index} does not verify`);
    }
    return { input_index: slot.input_index, psbt_index: slot.psbt_index, sig };
  });
}

/** BIP-340 verification by libsecp256k1 (WASM); a malformed key or signature does not verify. */
function verifies(digest: string, pubkey: Uint8Array, sig: string): boolean {
  try {
    return ecc.verifySchnorr(hex.decode(digest), pubkey, hex.decode(sig));
  } catch {
    return false;
  }
}
