// The legs of a `submit_batch` (docs/protocol.md, "Service requests of the ceremony"): 2-16
// swap:atomic / liquidity:add intents of distinct authors, each naming another author of the
// batch as counterparty, that balance per asset — everything given is received by someone in
// the batch, so nothing is created or lost. Anything else is 3001 and nothing is locked.
// Pure: no I/O.
import { ProtocolError } from './error-codes.ts';
import type { AssetAmount, Intent } from './intents.ts';

/** Per author (in batch order): what it gives and what it receives, one entry per asset. */
export type BatchFlows = Map<string, { gives: AssetAmount[]; receives: AssetAmount[] }>;

const MIN_LEGS = 2;
const MAX_LEGS = 16;

const invalid = (message: string, details?: Record<string, unknown>) =>
  new ProtocolError('BATCH_INVALID', message, details);

export function checkBatchLegs(intents: readonly Intent[]): BatchFlows {
  if (intents.length < MIN_LEGS || intents.length > MAX_LEGS) {
    throw invalid(`a batch has ${MIN_LEGS}-${MAX_LEGS} intents, not ${intents.length}`);
  }
  const authors = new Set(intents.map((i) => i.author));
  const flows: BatchFlows = new Map();
  const given = new Map<string, bigint>();
  const received = new Map<string, bigint>();
  const add = (totals: Map<string, bigint>, a: AssetAmount) =>
    totals.set(a.assetId, (totals.get(a.assetId) ?? 0n) + a.amount);

  // Checked in passes, so the message names the real fault: a transfer in the batch is
  // reported as such, not as the counterparty its neighbour can no longer find.
  const legs = intents.map((intent, index) => {
    const where = { leg: index, action_id: intent.actionId, author: intent.author };
    const p = intent.params;
    if (p.type !== 'swap:atomic' && p.type !== 'liquidity:add') {
      throw invalid(`leg ${index} (${intent.actionId}) is ${p.type}, not a batch leg`, where);
    }
    return { intent, p, where };
  });
  for (const { intent, p, where } of legs) {
    if (flows.has(intent.author)) {
      throw invalid(
        `leg ${where.leg} (${intent.actionId}): its author already has a leg in this batch`,
        where,
      );
    }
    flows.set(intent.author, { gives: p.give.map(copy), receives: p.receive.map(copy) });
  }
  for (const { intent, p, where } of legs) {
    if (p.counterparty === intent.author || !authors.has(p.counterparty)) {
      throw invalid(
        `leg ${where.leg} (${intent.actionId}): counterparty is not another author of the batch`,
        where,
      );
    }
    p.give.forEach((a) => add(given, a));
    p.receive.forEach((a) => add(received, a));
  }

  for (const assetId of new Set([...given.keys(), ...received.keys()])) {
    const g = given.get(assetId) ?? 0n;
    const r = received.get(assetId) ?? 0n;
    if (g !== r) {
      throw invalid(`asset ${assetId} does not balance: given ${g}, received ${r}`, {
        asset_id: assetId,
        given: g.toString(),
        received: r.toString(),
      });
    }
  }
  return flows;
}

const copy = (a: AssetAmount): AssetAmount => ({ assetId: a.assetId, amount: a.amount });
