// The wallet's check of a 31511 challenge against the intent it approved, before it signs
// anything. Since protocol v1.1 one challenge carries the Ark tx and every checkpoint, and the
// wallet signs them all at once — so everything is checked here, in one go: the Ark tx
// (ark-tx.ts), its allocation commitment (commitment.ts), the checkpoints (checkpoints.ts), the
// asset flows against the intent (flows.ts) and the exact slots to sign (slots.ts). It trusts
// nothing the gateway computed: digests and scripts are recomputed from the PSBTs and keys. Any
// doubt is a refusal.
import type { Challenge } from '../challenge.ts';
import type { ApprovedIntent } from '../intents.ts';
import { checkArkInputs, checkArkOutputs, checkInputsListed } from './ark-tx.ts';
import { checkCheckpoints } from './checkpoints.ts';
import { checkCommitmentOutput, checkCommittedAllocation } from './commitment.ts';
import { checkFlows } from './flows.ts';
import { defaultVtxoScript, parsePsbt, payloadRefOfPsbts } from './psbt-facts.ts';
import { Refusal } from './refusal.ts';
import { signables } from './slots.ts';

/** A VTXO the wallet knows it owns (from sync_state, a confirmation, or told by the app). */
export interface KnownVtxo {
  readonly vtxoId: string;
  readonly assetId: string;
  readonly amount: bigint;
  readonly sats?: bigint;
}

export interface VerifyEnv {
  readonly me: string;
  readonly gateway: string;
  /** The intent the challenge's context.action_id names, if this wallet approved one. */
  readonly intent: ApprovedIntent | undefined;
  /** The intent event id the challenge e-tags. */
  readonly intentEventId: string | undefined;
  readonly knownVtxo: (vtxoId: string) => KnownVtxo | undefined;
  /** Pinned Ark server key; the context's must equal it when set. */
  readonly serverPubkey?: string;
  /** Unix seconds. */
  readonly now: number;
}

export interface Signable {
  /** 0: the Ark tx; 1 + i: the checkpoint of Ark input i. */
  readonly psbtIndex: number;
  readonly inputIndex: number;
  /** Recomputed by the wallet from the PSBT. */
  readonly digest: Uint8Array;
}

export type Verdict =
  | { readonly ok: true; readonly toSign: readonly Signable[] }
  | { readonly ok: false; readonly reason: string };

export function verifyChallenge(challenge: Challenge, env: VerifyEnv): Verdict {
  try {
    return { ok: true, toSign: check(challenge, env) };
  } catch (error) {
    if (error instanceof Refusal) return { ok: false, reason: error.message };
    return { ok: false, reason: `cannot verify: ${(error as Error).message}` };
  }
}

function checkAddressing(challenge: Challenge, env: VerifyEnv): ApprovedIntent {
  const ctx = challenge.context;
  const intent = env.intent;
  if (!intent || intent.actionId !== ctx.action_id) throw new Refusal(`no approved intent ${ctx.action_id}`);
  if (intent.author !== env.me) throw new Refusal('the intent is not this wallet’s');
  if (env.intentEventId !== undefined && env.intentEventId !== intent.eventId) {
    throw new Refusal('the challenge refers to another intent event');
  }
  if (challenge.expires_at <= env.now) throw new Refusal('the challenge has expired');
  if (challenge.step !== 1 || challenge.step_total !== 1) {
    throw new Refusal(`step ${challenge.step}/${challenge.step_total}: a v1.1 session has one step`);
  }
  if (env.serverPubkey !== undefined && ctx.server_pubkey !== env.serverPubkey) {
    throw new Refusal(`the Ark server key ${ctx.server_pubkey} is not the pinned one`);
  }
  return intent;
}

function check(challenge: Challenge, env: VerifyEnv): Signable[] {
  const intent = checkAddressing(challenge, env);
  const ctx = challenge.context;
  if (payloadRefOfPsbts(challenge.psbts) !== challenge.payload_ref) {
    throw new Refusal('payload_ref is not the hash of the PSBTs');
  }
  const { tx: arkTx } = parsePsbt(challenge.psbts[0]!, 'the Ark tx');
  if (ctx.ark_txid !== undefined && ctx.ark_txid !== arkTx.id) {
    throw new Refusal('context.ark_txid is not the Ark tx’s txid');
  }
  const mine = defaultVtxoScript(env.me, ctx.server_pubkey, ctx.unilateral_exit_delay);
  checkInputsListed(ctx, env.me, env.knownVtxo);
  checkArkInputs(arkTx, ctx, env.me, mine);
  checkCommitmentOutput(arkTx, ctx); // first: a missing commitment is the reason, not the anchors
  checkArkOutputs(arkTx, ctx);
  checkCommittedAllocation(ctx);
  checkFlows(ctx, intent, { me: env.me, gateway: env.gateway });
  const checkpoints = checkCheckpoints(challenge.psbts, arkTx, ctx, env.me, mine);
  return signables(challenge.sighashes, ctx, env.me, [arkTx, ...checkpoints], mine.forfeitScript);
}
