// Wallets for the outage suites: the reference wallet with a switch for how it treats its next
// challenges — answers at once (`prompt`), holds its answer until the test releases it (`hold`),
// or never answers (`silent`).
import { expect } from 'vitest';
import { ArkRelayWallet, WalletKey, type ChallengeDecision, type Outcome } from '../../src/wallet/index.ts';

export type Mode = 'prompt' | 'hold' | 'silent';

export const AMOUNT = 20n;
/** The reference wallet's default intent fee, in gBTC. */
export const FEE = 10n;

export interface Sent {
  readonly player: Player;
  readonly actionId: string;
  readonly eventId: string;
  outcome(timeoutMs: number): Promise<Outcome>;
}

export class Player {
  readonly name: string;
  mode: Mode = 'prompt';
  /** Sessions whose challenge reached this wallet, in order. */
  readonly challenged: string[] = [];
  readonly #held: (() => void)[] = [];
  #wallet: ArkRelayWallet | undefined;

  constructor(name: string) {
    this.name = name;
  }

  get wallet(): ArkRelayWallet {
    if (!this.#wallet) throw new Error(`${this.name} is not connected`);
    return this.#wallet;
  }

  get pubkey(): string {
    return this.wallet.pubkey;
  }

  /** Answers held back so far. */
  get holding(): number {
    return this.#held.length;
  }

  async connect(gatewayPubkey: string, relays: readonly string[]): Promise<this> {
    this.#wallet = await ArkRelayWallet.connect({
      gatewayPubkey,
      relays,
      onChallenge: (incoming) => this.#decide(incoming.challenge.session_id),
    });
    return this;
  }

  #decide(sessionId: string): ChallengeDecision | undefined | Promise<ChallengeDecision> {
    this.challenged.push(sessionId);
    if (this.mode === 'silent') return { skip: true };
    if (this.mode === 'hold') return new Promise((resolve) => this.#held.push(() => resolve({})));
    return undefined; // verified and signed as usual
  }

  /** Sends every held answer now. */
  release(): void {
    for (const answer of this.#held.splice(0)) answer();
  }

  /** Publishes a transfer of AMOUNT gBTC to a new key. */
  async transfer(): Promise<Sent> {
    const wallet = this.wallet;
    const intent = wallet.transferIntent({
      recipient: WalletKey.generate().pubkey,
      assetId: 'gBTC',
      amount: AMOUNT,
    });
    expect(await wallet.publishIntent(intent)).not.toHaveLength(0);
    const actionId = intent.content.action_id;
    return {
      player: this,
      actionId,
      eventId: intent.event.id,
      outcome: (timeoutMs) => wallet.outcome(actionId, timeoutMs),
    };
  }

  close(): void {
    this.#wallet?.close();
  }
}

/** What became of each transfer, as `name: settled` or `name: <code>`. */
export async function outcomesOf(sent: readonly Sent[], timeoutMs: number): Promise<string[]> {
  return Promise.all(
    sent.map(async (s) => {
      const outcome = await s.outcome(timeoutMs).catch((error: unknown) => ({
        status: `no outcome (${(error as Error).message})`,
      }));
      return `${s.player.name}: ${outcome.status === 'failed' && 'code' in outcome ? outcome.code : outcome.status}`;
    }),
  );
}
