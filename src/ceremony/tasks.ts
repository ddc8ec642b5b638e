// The sweep: resumes every open session from its persisted state (after a crash, a restart,
// or a daemon that was down) and fails the ones past a deadline with 3003. Any worker may run
// it; two at once are harmless, since every transition is conditional.
import { defineTask, type TaskDefinition } from '../jobs/queue.ts';
import type { CeremonyEngine } from './engine.ts';

export const CEREMONY_SWEEP_TASK = 'ceremony.sweep';
const SWEEP_BATCH = 200;

export interface SweepResult {
  readonly groups: number;
  readonly failedToAdvance: number;
}

export async function sweepSessions(engine: CeremonyEngine): Promise<SweepResult> {
  const open = await engine.store.open(SWEEP_BATCH);
  const seen = new Set<string>();
  let failedToAdvance = 0;
  for (const session of open) {
    const group = session.batch_id ?? session.session_id;
    if (seen.has(group)) continue;
    seen.add(group);
    try {
      await engine.advance(session.session_id);
    } catch {
      // Logged by the job; the next sweep tries again (a daemon that is down stays down a while).
      failedToAdvance++;
    }
  }
  return { groups: seen.size, failedToAdvance };
}

/** `engine` is undefined in a process that runs no jobs: the task is only named. */
export function ceremonySweepTask(
  engine: () => CeremonyEngine | undefined,
): TaskDefinition<Record<string, never>> {
  return defineTask({
    name: CEREMONY_SWEEP_TASK,
    queue: 'default',
    attempts: 1,
    timeoutMs: 120_000,
    handler: async (_data, ctx) => {
      const current = engine();
      if (!current) return { skipped: 'no ceremony in this process' };
      const result = await sweepSessions(current);
      if (result.failedToAdvance > 0)
        ctx.logger.warn(result, 'some sessions could not advance; next sweep retries');
      return result;
    },
  });
}
