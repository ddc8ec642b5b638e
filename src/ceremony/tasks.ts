// The sweep: resumes every open session from its persisted state (after a crash, a restart,
// or a daemon that was down) and fails the ones past a deadline with 3003; and next to it the
// reconciliation of the ledger with the Ark server. Any worker may run them; two at once are
// harmless, since every transition is conditional.
import { defineTask, type TaskDefinition } from '../jobs/queue.ts';
import type { CeremonyEngine } from './engine.ts';
import { reconcileJson, type Reconciler } from './reconcile.ts';

export const CEREMONY_SWEEP_TASK = 'ceremony.sweep';
const SWEEP_BATCH = 200;

export interface SweepResult {
  readonly groups: number;
  readonly failedToAdvance: number;
}

export async function sweepSessions(engine: CeremonyEngine): Promise<SweepResult> {
  const open = await engine.records.openSessions(SWEEP_BATCH);
  const seen = new Set<string>();
  let failedToAdvance = 0;
  for (const session of open) {
    const group = session.batchId ?? session.sessionId;
    if (seen.has(group)) continue;
    seen.add(group);
    try {
      await engine.advance(session.sessionId);
    } catch {
      // Logged by the job; the next sweep tries again (a daemon that is down stays down a while).
      failedToAdvance++;
    }
  }
  return { groups: seen.size, failedToAdvance };
}

/** `engine` is undefined in a process that runs no jobs: the task is only named. */
/** `engine` is unset in a process without the ceremony (a scheduler): the task is only named. */
export function ceremonySweepTask(engine: CeremonyEngine | undefined): TaskDefinition<Record<string, never>> {
  return defineTask({
    name: CEREMONY_SWEEP_TASK,
    queue: 'default',
    attempts: 1,
    timeoutMs: 120_000,
    handler: async (_data, ctx) => {
      if (!engine) return { skipped: 'no ceremony in this process' };
      const result = await sweepSessions(engine);
      if (result.failedToAdvance > 0)
        ctx.logger.warn(result, 'some sessions could not advance; next sweep retries');
      return result;
    },
  });
}

export const CEREMONY_RECONCILE_TASK = 'ceremony.reconcile';

/** The reconciliation with the Ark server (reconcile.ts); undefined in a process that runs no jobs. */
export function ceremonyReconcileTask(
  reconciler: Reconciler | undefined,
): TaskDefinition<Record<string, never>> {
  return defineTask({
    name: CEREMONY_RECONCILE_TASK,
    queue: 'default',
    attempts: 1,
    timeoutMs: 120_000,
    handler: async () => {
      if (!reconciler) return { skipped: 'no ceremony in this process' };
      return reconcileJson(await reconciler.run());
    },
  });
}
