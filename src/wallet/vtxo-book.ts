// The VTXOs this wallet knows it owns, with the asset and amount it knows them to hold. The
// verifier signs only inputs found here. Fed by sync_state, by confirmations (created to this
// key: added; spent: removed) and by the app.
import { toAmount } from './amounts.ts';
import type { Confirmation } from './outcomes.ts';
import type { KnownVtxo } from './verify/verifier.ts';

export class VtxoBook {
  readonly #owner: string;
  readonly #vtxos = new Map<string, KnownVtxo>();

  constructor(owner: string) {
    this.#owner = owner;
  }

  get(vtxoId: string): KnownVtxo | undefined {
    return this.#vtxos.get(vtxoId);
  }

  list(): KnownVtxo[] {
    return [...this.#vtxos.values()];
  }

  add(vtxo: KnownVtxo): void {
    this.#vtxos.set(vtxo.vtxoId, vtxo);
  }

  remove(vtxoId: string): void {
    this.#vtxos.delete(vtxoId);
  }

  /** Replaces the book with a sync_state answer: `{vtxos: [{vtxo_id, asset_id, amount, sats?, status?}]}`. */
  replaceFromSync(result: unknown): KnownVtxo[] {
    const list = (result as { vtxos?: unknown } | null)?.vtxos;
    if (!Array.isArray(list)) throw new Error('sync_state answered without a vtxos list');
    const next: KnownVtxo[] = [];
    for (const item of list as Record<string, unknown>[]) {
      if (typeof item?.vtxo_id !== 'string' || typeof item.asset_id !== 'string') continue;
      if (typeof item.owner_pubkey === 'string' && item.owner_pubkey !== this.#owner) continue;
      if (typeof item.status === 'string' && !['assigned', 'pending_spend'].includes(item.status)) continue;
      next.push({
        vtxoId: item.vtxo_id,
        assetId: item.asset_id,
        amount: toAmount(item.amount),
        ...(item.sats !== undefined ? { sats: toAmount(item.sats, 'sats') } : {}),
      });
    }
    this.#vtxos.clear();
    for (const vtxo of next) this.add(vtxo);
    return next;
  }

  /** Applies a settled transaction: its spent VTXOs go, the ones created for this key come. */
  applyConfirmation(confirmation: Confirmation): void {
    for (const spent of confirmation.spent ?? []) this.remove(spent.vtxo_id);
    for (const created of confirmation.created ?? []) {
      if (created.owner !== this.#owner) continue;
      this.add({ vtxoId: created.vtxo_id, assetId: created.asset_id, amount: toAmount(created.amount) });
    }
  }
}
