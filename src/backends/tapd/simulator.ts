// The simulated Taproot Assets daemon: mints assets (ids derived like tapd's, from the genesis
// outpoint and the asset's name), anchors mints and transfers in the simulated chain, tracks
// the balance it holds, issues addresses, sends with proof delivery completing once the
// anchor confirms, and makes and pays asset invoices through the simulated Lightning node at
// a fixed simulated price of one asset unit per sat (documented in docs/backends.md).
import { createHash } from 'node:crypto';
import { bech32m, hex } from '@scure/base';
import { issueInvoice, toInvoice, type LightningSimulator } from '../lnd/simulator.ts';
import type { LightningPayment } from '../lnd/lightning-backend.ts';
import { SimBackend } from '../sim/sim-backend.ts';
import type { Row, SimWorld } from '../sim/world.ts';
import type {
  AssetAddress,
  AssetBalance,
  AssetInvoice,
  AssetInvoiceRequest,
  AssetPaymentRequest,
  AssetsBackend,
  AssetTransfer,
  MintRequest,
  MintResult,
  TaprootAsset,
  TapdInfo,
} from './assets-backend.ts';

const ADDRESS_PREFIX = 'taprt';
/** Simulated price oracle: 1 asset unit = 1 sat. */
const MSAT_PER_UNIT = 1000n;
const MAX_AMOUNT = (1n << 63n) - 1n;

const sha = (...parts: string[]) => createHash('sha256').update(parts.join('/')).digest('hex');

function toAsset(row: Row): TaprootAsset {
  return {
    assetId: String(row.asset_id),
    name: String(row.name),
    kind: row.kind as TaprootAsset['kind'],
    decimalDisplay: Number(row.decimals),
    ...(row.group_key ? { groupKey: String(row.group_key) } : {}),
    mintedSupply: BigInt(String(row.minted)),
    genesisPoint: String(row.genesis_point),
  };
}

function toTransfer(row: Row): AssetTransfer {
  const outputs = JSON.parse(String(row.outputs)) as { assetId: string; amount: string; scriptKey: string }[];
  return {
    anchorTxid: String(row.anchor_txid),
    createdAt: Number(row.created_at),
    // The anchor is mined with the transfer, so the proof is delivered to the receiver at once.
    outputs: outputs.map((o) => ({ ...o, amount: BigInt(o.amount), proofDelivery: 'complete' as const })),
  };
}

export class AssetsSimulator extends SimBackend implements AssetsBackend {
  readonly name = 'tapd' as const;
  readonly #lightning: LightningSimulator;

  constructor(world: SimWorld, lightning: LightningSimulator) {
    super(world);
    this.#lightning = lightning;
  }

  getInfo(): Promise<TapdInfo> {
    return this.call('getInfo', () => ({
      version: 'arkrelay-sim/1',
      network: 'regtest',
      blockHeight: this.world.tip()!.height,
      nodePubkey: this.world.keys.lnNode.compressedHex,
    }));
  }

  listAssets(): Promise<TaprootAsset[]> {
    return this.call('listAssets', () =>
      this.world.all('SELECT * FROM assets ORDER BY created_at, asset_id').map(toAsset),
    );
  }

  listBalances(): Promise<AssetBalance[]> {
    return this.call('listBalances', () =>
      this.world
        .all('SELECT asset_id, name, balance FROM assets ORDER BY created_at, asset_id')
        .map((row) => ({
          assetId: String(row.asset_id),
          name: String(row.name),
          balance: BigInt(String(row.balance)),
        })),
    );
  }

