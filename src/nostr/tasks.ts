// The job that handles one claimed intake event. It runs on any worker (the API process's
// own, or a separate `arkrelay worker`): it needs the key ring and the responder, because
// replies go to the durable outbox, which the API process's supervisor publishes.
import { PermanentJobError, defineTask, type TaskDefinition } from '../jobs/queue.ts';
import { tagValues, type NostrEvent } from '../domain/nostr-protocol.ts';
import type { NostrCore } from './core.ts';
import { protocolError, type Responder } from './responder.ts';

export const NOSTR_INTAKE_TASK = 'nostr.intake';
export const NOSTR_INTAKE_ATTEMPTS = 3;

export interface NostrIntakeJob {
  readonly event: NostrEvent;
  /** The claim's fencing number (processed_events.attempts when it was claimed). */
  readonly attempt: number;
}

export const intakeJobId = (eventId: string, attempt: number) => `nostr-${eventId}-${attempt}`;

/** Unset in a process that never runs jobs (a scheduler): the task is only named. */
export interface IntakeTaskDeps {
  readonly core: NostrCore;
  readonly responder: Responder;
}

export function nostrIntakeTask(deps: IntakeTaskDeps | undefined): TaskDefinition<NostrIntakeJob> {
  return defineTask<NostrIntakeJob>({
    name: NOSTR_INTAKE_TASK,
    queue: 'default',
    attempts: NOSTR_INTAKE_ATTEMPTS,
    backoffMs: 1000,
    timeoutMs: 30_000,
    handler: async ({ event, attempt }, ctx) => {
      if (!deps) throw new PermanentJobError('this process has no Nostr key ring');
      const { core, responder } = deps;
      const addressed = tagValues(event, 'p');
      let key = core.keys.keys.find((k) => addressed.includes(k.pubkey));
      // Rotated by another process since this one loaded its keys.
      if (!key) {
        await core.keys.refresh();
        key = core.keys.keys.find((k) => addressed.includes(k.pubkey));
      }
      const replies = key
        ? await responder.respond(event, key, {
            attempt: ctx.attempt,
            lastAttempt: ctx.attempt >= NOSTR_INTAKE_ATTEMPTS,
            logger: ctx.logger,
            signal: ctx.signal,
          })
        : [core.publisher.rejection(event, core.keys.active, protocolError('NOT_ADDRESSED'))];
      const completed = await core.complete(event, attempt, replies);
      if (!completed) ctx.logger.warn({ event: event.id }, 'claim was taken over; this reply is dropped');
      return { event: event.id, kind: event.kind, replies: replies.map((r) => r.id), completed };
    },
  });
}
