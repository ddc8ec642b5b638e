// What a session keeps in `signing_sessions.context_json` to resume after a crash: the intent
// as the wallet signed it, the planned inputs and outputs (amounts as decimal strings in JSON),
// and once built, the unsigned Ark PSBT with each output's vout and script.
import type { NostrEvent } from '../domain/nostr-protocol.ts';
import type { Plan, PlannedInput, PlannedOutput } from './planner.ts';

export interface SessionContext {
  /** transfer | split | swap | liquidity | land */
  readonly kind: string;
  readonly human: string;
  readonly intent: {
    readonly event_id: string;
    readonly author: string;
    readonly action_id: string;
    readonly type: string;
    /** `params` exactly as the intent's content has them. */
    readonly params: unknown;
    readonly fee: { readonly asset_id: string; readonly amount: string };
    readonly event: NostrEvent;
  };
  readonly plan?: Plan;
  readonly vouts?: readonly number[];
  readonly scripts?: readonly string[];
  readonly unsignedArkPsbt?: string;
}

type Wire<T> = { [K in keyof T]: T[K] extends bigint ? string : T[K] };

export function toStored(context: SessionContext): string {
  return JSON.stringify(context, (_key, value: unknown) =>
    typeof value === 'bigint' ? value.toString() : value,
  );
}

export function fromStored(json: string): SessionContext {
  const raw = JSON.parse(json) as Omit<SessionContext, 'plan'> & {
    plan?: { inputs: Wire<PlannedInput>[]; outputs: Wire<PlannedOutput>[] };
  };
  if (!raw.plan) return raw as SessionContext;
  return {
    ...raw,
    plan: {
      inputs: raw.plan.inputs.map((i) => ({ ...i, amount: BigInt(i.amount), sats: BigInt(i.sats) })),
      outputs: raw.plan.outputs.map((o) => ({ ...o, amount: BigInt(o.amount), sats: BigInt(o.sats) })),
    },
  };
}