  #amount(amount: bigint): void {
    if (amount <= 0n || amount > MAX_AMOUNT) this.fail('rejected', 'amount must be between 1 and 2^63-1');
  }

  mintAsset(request: MintRequest): Promise<MintResult> {
    return this.call('mintAsset', () => {
      this.#amount(request.amount);
      if (!/^[\x20-\x7e]{1,64}$/.test(request.name))
        this.fail('rejected', 'name must be 1-64 printable characters');
      if (
        !Number.isInteger(request.decimalDisplay) ||
        request.decimalDisplay < 0 ||
        request.decimalDisplay > 12
      ) {
        this.fail('rejected', 'decimal display must be 0-12');
      }
      const result = this.world.tx(() => {
        if (
          request.groupKey &&
          !this.world.get('SELECT 1 FROM assets WHERE group_key = ?', request.groupKey)
        ) {
          this.fail('not_found', `no asset group ${request.groupKey}`);
        }
        const tip = this.world.tip()!;
        const count = Number(this.world.get('SELECT COUNT(*) AS n FROM assets')?.n ?? 0);
        const anchorTxid = sha('mint-anchor', this.world.seed, String(tip.height), String(count));
        const genesisPoint = `${sha('genesis', anchorTxid)}:0`;
        const assetId = sha('asset-id', genesisPoint, request.name, '0');
        const batchKey = `02${sha('batch-key', anchorTxid)}`;
        const groupKey = request.groupKey ?? (request.grouped ? `02${sha('group-key', assetId)}` : undefined);
        const height = this.world.mine(1, [anchorTxid]);
        const now = this.world.nowSeconds();
        this.world.run(
          'INSERT INTO chain_txs (txid, kind, height, created_at) VALUES (?, ?, ?, ?)',
          anchorTxid,
          'asset_mint',
          height,
          now,
        );
        this.world.run(
          `INSERT INTO assets (asset_id, name, kind, decimals, group_key, minted, balance, genesis_point, batch_key, created_at)
           VALUES (?, ?, 'normal', ?, ?, ?, ?, ?, ?, ?)`,
          assetId,
          request.name,
          request.decimalDisplay,
          groupKey ?? null,
          request.amount.toString(),
          request.amount.toString(),
          genesisPoint,
          batchKey,
          now,
        );
        return { assetId, batchKey, anchorTxid, ...(groupKey ? { groupKey } : {}) };
      });
      return result;
    });
  }

  #asset(assetId: string): Row {
    const row = this.world.get('SELECT * FROM assets WHERE asset_id = ?', assetId);
    if (!row) this.fail('not_found', `unknown asset ${assetId}`);
    return row;
  }

  newAddress(assetId: string, amount: bigint): Promise<AssetAddress> {
    return this.call('newAddress', () => {
      this.#asset(assetId);
      this.#amount(amount);
      const count = Number(this.world.get('SELECT COUNT(*) AS n FROM asset_addresses')?.n ?? 0);
      const scriptKey = sha('script-key', this.world.seed, String(count));
      const payload = new Uint8Array([
        ...hex.decode(assetId),
        ...bigEndian(amount),
        ...hex.decode(scriptKey),
      ]);
      const encoded = bech32m.encode(ADDRESS_PREFIX, bech32m.toWords(payload), false);
      this.world.run(
        'INSERT INTO asset_addresses (encoded, asset_id, amount, script_key, created_at) VALUES (?, ?, ?, ?, ?)',
        encoded,
        assetId,
        amount.toString(),
        scriptKey,
        this.world.nowSeconds(),
      );
      return { encoded, assetId, amount };
    });
  }

  send(addresses: readonly string[]): Promise<AssetTransfer> {
    return this.call('send', () => {
      if (addresses.length === 0) this.fail('rejected', 'no addresses');
      const outputs = addresses.map((address) => {
        let words: number[];
        let prefix: string;
        try {
          ({ prefix, words } = bech32m.decode(address as `${string}1${string}`, false));
        } catch {
          this.fail('rejected', `not a Taproot Assets address: ${address}`);
        }
        const bytes = bech32m.fromWords(words);
        if (prefix !== ADDRESS_PREFIX || bytes.length !== 72)
          this.fail('rejected', `not a regtest asset address: ${address}`);
        return {
          assetId: hex.encode(bytes.subarray(0, 32)),
          amount: fromBigEndian(bytes.subarray(32, 40)),
          scriptKey: hex.encode(bytes.subarray(40)),
        };
      });
      return this.world.tx(() => {
        const totals = new Map<string, bigint>();
        for (const o of outputs) totals.set(o.assetId, (totals.get(o.assetId) ?? 0n) + o.amount);
        for (const [assetId, total] of totals) {
          const row = this.#asset(assetId);
          const held = BigInt(String(row.balance));
          if (held < total)
            this.fail('rejected', `insufficient ${String(row.name)}: hold ${held}, sending ${total}`);
          this.world.run(
            'UPDATE assets SET balance = ? WHERE asset_id = ?',
            (held - total).toString(),
            assetId,
          );
        }
        const tip = this.world.tip()!;
        const anchorTxid = sha('transfer-anchor', this.world.seed, String(tip.height), addresses.join(','));
        const height = this.world.mine(1, [anchorTxid]);
        const now = this.world.nowSeconds();
        this.world.run(
          'INSERT INTO chain_txs (txid, kind, height, created_at) VALUES (?, ?, ?, ?)',
          anchorTxid,
          'asset_transfer',
          height,
          now,
        );
        const stored = outputs.map((o) => ({ ...o, amount: o.amount.toString() }));
        const { lastInsertRowid } = this.world.run(
          'INSERT INTO asset_transfers (anchor_txid, created_at, outputs) VALUES (?, ?, ?)',
          anchorTxid,
          now,
          JSON.stringify(stored),
        );
        return toTransfer(this.world.get('SELECT * FROM asset_transfers WHERE seq = ?', lastInsertRowid)!);
      });
    });
  }

  listTransfers(): Promise<AssetTransfer[]> {
    return this.call('listTransfers', () =>
      this.world.all('SELECT * FROM asset_transfers ORDER BY seq').map(toTransfer),
    );
  }

  addAssetInvoice(request: AssetInvoiceRequest): Promise<AssetInvoice> {
    return this.call('addAssetInvoice', () => {
      this.#asset(request.assetId);
      this.#amount(request.assetAmount);
      const row = issueInvoice(this.world, 'gateway', {
        amountMsat: request.assetAmount * MSAT_PER_UNIT,
        ...(request.memo !== undefined ? { memo: request.memo } : {}),
        ...(request.expirySeconds !== undefined ? { expirySeconds: request.expirySeconds } : {}),
        assetId: request.assetId,
        assetAmount: request.assetAmount,
      });
      return { ...toInvoice(row), assetId: request.assetId, assetAmount: request.assetAmount };
    });
  }

  payAssetInvoice(request: AssetPaymentRequest): Promise<LightningPayment> {
    return this.call('payAssetInvoice', async () => {
      this.#asset(request.assetId);
      const hash = this.#lightning.planPayment(
        {
          paymentRequest: request.paymentRequest,
          maxFeeSats: request.maxFeeSats,
          timeoutSeconds: request.timeoutSeconds,
        },
        { assetId: request.assetId },
      );
      return this.#lightning.waitFinal(hash);
    });
  }
}

function bigEndian(value: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, value);
  return out;
}

function fromBigEndian(bytes: Uint8Array): bigint {
  return new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0);
}
