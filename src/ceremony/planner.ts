// Plans the Ark transaction of a session group (one intent, or every leg of a batch): which
// VTXOs go in, which outputs come out, and how many sats each carries — and locks the inputs.
//
// Asset units and sats are separate books. The asset colour lives in our database; the Ark
// transaction moves sats only. Per asset, units in = units out: each party's inputs cover what
// it pays (amount + fee), the difference comes back to it as change. Sats: every output
// carries the Ark server's dust; when the inputs carry fewer sats than the outputs need, the
// gateway adds inventory VTXOs (it signs those inputs itself), and sats left over go back to
// the gateway — as a new inventory VTXO when they reach dust, otherwise inside its fee output.
//
// Locks are taken per session with conditional updates (VtxoStore); whatever fails midway is
// released, so a refused plan leaves the ledger as it was.
import type { AssetAmount } from '../domain/intents.ts';
import { ERROR_CODES, ProtocolError } from '../domain/error-codes.ts';
import type { VtxoRecord, VtxoStore } from '../ledger/vtxo-store.ts';

/** `land`: a Lightning land's units, held by the gateway until the payment settles them. */
export type OutputRole = 'recipient' | 'change' | 'fee' | 'inventory' | 'split' | 'receive' | 'land';

export interface LegOutput {
  readonly owner: string;
  readonly assetId: string;
  readonly amount: bigint;
  readonly role: OutputRole;
}

/** What one session brings to the transaction. */
export interface Leg {
  readonly sessionId: string;
  readonly author: string;
  /** VTXOs the intent names (a split): locked as they are, their whole amount goes in. */
  readonly namedInputs?: readonly string[];
  /** Per asset, everything the leg pays (amounts given and its fee); coin selection finds what
   * the named inputs do not cover, and what the inputs carry beyond it comes back as change. */
  readonly pays: readonly AssetAmount[];
  /** What this leg creates, the fee excluded (the planner adds change and fee outputs). */
  readonly outputs: readonly LegOutput[];
  readonly fee: AssetAmount;
}

export interface PlannedInput {
  readonly vtxoId: string;
  readonly txid: string;
  readonly vout: number;
  readonly owner: string;
  readonly assetId: string;
  readonly amount: bigint;
  readonly sats: bigint;
  /** The session whose lock holds it. */
  readonly sessionId: string;
  /** An inventory VTXO the gateway signs for. */
  readonly gateway: boolean;
  /** Unix ms; the outputs of the tx inherit the earliest. */
  readonly expiresAt: number | null;
}

export interface PlannedOutput extends LegOutput {
  readonly sats: bigint;
  /** `available` for a new inventory VTXO (no units), else `assigned`. */
  readonly status: 'assigned' | 'available';
  /** The session that asked for it (undefined for the gateway's own outputs). */
  readonly sessionId?: string;
}

export interface Plan {
  readonly inputs: readonly PlannedInput[];
  readonly outputs: readonly PlannedOutput[];
}

export interface PlanOptions {
  /** The key that owns inventory and fee VTXOs. */
  readonly gatewayPubkey: string;
  /** The Ark server's dust: the sats of every output. */
  readonly dust: bigint;
  /** How long the locks hold if nobody releases them (beyond the session deadline). */
  readonly lockTtlMs: number;
  /** The inventory pool sats are topped up from. */
  readonly inventoryAssetId: string;
  /** Smallest change in asset units per asset (0: any change is fine; sats are topped up). */
  readonly minChange?: (assetId: string) => bigint;
  /**
   * How many inventory VTXOs this plan may still lock for its author (the per-author abuse
   * limit); needing more is 1008. At most MAX_INVENTORY_INPUTS whatever the budget.
   */
  readonly inventoryBudget?: number;
  /** Seconds after which a plan refused by the budget is worth trying again (details.retry_after). */
  readonly retryAfterS?: number;
}

const MAX_INVENTORY_INPUTS = 16;
/** Coin selections tried when another session locks the chosen coins first. */
const SELECTION_ATTEMPTS = 8;

function add(map: Map<string, bigint>, key: string, amount: bigint): void {
  map.set(key, (map.get(key) ?? 0n) + amount);
}

const asInput = (v: VtxoRecord, sessionId: string, gateway: boolean): PlannedInput => ({
  vtxoId: v.vtxoId,
  txid: v.txid,
  vout: v.vout,
  owner: v.ownerPubkey,
  assetId: v.assetId,
  amount: v.amount,
  sats: v.sats,
  sessionId,
  gateway,
  expiresAt: v.expiresAt,
});

/** Per asset, units in = units out: a plan that would create or destroy value is refused. */
function assertUnitsBalance(inputs: readonly PlannedInput[], outputs: readonly PlannedOutput[]): void {
  const net = new Map<string, bigint>();
  for (const i of inputs) add(net, i.assetId, i.amount);
  for (const o of outputs) add(net, o.assetId, -o.amount);
  for (const [assetId, difference] of net) {
    if (difference !== 0n) {
      throw new ProtocolError('BATCH_INVALID', `${assetId} does not balance (${difference} units)`, {
        asset_id: assetId,
      });
    }
  }
}

export class Planner {
  readonly #vtxos: VtxoStore;
  constructor(vtxos: VtxoStore) {
    this.#vtxos = vtxos;
  }

  /** Selects and locks every input; on any failure releases what it locked and rethrows. */
  async plan(legs: readonly Leg[], options: PlanOptions): Promise<Plan> {
    if (legs.length === 0) throw new TypeError('a plan needs a leg');
    try {
      return await this.#plan(legs, options);
    } catch (error) {
      for (const leg of legs) await this.#vtxos.releaseSession(leg.sessionId);
      throw error;
    }
  }

