// L1 commitments, end to end on the simulator: Ark transactions really settled on the simulated
// Ark server are finalized in the ledger; the job (through the job queue) hashes them into the
// root, anchors it to the server's latest commitment tx, stores it, marks the transactions and
// queues a signed 31342 in the outbox, all in one transaction. Empty windows and a missing
// anchor write nothing; two runners at once make one commitment. SQLite and MariaDB.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { KIND, tagValues, type NostrEvent } from '../../src/domain/nostr-protocol.ts';
import { merkleRoot } from '../../src/domain/merkle.ts';
import { InProcessQueue, JobLog, taskRegistry } from '../../src/jobs/index.ts';
import { LightningSimulator } from '../../src/backends/lnd/simulator.ts';
import { createInventoryLedger, type InventoryLedger } from '../../src/ledger/inventory-ledger.ts';
import { L1Commitments, type CommitmentAnnouncer } from '../../src/ledger/l1-commitments.ts';
import { L1_COMMITMENT_TASK, inventoryTasks } from '../../src/ledger/tasks.ts';
import { hasValidSignature } from '../../src/nostr/event.ts';
import { KeyRing } from '../../src/nostr/keys.ts';
import { Outbox } from '../../src/nostr/outbox.ts';
import { Publisher } from '../../src/nostr/publisher.ts';
import type { Database } from '../../src/store/database.ts';
import { walletSign } from '../backends/sim/support.ts';
import { hex32, NOW } from '../store/fixtures.ts';
import { mariadbAvailable, silentLogger } from '../support/test-database.ts';
import { tempDir } from '../support/cli.ts';
import { waitFor } from '../support/wait.ts';
import { AT_REST, harness, type Harness } from './inventory-support.ts';

const kinds = [
  { kind: 'sqlite', skip: false },
  { kind: 'mariadb', skip: !mariadbAvailable },
] as const;

async function finalizedTx(
  database: Database,
  arkTxid: string,
  finalizedAt: number,
  status = 'finalized' as const,
) {
  await database.db
    .insertInto('ark_transactions')
    .values({
      ark_txid: arkTxid,
      session_id: null,
      batch_id: null,
      tx_kind: 'transfer',
      status,
      ark_psbt: 'cHNidP8=',
      checkpoint_psbts_json: null,
      commitment_id: null,
      error_message: null,
      created_at: finalizedAt,
      updated_at: finalizedAt,
      submitted_at: finalizedAt,
      finalized_at: status === 'finalized' ? finalizedAt : null,
    })
    .execute();
}

async function outboxEvent(database: Database, eventId: string): Promise<NostrEvent | undefined> {
  const row = await database.db
    .selectFrom('nostr_outbox')
    .select('event_json')
    .where('event_id', '=', eventId)
    .executeTakeFirst();
  return row && (JSON.parse(row.event_json) as NostrEvent);
}

