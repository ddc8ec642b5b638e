// Puts asset units into a user's hands: an Ark transaction that spends a gateway inventory VTXO
// (the gateway signs alone) and pays the user's own VTXO script, so the user can always exit
// unilaterally — a database row alone never makes anyone an owner. The units enter circulation
// as the movement `kind` (a paid lift, a mint), booked in the settlement transaction, once per
// `reference`: a second call with the same reference returns the first result.
//
// Crash safety: the signed transaction is stored (ark_transactions, session_id = the lock id)
// before it is submitted, and the inventory input stays locked by that id. A call after a crash
// finds the stored transaction and finishes it — asking the Ark server first whether it is
// pending or final — instead of spending a second inventory VTXO.
import type { ArkBackend } from '../backends/ark/ark-backend.ts';
import { encodePsbt, parsePsbt, signInputs } from '../backends/ark/psbt.ts';
import { allocationCommitment } from '../domain/allocation-commitment.ts';
import { ProtocolError } from '../domain/error-codes.ts';
import type { VtxoRecord, VtxoStore } from '../ledger/vtxo-store.ts';
import type { Database } from '../store/database.ts';
import type { AssetMovementKind } from '../store/schema.ts';
import type { InventorySigner } from './engine.ts';
import type { CeremonyRecords } from './records.ts';

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
  readonly records: CeremonyRecords;
  readonly vtxos: VtxoStore;
  readonly ark: ArkBackend;
  readonly inventoryKey: () => Promise<InventorySigner>;
  /** The inventory pool whose sats fund the new VTXO. */
  readonly inventoryAssetId: string;
  /** How long the inventory input stays locked: long enough to outlive a restart. */
  readonly lockTtlMs: number;
}

interface Stored {
  readonly arkTxid: string;
  readonly signedArkPsbt: string;
  readonly checkpoints: readonly string[];
  readonly input: VtxoRecord;
}

export class Issuer {
  readonly #deps: IssueDeps;
  constructor(deps: IssueDeps) {
    this.#deps = deps;
  }

