// What became of each intent: a 31340 confirmation naming it (in `action_ids` or by e-tagging the
// intent event) settles it; a 31341 failure notice about it fails it. 3002 is not an end: the
// step stays open and the wallet may answer again, so it does not decide an outcome.
import { ERROR_CODES } from '../domain/error-codes.ts';

export interface ConfirmedVtxo {
  readonly vtxo_id: string;
  readonly owner: string;
  readonly asset_id: string;
  readonly amount: string | number;
}

export interface Confirmation {
  readonly action_ids: readonly string[];
  readonly ark_txid: string;
  readonly batch_id?: string;
  readonly spent: readonly ConfirmedVtxo[];
  readonly created: readonly ConfirmedVtxo[];
  readonly fees: readonly { asset_id: string; amount: string | number; payer: string }[];
  /** The allocation commitment the Ark tx carries (v1.1): its OP_RETURN vout, hash and preimage. */
  readonly commitment?: { readonly vout: number; readonly hash: string; readonly preimage: string };
  readonly settled_at: number | string;
}

export interface FailureNotice {
  readonly action_id: string | null;
  readonly code: number;
  readonly message: string;
  readonly details?: Record<string, unknown>;
}

export type Outcome =
  | { readonly status: 'settled'; readonly confirmation: Confirmation; readonly eventId: string }
  | {
      readonly status: 'failed';
      readonly code: number;
      readonly message: string;
      readonly details: Record<string, unknown>;
      readonly eventId: string;
    };

/** Failure codes that leave the intent open (the wallet may still answer). */
const NOT_FINAL: readonly number[] = [ERROR_CODES.CHALLENGE_RESPONSE_INVALID.code];

export class OutcomeTimeoutError extends Error {
  constructor(actionId: string, timeoutMs: number) {
    super(`no outcome for ${actionId} within ${timeoutMs} ms`);
    this.name = 'OutcomeTimeoutError';
  }
}

export class OutcomeTracker {
  readonly #outcomes = new Map<string, Outcome>();
  readonly #waiters = new Map<string, Set<(outcome: Outcome) => void>>();
  readonly #actionOfIntentEvent = new Map<string, string>();

  /** Lets a confirmation that only e-tags the intent event find the action. */
  registerIntent(eventId: string, actionId: string): void {
    this.#actionOfIntentEvent.set(eventId, actionId);
  }

  /** Returns the action ids it settled. */
  confirmed(confirmation: Confirmation, eventId: string, eTags: readonly string[]): string[] {
    const ids = new Set(Array.isArray(confirmation.action_ids) ? confirmation.action_ids : []);
    for (const e of eTags) {
      const action = this.#actionOfIntentEvent.get(e);
      if (action) ids.add(action);
    }
    for (const id of ids) this.#decide(id, { status: 'settled', confirmation, eventId });
    return [...ids];
  }

  /** Returns the action id it failed, if the notice is final and names one. */
  failed(notice: FailureNotice, eventId: string, eTags: readonly string[]): string | undefined {
    if (NOT_FINAL.includes(notice.code)) return undefined;
    const actionId =
      eTags.map((e) => this.#actionOfIntentEvent.get(e)).find((a) => a !== undefined) ??
      notice.action_id ??
      undefined;
    if (!actionId) return undefined;
    this.#decide(actionId, {
      status: 'failed',
      code: notice.code,
      message: notice.message,
      details: notice.details ?? {},
      eventId,
    });
    return actionId;
  }

  #decide(actionId: string, outcome: Outcome): void {
    if (this.#outcomes.has(actionId)) return; // the first word is final
    this.#outcomes.set(actionId, outcome);
    for (const resolve of this.#waiters.get(actionId) ?? []) resolve(outcome);
    this.#waiters.delete(actionId);
  }

  get(actionId: string): Outcome | undefined {
    return this.#outcomes.get(actionId);
  }

  wait(actionId: string, timeoutMs: number): Promise<Outcome> {
    const known = this.#outcomes.get(actionId);
    if (known) return Promise.resolve(known);
    return new Promise((resolve, reject) => {
      const done = (outcome: Outcome) => {
        clearTimeout(timer);
        resolve(outcome);
      };
      const timer = setTimeout(() => {
        this.#waiters.get(actionId)?.delete(done);
        reject(new OutcomeTimeoutError(actionId, timeoutMs));
      }, timeoutMs);
      let set = this.#waiters.get(actionId);
      if (!set) this.#waiters.set(actionId, (set = new Set()));
      set.add(done);
    });
  }
}
