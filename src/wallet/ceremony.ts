// The wallet's side of a signing session: a 31511 challenge from a gateway key is decrypted,
// verified against the intent it approved, and — when fine and autoSign is on — answered with
// one 31512 carrying BIP-340 signatures over the digests the wallet recomputed, for the Ark tx
// and its checkpoints at once (protocol v1.1: one step per session). A refused challenge
// is never answered; the app hears a 'refused' event with the reason. Test hooks (onChallenge)
// can skip, delay, force, tamper with or re-sign an answer, to drive the gateway's own checks.
import { hex } from '@scure/base';
import { KIND, firstTag, type NostrEvent } from '../domain/nostr-protocol.ts';
import { parseChallenge, type Challenge, type ChallengeResponse } from './challenge.ts';
import type { ApprovedIntent } from './intents.ts';
import { WalletKey } from './keys.ts';
import { verifyChallenge, type KnownVtxo, type Signable, type Verdict } from './verify/verifier.ts';

export interface IncomingChallenge {
  readonly event: NostrEvent;
  readonly challenge: Challenge;
  readonly verdict: Verdict;
}

/** What to do with one challenge; returned by `onChallenge` or given to `wallet.respond`. */
export interface ChallengeDecision {
  /** Do not answer at all. */
  readonly skip?: boolean;
  /** Answer even though verification refused (signs the digests the challenge gives). */
  readonly force?: boolean;
  /** Wait this long before answering (to answer after the deadline). */
  readonly delayMs?: number;
  /** Sign the digests with this key instead of the wallet's own (the answer still comes from the wallet). */
  readonly signingKey?: WalletKey | Uint8Array | string;
  /** Publish the 31512 as another identity. */
  readonly author?: WalletKey;
  /** Sign this instead of the recomputed digest (a digest that does not match the PSBT). */
  readonly digest?: (slot: Signable) => Uint8Array;
  /** Change the response content before it is encrypted (step, payload_ref, signatures…). */
  readonly mutate?: (response: ChallengeResponse) => ChallengeResponse | void;
  /** Change the tags of the 31512. */
  readonly tags?: (tags: string[][]) => string[][];
}

export interface CeremonyDeps {
  readonly key: WalletKey;
  readonly gateways: () => readonly string[];
  readonly intent: (actionId: string) => ApprovedIntent | undefined;
  readonly knownVtxo: (vtxoId: string) => KnownVtxo | undefined;
  readonly publish: (event: NostrEvent) => Promise<unknown>;
  readonly serverPubkey?: string;
  readonly autoSign: boolean;
  readonly onChallenge?: (
    incoming: IncomingChallenge,
  ) => ChallengeDecision | undefined | void | Promise<ChallengeDecision | undefined | void>;
  readonly emit: {
    challenge(incoming: IncomingChallenge): void;
    refused(info: { challenge: Challenge | undefined; event: NostrEvent; reason: string }): void;
    responded(info: { challenge: Challenge; event: NostrEvent; response: ChallengeResponse }): void;
    error(error: Error): void;
  };
}

const stepKey = (sessionId: string, step: number) => `${sessionId}:${step}`;

export class Ceremony {
  readonly #deps: CeremonyDeps;
  readonly #challenges = new Map<string, IncomingChallenge>();
  readonly #answered = new Set<string>();

  constructor(deps: CeremonyDeps) {
    this.#deps = deps;
  }

