// Rows the read and growth benches seed directly (no ceremony): VTXOs of many owners and
// signing sessions. Inserted in chunks through the gateway's own Kysely handle, so the same code
// seeds SQLite and MariaDB.
import { randomBytes, randomUUID } from 'node:crypto';
import type { Database } from '../../src/store/database.ts';
import type { SessionState } from '../../src/store/schema.ts';

const CHUNK = 500;

export const randomPubkey = () => randomBytes(32).toString('hex');

/** `count` assigned gBTC VTXOs for `owner` (or a fresh owner per `perOwner` rows when owner is undefined). */
export async function seedVtxos(
  database: Database,
  count: number,
  options: { owner?: string; perOwner?: number } = {},
): Promise<void> {
  let seed = 7;
  const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648);
  const now = Date.now();
  let owner = options.owner ?? randomPubkey();
  for (let start = 0; start < count; start += CHUNK) {
    const rows = Array.from({ length: Math.min(CHUNK, count - start) }, (_, i) => {
      if (!options.owner && options.perOwner && (start + i) % options.perOwner === 0) owner = randomPubkey();
      const txid = randomBytes(32).toString('hex');
      return {
        vtxo_id: `${txid}:0`,
        txid,
        vout: 0,
        owner_pubkey: owner,
        asset_id: 'gBTC',
        amount: BigInt(1_000 + (next() % 100_000)),
        sats: 330n,
        status: 'assigned' as const,
        created_at: now,
        updated_at: now,
      };
    });
    await database.db.insertInto('vtxos').values(rows).execute();
  }
}

/**
 * `count` signing sessions in `state`, each with `contextJson` (its ids made unique). Open
 * sessions get deadlines an hour away, so the sweep resumes them but never times them out.
 */
export async function seedSessions(
  database: Database,
  count: number,
  options: { state: SessionState; contextJson: string; owner?: string },
): Promise<string[]> {
  const now = Date.now();
  const ids: string[] = [];
  for (let start = 0; start < count; start += CHUNK) {
    const rows = Array.from({ length: Math.min(CHUNK, count - start) }, () => {
      const sessionId = randomUUID();
      ids.push(sessionId);
      const open = !['confirmed', 'failed', 'expired', 'cancelled'].includes(options.state);
      return {
        session_id: sessionId,
        intent_event_id: randomBytes(32).toString('hex'),
        owner_pubkey: options.owner ?? randomPubkey(),
        action_id: randomUUID(),
        session_type: 'transfer:p2p',
        state: options.state,
        current_step: 1,
        step_total: 1,
        steps_completed_json: open ? '[]' : '[1]',
        context_json: options.contextJson,
        ark_txid: randomBytes(32).toString('hex'),
        batch_id: null,
        error_code: null,
        error_message: null,
        deadline_at: now + 3_600_000,
        step_deadline_at: open ? now + 3_600_000 : null,
        created_at: now,
        updated_at: now,
        completed_at: open ? null : now,
      };
    });
    await database.db.insertInto('signing_sessions').values(rows).execute();
  }
  return ids;
}

/** A context_json of about `bytes` bytes, shaped like a transfer's (intent, plan, PSBT). */
export function syntheticContext(bytes = 6_000): string {
  const context = {
    kind: 'transfer',
    human: 'Send 100 gBTC to a recipient',
    intent: {
      event_id: 'ab'.repeat(32),
      author: 'cd'.repeat(32),
      action_id: randomUUID(),
      type: 'transfer:p2p',
    },
    unsignedArkPsbt: '',
  };
  context.unsignedArkPsbt = 'A'.repeat(Math.max(0, bytes - JSON.stringify(context).length));
  return JSON.stringify(context);
}