for (const { kind, skip } of kinds) {
  describe.skipIf(skip)(`L1 commitments on ${kind}`, () => {
    let h: Harness;
    let publisher: Publisher;
    let ledger: InventoryLedger;

    /** The inventory key pays itself offchain on the simulator: a real, finalized Ark tx. */
    async function settleOnServer(): Promise<string> {
      const batch = await ledger.inventory.createBatch({ assetId: 'gBTC', count: 1, amountSats: 1000n });
      const [id] = batch.vtxoIds;
      const input = (await ledger.vtxos.get(id!))!;
      const signer = { priv: ledger.key.secretKey, pub: ledger.key.pubkey };
      const built = await h.ark.buildTransfer(
        [{ outpoint: { txid: input.txid, vout: input.vout }, ownerPubkey: signer.pub, amount: input.sats }],
        [{ ownerPubkey: signer.pub, amount: input.sats }],
      );
      const slots = built.signatures.filter((s) => s.tx === 'ark').map((s) => s.inputIndex);
      const submitted = await h.ark.submitTx(walletSign(built.arkPsbt, signer, slots), built.checkpointPsbts);
      await h.ark.finalizeTx(
        submitted.arkTxid,
        submitted.signedCheckpointPsbts.map((psbt, i) => {
          const slot = built.signatures.find((s) => s.tx === 'checkpoint' && s.checkpoint === i)!;
          return walletSign(psbt, signer, [slot.inputIndex]);
        }),
      );
      expect(await h.ark.getPendingTx(submitted.arkTxid, [])).toEqual({
        state: 'finalized',
        arkTxid: submitted.arkTxid,
      });
      return submitted.arkTxid;
    }

    beforeAll(async () => {
      h = await harness(kind);
      const keys = new KeyRing({
        database: h.database,
        atRestKey: AT_REST,
        graceMs: 0,
        logger: silentLogger,
      });
      await keys.initialise(undefined);
      publisher = new Publisher({ keys, outbox: new Outbox(h.database), replyTtlS: 3600 });
      ledger = await createInventoryLedger({
        config: loadConfig({ DATA_DIR: tempDir() }),
        database: h.database,
        backends: { ark: h.ark, lightning: new LightningSimulator(h.world.world) },
        announcer: publisher,
        logger: silentLogger,
        atRestKey: AT_REST,
        now: h.clock.now,
      });
    });
    afterAll(async () => {
      await ledger?.close();
      await h?.dispose();
    });

    it('an empty window writes nothing', async () => {
      expect(await ledger.commitments!.run()).toEqual({ status: 'empty' });
      expect(await h.database.db.selectFrom('l1_commitments').selectAll().execute()).toEqual([]);
    });

    it('without an L1 anchor the round is skipped with its reason, nothing written', async () => {
      await finalizedTx(h.database, hex32(), NOW);
      const noAnchor = new L1Commitments({
        database: h.database,
        ark: { getCommitmentAnchor: async () => undefined },
        announcer: publisher,
        logger: silentLogger,
      });
      expect(await noAnchor.run()).toEqual({
        status: 'skipped',
        reason: 'the Ark server reports no confirmed commitment transaction on L1 yet',
        pending: 1,
      });
      expect(await h.database.db.selectFrom('l1_commitments').selectAll().execute()).toEqual([]);
      await h.database.db.deleteFrom('ark_transactions').execute();
    });

    it('the job commits the settled Ark txs, anchored and announced as 31342, in one go', async () => {
      const settled = [];
      for (let i = 0; i < 3; i++) settled.push(await settleOnServer());
      // Finalized in an order unlike their txids; a submitted one is not covered.
      await finalizedTx(h.database, settled[0]!, NOW + 300);
      await finalizedTx(h.database, settled[1]!, NOW + 100);
      await finalizedTx(h.database, settled[2]!, NOW + 100);
      const pending = hex32();
      await finalizedTx(h.database, pending, NOW + 50, 'submitted' as 'finalized');
      const order = [
        ...[settled[1]!, settled[2]!].sort(), // same finalized_at: by txid
        settled[0]!,
      ];
      const anchor = await h.ark.getCommitmentAnchor();

      const queue = new InProcessQueue({
        tasks: taskRegistry(inventoryTasks(ledger)),
        jobLog: new JobLog(h.database),
        logger: silentLogger,
        instanceId: 'test-worker',
        defaults: { attempts: 1, backoffMs: 10 },
      });
      await queue.startWorkers({ concurrency: 1 });
      try {
        await queue.enqueue(L1_COMMITMENT_TASK, {});
        const status = await waitFor(
          async () =>
            (
              await h.database.db
                .selectFrom('job_logs')
                .select('status')
                .where('job_name', '=', L1_COMMITMENT_TASK)
                .where('status', '!=', 'running')
                .executeTakeFirst()
            )?.status,
        );
        expect(status).toBe('completed');
      } finally {
        await queue.close();
      }

      const rows = await h.database.db.selectFrom('l1_commitments').selectAll().execute();
      expect(rows).toHaveLength(1);
      const row = rows[0]!;
      expect(row).toMatchObject({
        merkle_root: merkleRoot(order),
        l1_txid: anchor!.txid,
        status: 'announced',
      });
      expect(Number(row.tx_count)).toBe(3);
      expect(Number(row.block_height)).toBe(anchor!.blockHeight);
      expect([Number(row.from_at), Number(row.to_at)]).toEqual([NOW + 100, NOW + 300]);
      const covered = await h.database.db
        .selectFrom('ark_transactions')
        .select(['ark_txid', 'commitment_id'])
        .execute();
      for (const tx of covered) {
        expect(tx.commitment_id === null ? null : Number(tx.commitment_id)).toBe(
          tx.ark_txid === pending ? null : Number(row.id),
        );
      }

      const event = await outboxEvent(h.database, row.event_id!);
      expect(event).toBeDefined();
      expect(event!.kind).toBe(KIND.L1_COMMITMENT);
      expect(event!.pubkey).toBe((await keysOf(h.database))[0]);
      expect(hasValidSignature(event!)).toBe(true);
      expect(tagValues(event!, 'd')).toEqual([`commitment:${row.merkle_root}`]);
      expect(JSON.parse(event!.content)).toMatchObject({
        merkle_root: row.merkle_root,
        tx_count: 3,
        l1_txid: anchor!.txid,
        block_height: anchor!.blockHeight,
      });

      // The next window holds only what was finalized since.
      const later = await settleOnServer();
      await finalizedTx(h.database, later, NOW + 400);
      const next = await ledger.commitments!.run();
      expect(next).toMatchObject({ status: 'committed', txCount: 1, merkleRoot: merkleRoot([later]) });
      expect(await ledger.commitments!.run()).toEqual({ status: 'empty' });
    });

    it('all or nothing: when queueing the announcement fails, no commitment and no tx is marked', async () => {
      const txid = hex32();
      await finalizedTx(h.database, txid, NOW + 1000);
      const failing: CommitmentAnnouncer = {
        l1Commitment: (content) => publisher.l1Commitment(content),
        send: async (events, trx) => {
          await publisher.send(events, trx);
          throw new Error('outbox write failed');
        },
        flush: () => undefined,
      };
      const runner = new L1Commitments({
        database: h.database,
        ark: h.ark,
        announcer: failing,
        logger: silentLogger,
      });
      const count = (await h.database.db.selectFrom('l1_commitments').select('id').execute()).length;
      await expect(runner.run()).rejects.toThrow('outbox write failed');
      expect((await h.database.db.selectFrom('l1_commitments').select('id').execute()).length).toBe(count);
      const tx = await h.database.db
        .selectFrom('ark_transactions')
        .select('commitment_id')
        .where('ark_txid', '=', txid)
        .executeTakeFirstOrThrow();
      expect(tx.commitment_id).toBeNull();
      expect(await ledger.commitments!.run()).toMatchObject({ status: 'committed', txCount: 1 });
    });

    it('runners racing over the same window make one commitment', async () => {
      for (let round = 0; round < 5; round++) {
        for (let i = 0; i < 20; i++) await finalizedTx(h.database, hex32(), NOW + 2000 + round * 100 + i);
        const runners = [];
        for (let i = 0; i < 4; i++) {
          const database = kind === 'mariadb' ? await h.test.reopen() : h.database;
          runners.push(
            new L1Commitments({ database, ark: h.ark, announcer: publisher, logger: silentLogger }),
          );
        }
        const before = (await h.database.db.selectFrom('l1_commitments').select('id').execute()).length;
        const results = await Promise.all(runners.map((r) => r.run()));
        expect(results.filter((r) => r.status === 'committed')).toHaveLength(1);
        expect(results.every((r) => ['committed', 'lost_race', 'empty'].includes(r.status))).toBe(true);
        expect((await h.database.db.selectFrom('l1_commitments').select('id').execute()).length).toBe(
          before + 1,
        );
        const uncovered = await h.database.db
          .selectFrom('ark_transactions')
          .select('ark_txid')
          .where('status', '=', 'finalized')
          .where('commitment_id', 'is', null)
          .execute();
        expect(uncovered).toEqual([]);
      }
    });
  });
}

async function keysOf(database: Database): Promise<string[]> {
  const rows = await database.db
    .selectFrom('gateway_keys')
    .select('pubkey')
    .where('status', '=', 'active')
    .execute();
  return rows.map((r) => r.pubkey);
}
