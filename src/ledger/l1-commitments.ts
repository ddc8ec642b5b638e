// L1 commitments: every L1_COMMITMENT_INTERVAL_MS the finalized Ark transactions that no
// commitment covers yet (ordered by finalized_at, then ark_txid) are hashed into a Merkle root
// (src/domain/merkle.ts, documented in docs/ledger.md), anchored to the Ark server's latest
// commitment tx on L1 (its txid and block height), stored, and announced publicly as kind
// 31342. Storing the row, marking the transactions and queueing the announcement in the
// durable outbox are one database transaction: all or nothing. Two runners at once make one
// commitment: the transactions are claimed by a conditional update (commitment_id still null)
// whose count must match, and the root is unique.
import type { Transaction } from 'kysely';
import type { ArkBackend } from '../backends/ark/ark-backend.ts';
import { merkleRoot } from '../domain/merkle.ts';
import type { NostrEvent } from '../domain/nostr-protocol.ts';
import type { Logger } from '../logging.ts';
import type { Database } from '../store/database.ts';
import { isTransientConflict, isUniqueViolation } from '../store/db-errors.ts';
import type { Schema } from '../store/schema.ts';

/** Most transactions one commitment covers; a larger backlog continues in the next window. */
export const MAX_COMMITMENT_TXS = 50_000;
/** ark_txids per UPDATE … IN (…). */
const CHUNK = 1000;

/** What the job needs of the Nostr publisher (src/nostr/publisher.ts). */
export interface CommitmentAnnouncer {
  l1Commitment(content: { merkle_root: string } & Record<string, unknown>): NostrEvent;
  send(events: readonly NostrEvent[], trx?: Transaction<Schema>): Promise<void>;
  flush(): void;
}

export type CommitmentRun =
  | { readonly status: 'empty' }
  | { readonly status: 'skipped'; readonly reason: string; readonly pending: number }
  | { readonly status: 'lost_race' }
  | {
      readonly status: 'committed';
      readonly commitmentId: number;
      readonly merkleRoot: string;
      readonly txCount: number;
      readonly l1Txid: string;
      readonly blockHeight: number;
      readonly eventId: string;
      /** More finalized transactions wait beyond MAX_COMMITMENT_TXS. */
      readonly more: boolean;
    };

export interface L1CommitmentOptions {
  readonly database: Database;
  readonly ark: Pick<ArkBackend, 'getCommitmentAnchor'>;
  readonly announcer: CommitmentAnnouncer;
  readonly logger: Logger;
  readonly now?: () => number;
  readonly maxTxs?: number;
  readonly maxAttempts?: number;
}

/** Lost a race: roll back, nothing written. */
class LostRace extends Error {}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class L1Commitments {
  readonly #o: L1CommitmentOptions;
  readonly #now: () => number;