  async issue(request: IssueRequest): Promise<{ arkTxid: string; vtxo: VtxoRecord }> {
    if (request.amount <= 0n) throw new ProtocolError('BELOW_LIMITS', 'an issued amount must be positive');
    const done = await this.#previous(request);
    if (done) return done;
    const lockId = `issue:${request.reference}`.slice(0, 64);
    const stored = (await this.#interrupted(lockId)) ?? (await this.#build(request, lockId));
    try {
      return await this.#complete(request, lockId, stored);
    } catch (error) {
      // Refused by the Ark server: nothing was spent, the inventory VTXO is free again.
      if (error instanceof ProtocolError || (error as { retryable?: boolean }).retryable === false) {
        await this.#deps.records.markArkTx(undefined, stored.arkTxid, ['submitted'], 'failed', {
          error: String((error as Error).message),
        });
        await this.#deps.vtxos.releaseSession(lockId);
      }
      throw error;
    }
  }

  /** Locks an inventory VTXO, builds and signs the tx, and stores it before anything is sent. */
  async #build(request: IssueRequest, lockId: string): Promise<Stored> {
    const { records, vtxos, ark } = this.#deps;
    const info = await ark.getInfo();
    const key = await this.#deps.inventoryKey();
    const [input] = await vtxos.lockInventory(
      lockId,
      this.#deps.inventoryAssetId,
      1,
      info.dust,
      this.#deps.lockTtlMs,
    );
    try {
      const surplus = input!.sats - info.dust;
      // Sats beyond the user's dust go back to the inventory when they make a VTXO of their own.
      const outputs =
        surplus >= info.dust
          ? [
              { ownerPubkey: request.owner, amount: info.dust },
              { ownerPubkey: key.pubkey, amount: surplus },
            ]
          : [{ ownerPubkey: request.owner, amount: input!.sats }];
      // The user's units, then (when there is one) the inventory's surplus, which carries none.
      const commitment = allocationCommitment(
        [`${request.kind}:${request.reference}`],
        outputs.map((o, vout) => ({
          vout,
          owner: o.ownerPubkey,
          assetId: vout === 0 ? request.assetId : this.#deps.inventoryAssetId,
          amount: vout === 0 ? request.amount : 0n,
        })),
      );
      const built = await ark.buildTransfer(
        [
          {
            outpoint: { txid: input!.txid, vout: input!.vout },
            ownerPubkey: key.pubkey,
            amount: input!.sats,
          },
        ],
        outputs,
        { opReturn: commitment.data },
      );
      const arkTx = parsePsbt(built.arkPsbt);
      signInputs(arkTx, key.secretKey, [0]);
      const signedArkPsbt = encodePsbt(arkTx);
      await records.transaction((trx) =>
        records.insertArkTx(trx, {
          arkTxid: built.arkTxid,
          ownerId: lockId,
          batchId: null,
          kind: request.kind,
          status: 'submitted',
          psbt: signedArkPsbt,
          checkpoints: built.checkpointPsbts,
        }),
      );
      return { arkTxid: built.arkTxid, signedArkPsbt, checkpoints: built.checkpointPsbts, input: input! };
    } catch (error) {
      await vtxos.releaseSession(lockId);
      throw error;
    }
  }

  /** The transaction a crash left submitted-but-unrecorded, with its still-locked input. */
  async #interrupted(lockId: string): Promise<Stored | undefined> {
    const row = await this.#deps.records.arkTxOf(lockId, 'submitted');
    if (!row) return undefined;
    const checkpoints = row.checkpoints;
    const spends = parsePsbt(checkpoints[0]!).getInput(0);
    const input = await this.#deps.vtxos.get(`${Buffer.from(spends.txid!).toString('hex')}:${spends.index}`);
    if (!input || input.lockedBySession !== lockId) {
      throw new Error(`issue ${lockId}: the stored transaction's input is no longer locked for it`);
    }
    return { arkTxid: row.arkTxid, signedArkPsbt: row.psbt, checkpoints, input };
  }

  /** Submits (unless the server already has it), co-signs the checkpoint, finalizes, records. */
  async #complete(
    request: IssueRequest,
    lockId: string,
    stored: Stored,
  ): Promise<{ arkTxid: string; vtxo: VtxoRecord }> {
    const { database, vtxos, ark } = this.#deps;
    const key = await this.#deps.inventoryKey();
    const outpoint = { txid: stored.input.txid, vout: stored.input.vout };
    const lookup = await ark.getPendingTx(stored.arkTxid, [outpoint]);
    if (lookup.state !== 'finalized') {
      const serverSigned =
        lookup.state === 'pending'
          ? lookup.signedCheckpointPsbts
          : (await ark.submitTx(stored.signedArkPsbt, stored.checkpoints)).signedCheckpointPsbts;
      const checkpoint = parsePsbt(serverSigned[0]!);
      signInputs(checkpoint, key.secretKey, [0]);
      await ark.finalizeTx(stored.arkTxid, [encodePsbt(checkpoint)]);
    }
    const arkTx = parsePsbt(stored.signedArkPsbt);
    // The outputs as built: the user's first, then the inventory's surplus; the commitment and
    // the anchor carry 0 sats.
    const outputs: { vout: number; sats: bigint; scriptHex: string }[] = [];
    for (let vout = 0; vout < arkTx.outputsLength; vout++) {
      const out = arkTx.getOutput(vout);
      if (!out.amount || !out.script) continue;
      outputs.push({ vout, sats: out.amount, scriptHex: Buffer.from(out.script).toString('hex') });
    }
    const { created } = await database.db.transaction().execute(async (trx) => {
      const result = await vtxos.spendWithin(
        trx,
        [{ sessionId: lockId, vtxoIds: [stored.input.vtxoId] }],
        stored.arkTxid,
        outputs.map((o, i) => ({
          txid: stored.arkTxid,
          vout: o.vout,
          ownerPubkey: i === 0 ? request.owner : key.pubkey,
          assetId: i === 0 ? request.assetId : this.#deps.inventoryAssetId,
          amount: i === 0 ? request.amount : 0n,
          sats: o.sats,
          status: i === 0 ? ('assigned' as const) : ('available' as const),
          scriptHex: o.scriptHex,
          expiresAt: stored.input.expiresAt,
        })),
        [
          {
            assetId: request.assetId,
            kind: request.kind,
            amount: request.amount,
            reference: request.reference,
            userPubkey: request.owner,
            vtxoId: `${stored.arkTxid}:${outputs[0]!.vout}`,
            arkTxid: stored.arkTxid,
          },
        ],
      );
      await this.#deps.records.markArkTx(trx, stored.arkTxid, ['submitted'], 'finalized');
      return result;
    });
    return { arkTxid: stored.arkTxid, vtxo: created[0]! };
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
