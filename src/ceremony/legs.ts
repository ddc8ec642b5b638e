// From a checked intent to what its session brings to the Ark transaction (a planner Leg):
// what the author pays per asset, which VTXOs it names, which outputs it asks for. Fees go to
// the gateway; the planner adds change.
import { ProtocolError } from '../domain/error-codes.ts';
import type { AssetAmount, Intent } from '../domain/intents.ts';
import type { VtxoStore } from '../ledger/vtxo-store.ts';
import type { Leg } from './planner.ts';

function merge(amounts: readonly AssetAmount[]): AssetAmount[] {
  const total = new Map<string, bigint>();
  for (const a of amounts) if (a.amount > 0n) total.set(a.assetId, (total.get(a.assetId) ?? 0n) + a.amount);
  return [...total].map(([assetId, amount]) => ({ assetId, amount }));
}

/** The assets an intent moves (its fee included), for the registry checks. */
export function assetsOf(intent: Intent): AssetAmount[] {
  const p = intent.params;
  switch (p.type) {
    case 'transfer:p2p':
    case 'lightning:land':
      return merge([{ assetId: p.assetId, amount: p.amount }, intent.fee]);
    case 'vtxo:split':
      return merge([intent.fee]);
    default:
      return merge([...p.give, ...p.receive, intent.fee]);
  }
}

/**
 * `gatewayVtxoPubkey` receives a land's units: the gateway holds them until the Lightning
 * payment settles (then they leave circulation) or fails (then they go back as a refund).
 */
export async function legFor(
  intent: Intent,
  sessionId: string,
  vtxos: VtxoStore,
  gatewayVtxoPubkey: string,
): Promise<Leg> {
  const p = intent.params;
  const author = intent.author;
  switch (p.type) {
    case 'transfer:p2p':
      return {
        sessionId,
        author,
        pays: merge([{ assetId: p.assetId, amount: p.amount }, intent.fee]),
        outputs: [{ owner: p.recipient, assetId: p.assetId, amount: p.amount, role: 'recipient' }],
        fee: intent.fee,
      };
    case 'vtxo:split': {
      const vtxo = await vtxos.get(p.vtxoId);
      if (!vtxo || vtxo.ownerPubkey !== author || vtxo.status === 'available') {
        throw new ProtocolError('VTXO_UNKNOWN', `unknown VTXO or not owned: ${p.vtxoId}`);
      }
      if (vtxo.status !== 'assigned')
        throw new ProtocolError('VTXO_SPENT', `VTXO ${p.vtxoId} is ${vtxo.status}`);
      const parts = p.amounts.reduce((sum, a) => sum + a, 0n);
      const feeFromVtxo = vtxo.assetId === intent.fee.assetId && parts + intent.fee.amount === vtxo.amount;
      if (parts !== vtxo.amount && !feeFromVtxo) {
        throw new ProtocolError(
          'MALFORMED_CONTENT',
          `split amounts sum to ${parts}, the VTXO holds ${vtxo.amount}` +
            (vtxo.assetId === intent.fee.assetId
              ? ` (or ${vtxo.amount - intent.fee.amount} with the fee taken from it)`
              : ''),
        );
      }
      return {
        sessionId,
        author,
        namedInputs: [vtxo.vtxoId],
        pays: merge([{ assetId: vtxo.assetId, amount: vtxo.amount }, ...(feeFromVtxo ? [] : [intent.fee])]),
        outputs: p.amounts.map((amount) => ({
          owner: author,
          assetId: vtxo.assetId,
          amount,
          role: 'split' as const,
        })),
        fee: intent.fee,
      };
    }
    case 'swap:atomic':
    case 'liquidity:add':
      return {
        sessionId,
        author,
        pays: merge([...p.give, intent.fee]),
        outputs: merge(p.receive).map((r) => ({
          owner: author,
          assetId: r.assetId,
          amount: r.amount,
          role: 'receive' as const,
        })),
        fee: intent.fee,
      };
    case 'lightning:land':
      return {
        sessionId,
        author,
        pays: merge([{ assetId: p.assetId, amount: p.amount }, intent.fee]),
        outputs: [{ owner: gatewayVtxoPubkey, assetId: p.assetId, amount: p.amount, role: 'land' }],
        fee: intent.fee,
      };
  }
}