  async #plan(legs: readonly Leg[], options: PlanOptions): Promise<Plan> {
    const inputs: PlannedInput[] = [];
    const outputs: PlannedOutput[] = [];
    const fees = new Map<string, bigint>();
    for (const leg of legs) {
      const unitsIn = new Map<string, bigint>();
      /** Locks the author's `ids` of `assetId` for the leg and counts them in. */
      const lock = async (assetId: string, ids: readonly string[]) => {
        const locked = await this.#vtxos.lockForSession(
          leg.sessionId,
          ids,
          leg.author,
          assetId,
          options.lockTtlMs,
        );
        for (const v of locked) {
          inputs.push(asInput(v, leg.sessionId, false));
          add(unitsIn, v.assetId, v.amount);
        }
      };
      if (leg.namedInputs?.length) {
        const named = await Promise.all(leg.namedInputs.map((id) => this.#vtxos.get(id)));
        const byAsset = new Map<string, string[]>();
        for (const [i, v] of named.entries()) {
          if (!v || v.ownerPubkey !== leg.author) {
            throw new ProtocolError('VTXO_UNKNOWN', `unknown VTXO or not owned: ${leg.namedInputs[i]}`);
          }
          byAsset.set(v.assetId, [...(byAsset.get(v.assetId) ?? []), v.vtxoId]);
        }
        for (const [assetId, ids] of byAsset) await lock(assetId, ids);
      }
      const pays = new Map<string, bigint>();
      for (const p of leg.pays) add(pays, p.assetId, p.amount);
      for (const [assetId, amount] of pays) {
        const needed = amount - (unitsIn.get(assetId) ?? 0n);
        if (needed <= 0n) continue;
        // Two sessions of one author may pick the same coins at once; the one whose lock loses
        // selects again among what is left rather than failing with 2002.
        for (let attempt = 1; ; attempt++) {
          const selection = await this.#vtxos.selectInputs(leg.author, assetId, needed, {
            dustLimit: options.minChange?.(assetId) ?? 0n,
            maxInputs: 64,
          });
          try {
            await lock(
              assetId,
              selection.inputs.map((c) => c.id),
            );
            break;
          } catch (error) {
            const lost = error instanceof ProtocolError && error.code === ERROR_CODES.VTXO_SPENT.code;
            if (!lost || attempt >= SELECTION_ATTEMPTS) throw error;
          }
        }
      }
      for (const output of leg.outputs) {
        if (output.amount <= 0n)
          throw new ProtocolError('BELOW_LIMITS', 'an output must carry a positive amount');
        outputs.push({ ...output, sats: options.dust, status: 'assigned', sessionId: leg.sessionId });
      }
      if (leg.fee.amount > 0n) add(fees, leg.fee.assetId, leg.fee.amount);
      // Whatever the leg's inputs carry beyond what it pays comes back to it.
      for (const [assetId, amountIn] of unitsIn) {
        const change = amountIn - (pays.get(assetId) ?? 0n);
        if (change < 0n) throw new ProtocolError('INSUFFICIENT_BALANCE', `inputs do not cover ${assetId}`);
        if (change > 0n) {
          outputs.push({
            owner: leg.author,
            assetId,
            amount: change,
            role: 'change',
            sats: options.dust,
            status: 'assigned',
            sessionId: leg.sessionId,
          });
        }
      }
    }
    for (const [assetId, amount] of [...fees].sort(([a], [b]) => (a < b ? -1 : 1))) {
      outputs.push({
        owner: options.gatewayPubkey,
        assetId,
        amount,
        role: 'fee',
        sats: options.dust,
        status: 'assigned',
      });
    }
    assertUnitsBalance(inputs, outputs);
    await this.#balanceSats(inputs, outputs, legs[0]!.sessionId, options);
    return { inputs, outputs };
  }

  /** Tops the inputs' sats up from the inventory, and returns any surplus to the gateway. */
  async #balanceSats(
    inputs: PlannedInput[],
    outputs: PlannedOutput[],
    sessionId: string,
    options: PlanOptions,
  ): Promise<void> {
    const satsOut = () => outputs.reduce((sum, o) => sum + o.sats, 0n);
    let satsIn = inputs.reduce((sum, i) => sum + i.sats, 0n);
    for (let added = 0; satsIn < satsOut(); added++) {
      if (added === MAX_INVENTORY_INPUTS) {
        throw new ProtocolError('SERVICE_UNAVAILABLE', 'the gateway inventory cannot fund this transaction');
      }
      if (options.inventoryBudget !== undefined && added >= options.inventoryBudget) {
        throw new ProtocolError(
          'RATE_LIMITED',
          'this author already holds as many gateway inventory VTXOs in open sessions as allowed',
          { retry_after: options.retryAfterS ?? 60 },
        );
      }
      const [vtxo] = await this.#vtxos.lockInventory(
        sessionId,
        options.inventoryAssetId,
        1,
        1n,
        options.lockTtlMs,
      );
      inputs.push(asInput(vtxo!, sessionId, true));
      satsIn += vtxo!.sats;
    }
    const surplus = satsIn - satsOut();
    if (surplus === 0n) return;
    if (surplus >= options.dust) {
      outputs.push({
        owner: options.gatewayPubkey,
        assetId: options.inventoryAssetId,
        amount: 0n,
        role: 'inventory',
        sats: surplus,
        status: 'available',
      });
      return;
    }
    // Below dust it cannot be an output of its own: it rides in the gateway's fee output, or
    // (no fee) the first output.
    const index = Math.max(
      outputs.findIndex((o) => o.role === 'fee'),
      0,
    );
    const target = outputs[index]!;
    outputs[index] = { ...target, sats: target.sats + surplus };
  }
}
