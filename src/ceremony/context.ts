// What a session keeps in `signing_sessions.context_json` to resume after a crash: the intent as
// the wallet signed it, the planned inputs and outputs (amounts as decimal strings in JSON), and
// once built, the Ark tx's id, each output's vout and script, and its allocation commitment. The
// PSBTs themselves live once per transaction in `ark_transactions`. This file is the one reader
// and writer of that JSON.
import type { NostrEvent } from '../domain/nostr-protocol.ts';
import type { Plan, PlannedInput, PlannedOutput } from './planner.ts';

export interface IntentSnapshot {
  readonly event_id: string;
  readonly author: string;
  readonly action_id: string;
  readonly type: string;
  /** `params` exactly as the intent's content has them. */
  readonly params: unknown;
  readonly fee: { readonly asset_id: string; readonly amount: string };
  readonly event: NostrEvent;
}

/** The commitment as a challenge and a 31340 show it (docs/protocol.md, "Allocation commitment"). */
export interface StoredCommitment {
  readonly vout: number;
  readonly hash: string;
  readonly preimage: string;
}

/** The group's built Ark transaction, as each of its sessions remembers it. */
export interface PreparedTx {
  readonly arkTxid: string;
  /** The vout of each plan output, in plan order. */
  readonly vouts: readonly number[];
  /** The hex scriptPubKey of each plan output, in plan order. */
  readonly scripts: readonly string[];
  /** null only for transactions built before commitments existed. */
  readonly commitment: StoredCommitment | null;
}

export interface SessionContext {
  /** transfer | split | swap | liquidity | land */
  readonly kind: string;
  readonly human: string;
  readonly intent: IntentSnapshot;
  readonly plan?: Plan;
  readonly tx?: PreparedTx;
}

type Wire<T> = { [K in keyof T]: T[K] extends bigint ? string : T[K] };

interface StoredJson {
  kind: string;
  human: string;
  intent: IntentSnapshot;
  plan?: { inputs: Wire<PlannedInput>[]; outputs: Wire<PlannedOutput>[] };
  tx?: PreparedTx;
  /** Before commitments, the build was stored flat: vouts and scripts, the txid in the row. */
  vouts?: number[];
  scripts?: string[];
}

export function serializeContext(context: SessionContext): string {
  return JSON.stringify(context, (_key, value: unknown) =>
    typeof value === 'bigint' ? value.toString() : value,
  );
}

/** Reads a stored context; `arkTxid` (the row's) completes one stored before commitments existed. */
export function parseContext(json: string, arkTxid: string | null = null): SessionContext {
  const raw = JSON.parse(json) as StoredJson;
  if (typeof raw?.kind !== 'string' || typeof raw.intent?.event_id !== 'string') {
    throw new Error('a session context without its intent');
  }
  const plan: Plan | undefined = raw.plan && {
    inputs: raw.plan.inputs.map((i) => ({ ...i, amount: BigInt(i.amount), sats: BigInt(i.sats) })),
    outputs: raw.plan.outputs.map((o) => ({ ...o, amount: BigInt(o.amount), sats: BigInt(o.sats) })),
  };
  const tx: PreparedTx | undefined =
    raw.tx ??
    (raw.vouts && arkTxid
      ? { arkTxid, vouts: raw.vouts, scripts: raw.scripts ?? [], commitment: null }
      : undefined);
  return {
    kind: raw.kind,
    human: raw.human,
    intent: raw.intent,
    ...(plan ? { plan } : {}),
    ...(tx ? { tx } : {}),
  };
}
