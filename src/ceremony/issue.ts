// Puts asset units into a user's hands: an Ark transaction that spends a gateway inventory VTXO
// (the gateway signs alone) and pays the user's own VTXO script, so the user can always exit
// unilaterally — a database row alone never makes anyone an owner. The units enter circulation
// as the movement `kind` (a paid lift, a mint), booked in the settlement transaction, once per
// `reference`: a second call with the same reference returns the first result.
import type { ArkBackend } from '../backends/ark/ark-backend.ts';
import { encodePsbt, parsePsbt, signInputs } from '../backends/ark/psbt.ts';
import { ProtocolError } from '../domain/error-codes.ts';
import type { VtxoRecord, VtxoStore } from '../ledger/vtxo-store.ts';
import type { Database } from '../store/database.ts';
import type { AssetMovementKind } from '../store/schema.ts';
import type { InventorySigner } from './engine.ts';

export interface IssueRequest {
  readonly owner: string;
  readonly assetId: string;
  readonly amount: bigint;
  /** What pays for it (a payment hash): the same reference never issues twice. */
  readonly reference: string;
  readonly kind: Extract<AssetMovementKind, 'lift' | 'mint' | 'refund'>;
}

export interface IssueDeps {
  readonly database: Database;
  readonly vtxos: VtxoStore;
  readonly ark: ArkBackend;
  readonly inventoryKey: () => Promise<InventorySigner>;
  /** The inventory pool whose sats fund the new VTXO. */
  readonly inventoryAssetId: string;
  readonly lockTtlMs: number;
}

export class Issuer {
  readonly #deps: IssueDeps;
  constructor(deps: IssueDeps) {
    this.#deps = deps;
  }

  async issue(request: IssueRequest): Promise<{ arkTxid: string; vtxo: VtxoRecord }> {
    if (request.amount <= 0n) throw new ProtocolError('BELOW_LIMITS', 'an issued amount must be positive');
    const { database, vtxos, ark } = this.#deps;
    const done = await this.#previous(request);
    if (done) return done;
    const info = await ark.getInfo();
    const key = await this.#deps.inventoryKey();
    const lockId = `issue:${request.reference}`.slice(0, 64);
    const [input] = await vtxos.lockInventory(
      lockId,
      this.#deps.inventoryAssetId,
      1,
      info.dust,
      this.#deps.lockTtlMs,
    );
    try {
      const surplus = input!.sats - info.dust;
      const outputs = [{ ownerPubkey: request.owner, amount: info.dust }];
      // Sats beyond the user's dust go back to the inventory when they make a VTXO of their own.
      if (surplus >= info.dust) outputs.push({ ownerPubkey: key.pubkey, amount: surplus });
      else outputs[0] = { ownerPubkey: request.owner, amount: input!.sats };
      const built = await ark.buildTransfer(
        [
          {
            outpoint: { txid: input!.txid, vout: input!.vout },
            ownerPubkey: key.pubkey,
            amount: input!.sats,
          },
        ],
        outputs,
      );
      const arkTx = parsePsbt(built.arkPsbt);
      signInputs(arkTx, key.secretKey, [0]);
      const now = Date.now();
      await database.db
        .insertInto('ark_transactions')
        .values({
          ark_txid: built.arkTxid,
          session_id: null,
          batch_id: null,
          tx_kind: request.kind,
          status: 'submitted',
          ark_psbt: encodePsbt(arkTx),
          checkpoint_psbts_json: JSON.stringify(built.checkpointPsbts),
          submitted_at: now,
          created_at: now,
          updated_at: now,
        })
        .execute();
      const submitted = await ark.submitTx(encodePsbt(arkTx), built.checkpointPsbts);
      const checkpoint = parsePsbt(submitted.signedCheckpointPsbts[0]!);
      signInputs(checkpoint, key.secretKey, [0]);
      await ark.finalizeTx(built.arkTxid, [encodePsbt(checkpoint)]);
      const finalizedAt = Date.now();
      const { created } = await database.db.transaction().execute(async (trx) => {
        const result = await vtxos.spendWithin(
          trx,
          [{ sessionId: lockId, vtxoIds: [input!.vtxoId] }],
          built.arkTxid,
          built.outputs.map((o, i) => ({
            txid: built.arkTxid,
            vout: o.vout,
            ownerPubkey: o.ownerPubkey,
            assetId: i === 0 ? request.assetId : this.#deps.inventoryAssetId,
            amount: i === 0 ? request.amount : 0n,
            sats: o.amount,
            status: i === 0 ? ('assigned' as const) : ('available' as const),
            scriptHex: o.pkScript,
            expiresAt: input!.expiresAt,
          })),
          [
            {
              assetId: request.assetId,
              kind: request.kind,
              amount: request.amount,
              reference: request.reference,
              userPubkey: request.owner,
              vtxoId: `${built.arkTxid}:${built.outputs[0]!.vout}`,
              arkTxid: built.arkTxid,
            },
          ],
        );
        await trx
          .updateTable('ark_transactions')
          .set({ status: 'finalized', finalized_at: finalizedAt, updated_at: finalizedAt })
          .where('ark_txid', '=', built.arkTxid)
          .execute();
        return result;
      });
      return { arkTxid: built.arkTxid, vtxo: created[0]! };
    } catch (error) {
      await vtxos.releaseSession(lockId);
      throw error;
    }
  }

  async #previous(request: IssueRequest): Promise<{ arkTxid: string; vtxo: VtxoRecord } | undefined> {
    const row = await this.#deps.database.db
      .selectFrom('asset_movements')
      .select(['vtxo_id', 'ark_txid'])
      .where('kind', '=', request.kind)
      .where('reference', '=', request.reference)
      .where('asset_id', '=', request.assetId)
      .executeTakeFirst();
    if (!row?.vtxo_id || !row.ark_txid) return undefined;
    const vtxo = await this.#deps.vtxos.get(row.vtxo_id);
    return vtxo ? { arkTxid: row.ark_txid, vtxo } : undefined;
  }
}
