// The real arkd's inventory batch: an @arkade-os/sdk Wallet holding the inventory key joins one
// of arkd's batches (intent registration, MuSig2 tree signing, boarding input signatures) through
// `settle()`, spending the inventory wallet's confirmed boarding UTXOs (on-chain funds sent to
// its boarding address, found through Esplora) into one VTXO per requested amount plus change,
// all to the inventory key's own Ark address. It never spends existing VTXOs: those belong to
// the gateway's ledger, which may have them locked in a ceremony.
import {
  ArkAddress,
  CSVMultisigTapscript,
  Estimator,
  EsploraProvider,
  InMemoryContractRepository,
  InMemoryWalletRepository,
  SingleKey,
  Wallet,
  hasBoardingTxExpired,
  type ArkInfo,
  type ArkProvider,
  type ExtendedCoin,
  type IndexerProvider,
} from '@arkade-os/sdk';
import { hex } from '@scure/base';
import { BackendError } from '../types.ts';
import type { InventoryBatchRequest } from './ark-backend.ts';

export interface InventoryWalletDeps {
  readonly arkProvider: ArkProvider;
  readonly indexerProvider: IndexerProvider;
  /** ARKD_ESPLORA_URL; without it the wallet has no view of its boarding funds. */
  readonly esploraUrl: string | undefined;
  /** The chain tip height (for the boarding exit timelock), read through the guarded reader. */
  readonly tipHeight: () => Promise<number>;
}

export interface SettledInventory {
  readonly commitmentTxid: string;
  /** The inventory key's pkScript (hex): every output of the batch is locked to it. */
  readonly script: string;
  readonly change: bigint;
  /** The boarding outpoints the batch spent. */
  readonly boarding: readonly { readonly txid: string; readonly vout: number }[];
}

const fail = (message: string): never => {
  throw new BackendError('arkd', 'rejected', `arkd createInventoryBatch: ${message}`);
};

export async function settleInventory(
  deps: InventoryWalletDeps,
  info: ArkInfo,
  request: InventoryBatchRequest,
): Promise<SettledInventory> {
  const esploraUrl = deps.esploraUrl;
  if (!esploraUrl) {
    return fail(
      'the inventory wallet is funded through its boarding address, which needs ARKD_ESPLORA_URL (an Esplora API of the network arkd runs on) to be seen',
    );
  }
  const wallet = await Wallet.create({
    identity: SingleKey.fromPrivateKey(Uint8Array.from(request.ownerSecretKey)),
    arkProvider: deps.arkProvider,
    indexerProvider: deps.indexerProvider,
    onchainProvider: new EsploraProvider(esploraUrl),
    storage: {
      walletRepository: new InMemoryWalletRepository(),
      contractRepository: new InMemoryContractRepository(),
    },
    // No background renewal or address rotation: this wallet lives for one batch.
    settlementConfig: false,
    walletMode: 'static',
  });
  try {
    const address = await wallet.getAddress();
    const script = hex.encode(ArkAddress.decode(address).pkScript);
    const estimator = new Estimator(info.fees.intentFee);
    const boardingTimelock = CSVMultisigTapscript.decode(hex.decode(wallet.boardingTapscript.exitScript))
      .params.timelock;
    const tipHeight = boardingTimelock.type === 'blocks' ? await deps.tipHeight() : undefined;
    const coins: ExtendedCoin[] = (await wallet.getBoardingUtxos()).filter(
      (c) => c.status.confirmed && !hasBoardingTxExpired(c, boardingTimelock, tipHeight),
    );
    const boardingAddress = await wallet.getBoardingAddress();
    if (coins.length === 0)
      fail(`no confirmed boarding funds at the inventory wallet's address ${boardingAddress}`);

    const wanted = request.amounts.reduce((sum, a) => sum + a, 0n);
    const outputFee = (amount: bigint) => BigInt(estimator.evalOffchainOutput({ amount, script }).satoshis);
    let funds = 0n;
    for (const c of coins)
      funds += BigInt(c.value) - BigInt(estimator.evalOnchainInput({ amount: BigInt(c.value) }).satoshis);
    let fees = 0n;
    for (const a of request.amounts) fees += outputFee(a);
    const rest = funds - wanted - fees;
    if (rest < 0n)
      fail(
        `boarding funds of ${funds} sats (after input fees) do not cover ${wanted} sats and ${fees} sats of output fees`,
      );
    // Change comes back as one more inventory VTXO when it is worth an output; dust goes to fees.
    const changeFee = rest > 0n ? outputFee(rest) : 0n;
    const change = rest - changeFee >= info.dust ? rest - changeFee : 0n;
    const outputs = [...request.amounts, ...(change > 0n ? [change] : [])].map((amount) => ({
      address,
      amount,
    }));
    const commitmentTxid = await wallet.settle({ inputs: coins, outputs });
    return { commitmentTxid, script, change, boarding: coins.map((c) => ({ txid: c.txid, vout: c.vout })) };
  } finally {
    await wallet.dispose().catch(() => undefined);
  }
}
