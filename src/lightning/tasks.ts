// The Lightning jobs. `lightning.sweep` (repeating, queue `lightning`): reconciles open lift
// invoices with lnd, credits settled ones, expires the unpaid, and starts, re-attaches or refunds
// every unfinished land. `lightning.pay`: one land's payment, enqueued right after its Ark
// settlement (the sweep is the backstop). Every process registers both (so any may enqueue); a
// process without the Lightning module fails them permanently instead of pretending.
import type { Config } from '../config.ts';
import { PermanentJobError, defineTask, type AnyTask } from '../jobs/queue.ts';
import type { RepeatingJob } from '../jobs/scheduler.ts';
import type { Lightning } from './module.ts';

export const LIGHTNING_SWEEP_TASK = 'lightning.sweep';
export const LIGHTNING_PAY_TASK = 'lightning.pay';

const HASH = /^[0-9a-f]{64}$/;

/** `lightning` is unset in a process that runs no Lightning (a scheduler): the tasks are only named. */
function need(lightning: Lightning | undefined): Lightning {
  if (!lightning) throw new PermanentJobError('this process has no Lightning module');
  return lightning;
}

export function lightningTasks(
  lightning: Lightning | undefined,
  config: Pick<Config, 'lightning'>,
): AnyTask[] {
  return [
    defineTask<Record<string, never>>({
      name: LIGHTNING_SWEEP_TASK,
      queue: 'lightning',
      // The next interval is the retry.
      attempts: 1,
      timeoutMs: config.lightning.paymentTimeoutS * 1000 + 120_000,
      handler: async () => {
        const { lift, land } = need(lightning);
        const lifts = await lift.sweep();
        const lands = await land.sweep();
        return { lifts, lands };
      },
    }),
    defineTask<{ payment_hash: string }>({
      name: LIGHTNING_PAY_TASK,
      queue: 'lightning',
      // A job that runs before the settlement committed finds no row: it tries again shortly.
      attempts: 4,
      backoffMs: 500,
      timeoutMs: config.lightning.paymentTimeoutS * 1000 + 120_000,
      handler: async (data) => {
        if (typeof data?.payment_hash !== 'string' || !HASH.test(data.payment_hash)) {
          throw new PermanentJobError('payment_hash must be 64 lowercase hex');
        }
        return { outcome: await need(lightning).land.pay(data.payment_hash) };
      },
    }),
  ];
}

export function lightningRepeatingJobs(config: Pick<Config, 'lightning'>): RepeatingJob[] {
  return [{ task: LIGHTNING_SWEEP_TASK, everyMs: config.lightning.sweepIntervalMs }];
}
