// The Ark server (arkd) as the gateway needs it. The ledger reads server info (signer key,
// network, dust, exit delays, fees) to build VTXO scripts and to refuse outputs below dust; it
// creates inventory VTXOs in batches and lists VTXOs by script or outpoint to reconcile its
// rows with the server's indexer. The ceremony builds an offchain transfer (the Ark tx and one
// checkpoint tx per input, as PSBTs, plus which key must sign which input), hands the PSBTs to
// the wallets (and signs inventory inputs itself), submits the signed Ark tx (`SubmitTx`: the
// server verifies the owners' BIP-340 signatures, co-signs the Ark tx and signs the
// checkpoints), collects the owners' checkpoint signatures and finalizes (`FinalizeTx`); after
// a crash it finds a submitted-but-not-finalized tx again (`GetPendingTx`). The transaction
// stream feeds settlement and the L1-commitment job. The Ark tx moves only sats: the asset
// colour of a VTXO lives in the gateway's database, never here.
import type { BackendLifecycle, Unsubscribe } from '../types.ts';

export interface Outpoint {
  readonly txid: string;
  readonly vout: number;
}

/** A relative timelock as arkd states it: in blocks, or in seconds (multiples of 512). */
export interface RelativeDelay {
  readonly type: 'blocks' | 'seconds';
  readonly value: bigint;
}

export interface ArkServerInfo {
  /** x-only hex key of the server; it co-signs every VTXO script and checkpoint. */
  readonly signerPubkey: string;
  /** bitcoin | testnet | signet | mutinynet | regtest */
  readonly network: string;
  /** Smallest output amount the server accepts, sats. */
  readonly dust: bigint;
  /** Delay of a VTXO's unilateral exit path (the CSV of the owner-only leaf). */
  readonly unilateralExitDelay: RelativeDelay;
  readonly boardingExitDelay: RelativeDelay;
  /** Hex tapscript of the server's unroll leaf in every checkpoint output. */
  readonly checkpointTapscript: string;
  /** Fee programs as arkd publishes them (CEL expressions; empty = free). */
  readonly fees: {
    readonly txFeeRate: string;
    readonly intent: {
      readonly offchainInput: string;
      readonly offchainOutput: string;
      readonly onchainInput: string;
      readonly onchainOutput: string;
    };
  };
  /** Smallest and largest VTXO amounts; max -1 means unlimited. */
  readonly vtxoMinAmount: bigint;
  readonly vtxoMaxAmount: bigint;
  /** Batch (round) lifetime in seconds: VTXOs expire this long after their batch. */
  readonly batchExpirySeconds: bigint;
  /** How many OP_RETURN outputs an offchain tx may carry (arkd's max_op_return_outputs, >= 1). */
  readonly maxOpReturnOutputs: number;
  readonly version: string;
}

/** The default VTXO script of an owner: forfeit leaf (owner + server), exit leaf (owner after delay). */
export interface VtxoScriptInfo {
  readonly ownerPubkey: string;
  /** Hex scriptPubKey (P2TR) an output to this owner carries. */
  readonly pkScript: string;
  /** The owner's Ark address (bech32m) on this server's network. */
  readonly address: string;
}

export interface ArkVtxo {
  readonly outpoint: Outpoint;
  /** Hex scriptPubKey. */
  readonly script: string;
  readonly amount: bigint;
  /** Unix seconds. */
  readonly createdAt: number;
  /** Unix seconds; the batch expiry after which the server may sweep it. */
  readonly expiresAt: number;
  readonly spent: boolean;
  /** The Ark txid that spent it, when spent offchain. */
  readonly spentBy?: string;
  /** The submitted, not yet finalized Ark tx that holds it (unspent until that tx is final). */
  readonly pendingBy?: string;
  /** The Ark or commitment txid that created it. */
  readonly createdBy: string;
  /** Not yet settled in a batch (created by an offchain tx). */
  readonly preconfirmed: boolean;
  readonly swept: boolean;
}

export interface VtxoFilter {
  /** Hex scriptPubKeys; one of scripts or outpoints is required. */
  readonly scripts?: readonly string[];
  readonly outpoints?: readonly Outpoint[];
  /** Only unspent, unswept VTXOs. */
  readonly spendableOnly?: boolean;
}

export interface TransferInput {
  readonly outpoint: Outpoint;
  /** x-only hex key that owns the VTXO (user key, or the gateway's inventory key). */
  readonly ownerPubkey: string;
  /** Sats inside the VTXO (must match the server's view). */
  readonly amount: bigint;
}

export interface TransferOutput {
  /** x-only hex key the new VTXO belongs to (its default VTXO script is derived from it). */
  readonly ownerPubkey: string;
  readonly amount: bigint;
}

export interface BuildOptions {
  /**
   * Data of one zero-value OP_RETURN output, placed after the outputs and before the anchor (the
   * gateway's allocation commitment). Refused when the server allows no OP_RETURN output.
   */
  readonly opReturn?: Uint8Array;
}

/** One signature a key owes: input `inputIndex` of the Ark tx, or of checkpoint `checkpoint`. */
export interface SignatureSlot {
  readonly tx: 'ark' | 'checkpoint';
  /** Index into checkpointPsbts when tx is `checkpoint`; 0 for the Ark tx. */
  readonly checkpoint: number;
  readonly inputIndex: number;
  readonly pubkey: string;
}

