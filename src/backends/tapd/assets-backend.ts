// Taproot Assets (tapd) as the gateway needs it. The ledger registers and mints `gBTC` (and
// other relay-issued assets) on first start (`MintAsset` + `FinalizeBatch`), reads the assets
// and balances the daemon holds to check supply against the VTXO rows and the reserve, and
// moves assets on-chain (new address, send, transfers with their proof-delivery status) when an
// operator rebalances. The Lightning flows use asset invoices (lift of a non-BTC asset: the
// payer pays in that asset over an asset channel) and pay asset invoices (land of an asset).
// Settlement of an asset invoice is seen through the Lightning backend's invoice subscription,
// as with lnd + tapd in production: the asset invoice is an lnd invoice with an asset quote.
import type { BackendLifecycle } from '../types.ts';
import type { LightningInvoice, LightningPayment } from '../lnd/lightning-backend.ts';

export interface TapdInfo {
  readonly version: string;
  readonly network: string;
  readonly blockHeight: number;
  /** x-only or compressed hex key of the lnd node tapd runs beside. */
  readonly nodePubkey: string;
}

export type AssetKind = 'normal' | 'collectible';

export interface TaprootAsset {
  /** 32-byte hex asset id. */
  readonly assetId: string;
  readonly name: string;
  readonly kind: AssetKind;
  readonly decimalDisplay: number;
  /** Hex group key when the asset can be re-issued (grouped). */
  readonly groupKey?: string;
  /** Units ever minted by this daemon. */
  readonly mintedSupply: bigint;
  /** Outpoint (txid:vout) of the genesis (mint) anchor. */
  readonly genesisPoint: string;
}

export interface AssetBalance {
  readonly assetId: string;
  readonly name: string;
  /** Units this daemon holds (spendable, confirmed). */
  readonly balance: bigint;
}

export interface MintRequest {
  readonly name: string;
  readonly amount: bigint;
  readonly decimalDisplay: number;
  /** Grouped assets can be minted again later (new supply under the same group key). */
  readonly grouped: boolean;
  /** Re-issue into this group (hex group key) instead of creating a new asset. */
  readonly groupKey?: string;
}

export interface MintResult {
  readonly assetId: string;
  readonly batchKey: string;
  /** The genesis (anchor) txid. */
  readonly anchorTxid: string;
  readonly groupKey?: string;
}

export interface AssetAddress {
  /** Bech32m taproot-assets address (taprt1…/tapbc1…). */
  readonly encoded: string;
  readonly assetId: string;
  readonly amount: bigint;
}

export type ProofDelivery = 'not_applicable' | 'pending' | 'complete';

export interface AssetTransfer {
  /** Anchor txid of the transfer. */
  readonly anchorTxid: string;
  /** Unix seconds. */
  readonly createdAt: number;
  readonly outputs: readonly {
    readonly assetId: string;
    readonly amount: bigint;
    /** Hex script key of the receiver. */
    readonly scriptKey: string;
    /** Whether the receiver has been sent the proof (the transfer is complete only then). */
    readonly proofDelivery: ProofDelivery;
  }[];
}

export interface AssetInvoiceRequest {
  readonly assetId: string;
  readonly assetAmount: bigint;
  readonly memo?: string;
  readonly expirySeconds?: number;
}

export interface AssetInvoice extends LightningInvoice {
  readonly assetId: string;
  readonly assetAmount: bigint;
}

export interface AssetPaymentRequest {
  readonly paymentRequest: string;
  readonly assetId: string;
  /** Absolute routing fee limit, sats. */
  readonly maxFeeSats: bigint;
  readonly timeoutSeconds: number;
}

export interface AssetsBackend extends BackendLifecycle {
  readonly name: 'tapd';
  getInfo(): Promise<TapdInfo>;
  listAssets(): Promise<TaprootAsset[]>;
  listBalances(): Promise<AssetBalance[]>;
  /** `MintAsset` then `FinalizeBatch`; resolves once the asset id is known. */
  mintAsset(request: MintRequest): Promise<MintResult>;
  newAddress(assetId: string, amount: bigint): Promise<AssetAddress>;
  /** Sends to one or more addresses in one anchor transaction. */
  send(addresses: readonly string[]): Promise<AssetTransfer>;
  listTransfers(): Promise<AssetTransfer[]>;
  /** An invoice payable in the asset over an asset channel (lnd invoice with an asset quote). */
  addAssetInvoice(request: AssetInvoiceRequest): Promise<AssetInvoice>;
  /** Pays a BOLT11 invoice with the asset over an asset channel; resolves with the final state. */
  payAssetInvoice(request: AssetPaymentRequest): Promise<LightningPayment>;
}