  constructor(options: L1CommitmentOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  /** The finalized transactions no commitment covers yet, in commitment order. */
  async uncommitted(limit: number): Promise<{ arkTxid: string; finalizedAt: number }[]> {
    const rows = await this.#o.database.db
      .selectFrom('ark_transactions')
      .select(['ark_txid', 'finalized_at'])
      .where('status', '=', 'finalized')
      .where('commitment_id', 'is', null)
      .orderBy('finalized_at')
      .orderBy('ark_txid')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ arkTxid: r.ark_txid, finalizedAt: Number(r.finalized_at ?? 0) }));
  }

  /** One window: commits it, or says why not. */
  async run(): Promise<CommitmentRun> {
    const max = this.#o.maxTxs ?? MAX_COMMITMENT_TXS;
    const window = await this.uncommitted(max + 1);
    if (window.length === 0) return { status: 'empty' };
    const more = window.length > max;
    const txs = more ? window.slice(0, max) : window;

    const anchor = await this.#o.ark.getCommitmentAnchor();
    if (!anchor) {
      const reason = 'the Ark server reports no confirmed commitment transaction on L1 yet';
      this.#o.logger.warn({ pending: txs.length }, `L1 commitment skipped: ${reason}`);
      return { status: 'skipped', reason, pending: txs.length };
    }

    const txids = txs.map((t) => t.arkTxid);
    const root = merkleRoot(txids);
    const fromAt = txs[0]!.finalizedAt;
    const toAt = txs[txs.length - 1]!.finalizedAt;
    const event = this.#o.announcer.l1Commitment({
      merkle_root: root,
      tx_count: txids.length,
      l1_txid: anchor.txid,
      block_height: anchor.blockHeight,
      // Unix seconds, as Nostr counts time: the window of finalization times covered.
      from: Math.floor(fromAt / 1000),
      to: Math.ceil(toAt / 1000),
      tree: 'sha256; leaf = H(0x00 || txid bytes as displayed); node = H(0x01 || left || right); odd last node promoted',
    });

    let commitmentId: number;
    try {
      commitmentId = await this.#transaction(async (trx) => {
        const now = this.#now();
        let id: number;
        try {
          const inserted = await trx
            .insertInto('l1_commitments')
            .values({
              merkle_root: root,
              tx_count: txids.length,
              from_at: fromAt,
              to_at: toAt,
              l1_txid: anchor.txid,
              block_height: anchor.blockHeight,
              // Announced = its 31342 is in the durable outbox, which publishes and retries it.
              status: 'announced',
              event_id: event.id,
              created_at: now,
              updated_at: now,
            })
            .executeTakeFirst();
          if (inserted.insertId === undefined) throw new Error('l1_commitments insert returned no id');
          id = Number(inserted.insertId);
        } catch (error) {
          // The same root: another runner committed exactly this window.
          if (isUniqueViolation(error)) throw new LostRace();
          throw error;
        }
        let claimed = 0n;
        for (let i = 0; i < txids.length; i += CHUNK) {
          const result = await trx
            .updateTable('ark_transactions')
            .set({ commitment_id: id, updated_at: now })
            .where('ark_txid', 'in', txids.slice(i, i + CHUNK))
            .where('status', '=', 'finalized')
            .where('commitment_id', 'is', null)
            .executeTakeFirst();
          claimed += result.numUpdatedRows;
        }
        // Fewer: another runner covered some of them first; its commitment stands, ours goes.
        if (claimed !== BigInt(txids.length)) throw new LostRace();
        await this.#o.announcer.send([event], trx);
        return id;
      });
    } catch (error) {
      if (error instanceof LostRace) {
        this.#o.logger.info({ merkleRoot: root }, 'L1 commitment made by another runner; nothing written');
        return { status: 'lost_race' };
      }
      throw error;
    }
    this.#o.announcer.flush();
    this.#o.logger.info(
      {
        commitmentId,
        merkleRoot: root,
        txCount: txids.length,
        l1Txid: anchor.txid,
        blockHeight: anchor.blockHeight,
      },
      'L1 commitment stored and announced',
    );
    return {
      status: 'committed',
      commitmentId,
      merkleRoot: root,
      txCount: txids.length,
      l1Txid: anchor.txid,
      blockHeight: anchor.blockHeight,
      eventId: event.id,
      more,
    };
  }

  async #transaction<T>(work: (trx: Transaction<Schema>) => Promise<T>): Promise<T> {
    const maxAttempts = this.#o.maxAttempts ?? 5;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#o.database.db.transaction().execute(work);
      } catch (error) {
        if (!isTransientConflict(error) || attempt >= maxAttempts) throw error;
        await pause(Math.random() * 10 * attempt);
      }
    }
  }
}

/** Rows of l1_commitments, newest first (for reads and tests). */
export async function listCommitments(database: Database, limit = 20) {
  const rows = await database.db
    .selectFrom('l1_commitments')
    .selectAll()
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    id: Number(r.id),
    merkleRoot: r.merkle_root,
    txCount: Number(r.tx_count),
    fromAt: Number(r.from_at),
    toAt: Number(r.to_at),
    l1Txid: r.l1_txid,
    blockHeight: r.block_height === null ? null : Number(r.block_height),
    status: r.status,
    eventId: r.event_id,
  }));
}

/** Ark transactions covered by the commitment `id`, in commitment order. */
export async function commitmentTxids(database: Database, id: number): Promise<string[]> {
  const rows = await database.db
    .selectFrom('ark_transactions')
    .select('ark_txid')
    .where('commitment_id', '=', id)
    .orderBy('finalized_at')
    .orderBy('ark_txid')
    .execute();
  return rows.map((r) => r.ark_txid);
}
