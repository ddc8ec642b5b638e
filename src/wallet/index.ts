// The ArkRelay reference wallet library: what a dApp imports. See docs/wallet.md.
export { ArkRelayWallet, type WalletOptions, type WalletEvents, type SyncState } from './wallet.ts';
export { WalletKey, toHexPubkey } from './keys.ts';
export {
  buildIntent,
  approvedIntent,
  canonicalType,
  transferParams,
  splitParams,
  landParams,
  legParams,
  intentFee,
  landFee,
  INTENT_TYPES,
  type IntentSpec,
  type IntentContent,
  type SignedIntent,
  type ApprovedIntent,
  type ApprovedTerms,
  type Fee,
} from './intents.ts';
export { RelayPool, type Filter } from './relays.ts';
export { ServiceError, ServiceTimeoutError, type SentRequest, type RequestOptions } from './service.ts';
export type { ChallengeDecision, IncomingChallenge } from './ceremony.ts';
export {
  parseChallenge,
  type Challenge,
  type ChallengeResponse,
  type ChallengeContext,
  type ContextCommitment,
} from './challenge.ts';
export {
  verifyChallenge,
  type Verdict,
  type VerifyEnv,
  type KnownVtxo,
  type Signable,
} from './verify/verifier.ts';
export { payloadRefOfPsbts, defaultVtxoScript } from './verify/psbt-facts.ts';
export { commitmentScript } from './verify/commitment.ts';
export { syncAllPages, SYNC_PAGE_LIMIT } from './sync-pages.ts';
export { OutcomeTimeoutError, type Outcome, type Confirmation, type FailureNotice } from './outcomes.ts';
export { VtxoBook } from './vtxo-book.ts';
export { toAmount, jsonAmount, type AmountLike } from './amounts.ts';