  /** The challenges seen, newest verdict per session step. */
  get challenges(): readonly IncomingChallenge[] {
    return [...this.#challenges.values()];
  }

  challenge(sessionId: string, step: number): IncomingChallenge | undefined {
    return this.#challenges.get(stepKey(sessionId, step));
  }

  async handle(event: NostrEvent): Promise<void> {
    if (event.kind !== KIND.SIGNING_CHALLENGE || !this.#deps.gateways().includes(event.pubkey)) return;
    let challenge: Challenge;
    try {
      challenge = parseChallenge(this.#deps.key.decrypt(event.pubkey, event.content));
    } catch (error) {
      this.#deps.emit.refused({ challenge: undefined, event, reason: (error as Error).message });
      return;
    }
    const key = stepKey(challenge.session_id, challenge.step);
    if (this.#answered.has(key)) return; // the same step again (another relay, a re-send)
    const verdict = verifyChallenge(challenge, {
      me: this.#deps.key.pubkey,
      // Fees and inventory belong to the gateway's VTXO key, which the challenge names.
      gateway: challenge.context.gateway_vtxo_pubkey ?? event.pubkey,
      intent: this.#deps.intent(challenge.context.action_id),
      intentEventId: firstTag(event, 'e'),
      knownVtxo: this.#deps.knownVtxo,
      ...(this.#deps.serverPubkey !== undefined ? { serverPubkey: this.#deps.serverPubkey } : {}),
      now: Math.floor(Date.now() / 1000),
    });
    const incoming: IncomingChallenge = { event, challenge, verdict };
    this.#challenges.set(key, incoming);
    this.#deps.emit.challenge(incoming);
    const decision = (await this.#deps.onChallenge?.(incoming)) ?? undefined;
    if (!decision && !verdict.ok) {
      this.#deps.emit.refused({ challenge, event, reason: verdict.reason });
      return;
    }
    if (!decision && !this.#deps.autoSign) return; // the app answers with wallet.respond()
    await this.respond(challenge.session_id, challenge.step, decision ?? {});
  }

  /** Answers a seen challenge; refused ones only with `force`. Returns the 31512 or undefined. */
  async respond(
    sessionId: string,
    step: number,
    decision: ChallengeDecision = {},
  ): Promise<NostrEvent | undefined> {
    const incoming = this.#challenges.get(stepKey(sessionId, step));
    if (!incoming) throw new Error(`no challenge for ${sessionId} step ${step}`);
    const { challenge, verdict, event } = incoming;
    if (decision.skip) return undefined;
    if (!verdict.ok && !decision.force) {
      this.#deps.emit.refused({ challenge, event, reason: verdict.reason });
      return undefined;
    }
    if (decision.delayMs) await new Promise((resolve) => setTimeout(resolve, decision.delayMs));
    const slots: Signable[] = verdict.ok
      ? [...verdict.toSign]
      : challenge.sighashes.map((s) => ({
          psbtIndex: s.psbt_index,
          inputIndex: s.input_index,
          digest: hex.decode(s.digest),
        }));
    const signer = decision.signingKey
      ? decision.signingKey instanceof WalletKey
        ? decision.signingKey
        : WalletKey.from(decision.signingKey)
      : this.#deps.key;
    let response: ChallengeResponse = {
      session_id: challenge.session_id,
      step: challenge.step,
      signatures: slots.map((slot) => ({
        psbt_index: slot.psbtIndex,
        input_index: slot.inputIndex,
        sig: signer.signDigest(decision.digest ? decision.digest(slot) : slot.digest),
      })),
      payload_ref: challenge.payload_ref,
    };
    response = decision.mutate?.(response) ?? response;
    const author = decision.author ?? this.#deps.key;
    const tags = [
      ['p', event.pubkey],
      ['e', event.id],
      // Unique per answer: 31512 is addressable, and a relay keeps only one event per `d` — a
      // second answer to the same challenge (after a 3002) within the same second could be dropped.
      ['d', `${challenge.session_id}:${challenge.step}:${globalThis.crypto.randomUUID()}`],
    ];
    const reply = author.signEvent({
      kind: KIND.SIGNING_RESPONSE,
      created_at: Math.floor(Date.now() / 1000),
      tags: decision.tags ? decision.tags(tags) : tags,
      content: author.encrypt(event.pubkey, JSON.stringify(response)),
    });
    this.#answered.add(stepKey(sessionId, step));
    try {
      await this.#deps.publish(reply);
    } catch (error) {
      this.#answered.delete(stepKey(sessionId, step));
      this.#deps.emit.error(error as Error);
      throw error;
    }
    this.#deps.emit.responded({ challenge, event: reply, response });
    return reply;
  }
}
