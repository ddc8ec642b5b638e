// The tasks every process registers. Later issues add theirs here; a process that enqueues a
// task must know it (enqueue() refuses unknown names), so all processes share this list.
import type { NostrCore } from '../../nostr/core.ts';
import { nostrIntakeTask } from '../../nostr/tasks.ts';
import type { Database } from '../../store/database.ts';
import { taskRegistry, type TaskRegistry } from '../queue.ts';
import { heartbeatTask } from './heartbeat.ts';

export interface TaskDeps {
  readonly database: Database;
  /** The Nostr key ring, outbox and responder; absent in a process that runs no jobs. */
  readonly nostr?: NostrCore;
}

export function coreTasks(deps: TaskDeps): TaskRegistry {
  return taskRegistry([heartbeatTask(deps), nostrIntakeTask(deps.nostr)]);
}
