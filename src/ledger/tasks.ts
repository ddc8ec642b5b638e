// The inventory half of the ledger's jobs: the inventory monitor, the VTXO cleanup and the L1
// commitment, each a task every process registers (so the scheduler can enqueue it) and a
// repeating job of the scheduler. A process built without the ledger names the tasks only;
// a job that lands there fails permanently instead of pretending.
import type { Config } from '../config.ts';
import { PermanentJobError, defineTask, type AnyTask } from '../jobs/queue.ts';
import type { RepeatingJob } from '../jobs/scheduler.ts';
import type { InventoryLedger } from './inventory-ledger.ts';

export const INVENTORY_MONITOR_TASK = 'ledger.inventory-monitor';
export const VTXO_CLEANUP_TASK = 'ledger.vtxo-cleanup';
export const L1_COMMITMENT_TASK = 'ledger.l1-commitment';

/** Windows one L1 commitment job commits at most (a backlog beyond it waits for the next run). */
const MAX_WINDOWS_PER_JOB = 10;

function need(ledger: InventoryLedger | undefined): InventoryLedger {
  if (!ledger) throw new PermanentJobError('this process has no ledger');
  return ledger;
}

export function inventoryTasks(ledger: InventoryLedger | undefined): AnyTask[] {
  return [
    defineTask<Record<string, never>>({
      name: INVENTORY_MONITOR_TASK,
      queue: 'maintenance',
      // The next interval is the retry: a failed batch is counted again then, never doubled.
      attempts: 1,
      handler: async (_data, ctx) => {
        const run = await need(ledger).monitor.tick(ctx.signal);
        const failed = run.status === 'done' ? run.assets.filter((a) => a.error) : [];
        // Failing the job makes the failure visible (job failure rate alert, /admin/logs).
        if (failed.length > 0) {
          throw new Error(
            `replenishment failed for ${failed.map((a) => `${a.asset}: ${a.error}`).join('; ')}`,
          );
        }
        return run;
      },
    }),
    defineTask<Record<string, never>>({
      name: VTXO_CLEANUP_TASK,
      queue: 'maintenance',
      attempts: 2,
      timeoutMs: 120_000,
      handler: async () => need(ledger).cleanup.run(),
    }),
    defineTask<Record<string, never>>({
      name: L1_COMMITMENT_TASK,
      queue: 'maintenance',
      attempts: 3,
      backoffMs: 30_000,
      handler: async (_data, ctx) => {
        const commitments = need(ledger).commitments;
        if (!commitments)
          throw new PermanentJobError('this process has no Nostr publisher to announce commitments');
        const runs = [];
        for (let i = 0; i < MAX_WINDOWS_PER_JOB && !ctx.signal.aborted; i++) {
          const run = await commitments.run();
          runs.push(run);
          if (run.status !== 'committed' || !run.more) break;
        }
        return runs;
      },
    }),
  ];
}

/** The scheduler's repeating jobs of this half of the ledger (add to repeatingJobs()). */
export function inventoryRepeatingJobs(config: Config): RepeatingJob[] {
  return [
    { task: INVENTORY_MONITOR_TASK, everyMs: config.inventory.monitorIntervalMs },
    { task: VTXO_CLEANUP_TASK, everyMs: config.inventory.cleanupIntervalMs },
    { task: L1_COMMITMENT_TASK, everyMs: config.l1Commitments.intervalMs },
  ];
}