export interface BuiltTransfer {
  /** Txid of the unsigned Ark tx (signatures do not change it). */
  readonly arkTxid: string;
  /** Base64 PSBT of the Ark tx; input i spends checkpoint i's output 0. */
  readonly arkPsbt: string;
  /** Base64 PSBTs; checkpoint i spends TransferInput i. */
  readonly checkpointPsbts: readonly string[];
  readonly inputs: readonly TransferInput[];
  /** Outputs in order with their vouts (the anchor and OP_RETURN outputs are not listed). */
  readonly outputs: readonly (TransferOutput & { readonly vout: number; readonly pkScript: string })[];
  /** The vout of the OP_RETURN output, when BuildOptions.opReturn asked for one. */
  readonly opReturnVout?: number;
  /** Owners' signatures the Ark tx needs before submit (`tx: 'ark'`) and the checkpoints need
   * before finalize (`tx: 'checkpoint'`). The server's own signatures are not listed. */
  readonly signatures: readonly SignatureSlot[];
}

export interface SubmittedTx {
  readonly arkTxid: string;
  /** Base64 Ark tx with the owners' and the server's signatures. */
  readonly finalArkPsbt: string;
  /** Base64 checkpoints signed by the server, waiting for the owners' signatures. */
  readonly signedCheckpointPsbts: readonly string[];
}

export type PendingTxLookup =
  | { readonly state: 'unknown' }
  | ({ readonly state: 'pending' } & SubmittedTx)
  | { readonly state: 'finalized'; readonly arkTxid: string };

export interface InventoryBatchRequest {
  /** x-only hex key of the gateway's inventory; the new VTXOs belong to it. */
  readonly ownerPubkey: string;
  /**
   * The 32-byte secp256k1 secret of ownerPubkey: the real client's inventory wallet signs the
   * batch (intent, tree, boarding inputs) with it. Refused when it is not ownerPubkey's. Never
   * stored or logged by a backend.
   */
  readonly ownerSecretKey: Uint8Array;
  /** One VTXO per amount, sats. */
  readonly amounts: readonly bigint[];
}

export interface InventoryBatch {
  /** The on-chain commitment (batch) txid the VTXOs hang from. */
  readonly commitmentTxid: string;
  /** One VTXO per requested amount, in the order of the amounts. */
  readonly vtxos: readonly ArkVtxo[];
  /**
   * What was left of the inventory wallet's funds after the amounts and fees, as one more VTXO of
   * the inventory key (real arkd; the simulator funds batches exactly, without change).
   */
  readonly change?: ArkVtxo;
}

export interface ChainTip {
  readonly height: number;
  readonly hash: string;
  /** Unix seconds. */
  readonly time: number;
}

export interface CommitmentAnchor {
  /** Latest confirmed commitment (batch) tx of the Ark server on L1. */
  readonly txid: string;
  readonly blockHeight: number;
}

export type ArkTxEvent =
  | {
      readonly type: 'ark_tx';
      readonly txid: string;
      readonly spent: readonly Outpoint[];
      readonly created: readonly ArkVtxo[];
    }
  | {
      readonly type: 'commitment_tx';
      readonly txid: string;
      readonly spent: readonly Outpoint[];
      readonly created: readonly ArkVtxo[];
    };

export interface ArkBackend extends BackendLifecycle {
  readonly name: 'arkd';
  getInfo(): Promise<ArkServerInfo>;
  /** The default VTXO script of an owner under this server (pure given getInfo). */
  vtxoScript(ownerPubkey: string): Promise<VtxoScriptInfo>;
  /** Builds (does not submit) an Ark tx with its checkpoints. Inputs must sum to outputs. */
  buildTransfer(
    inputs: readonly TransferInput[],
    outputs: readonly TransferOutput[],
    options?: BuildOptions,
  ): Promise<BuiltTransfer>;
  /** `SubmitTx`: rejected with `invalid_signature` when an owner's signature is missing or
   * wrong, `already_spent` when an input is spent or locked by another pending tx. */
  submitTx(signedArkPsbt: string, checkpointPsbts: readonly string[]): Promise<SubmittedTx>;
  /** `FinalizeTx` with the checkpoints carrying the owners' signatures. Idempotent. */
  finalizeTx(arkTxid: string, finalCheckpointPsbts: readonly string[]): Promise<void>;
  /** `GetPendingTx`: the state of a tx the gateway may have submitted before a crash. */
  getPendingTx(arkTxid: string, inputs: readonly Outpoint[]): Promise<PendingTxLookup>;
  /** Indexer: VTXOs by script or outpoint. */
  listVtxos(filter: VtxoFilter): Promise<ArkVtxo[]>;
  /** Creates inventory VTXOs owned by the gateway in one batch (commitment tx). */
  createInventoryBatch(request: InventoryBatchRequest): Promise<InventoryBatch>;
  getChainTip(): Promise<ChainTip>;
  getCommitmentAnchor(): Promise<CommitmentAnchor | undefined>;
  /** Stream of Ark and commitment txs; `onError` is told when the stream breaks (it is not
   * resumed automatically; subscribe again and reconcile with listVtxos). */
  subscribeTransactions(onEvent: (event: ArkTxEvent) => void, onError?: (error: Error) => void): Unsubscribe;
}

export const outpointId = (o: Outpoint): string => `${o.txid}:${o.vout}`;

export function parseOutpoint(id: string): Outpoint {
  const match = /^([0-9a-f]{64}):(\d{1,10})$/.exec(id);
  if (!match) throw new Error(`not an outpoint: ${id}`);
  return { txid: match[1]!, vout: Number(match[2]) };
}
