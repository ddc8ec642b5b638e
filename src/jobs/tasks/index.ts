// The tasks of the job system itself, which every process registers. Each module registers its
// own tasks at composition; a process that enqueues a task must know it (enqueue() refuses
// unknown names), so every process registers the same list.
import type { Database } from '../../store/database.ts';
import { taskRegistry, type TaskRegistry } from '../queue.ts';
import { heartbeatTask } from './heartbeat.ts';

export interface TaskDeps {
  readonly database: Database;
}

export function coreTasks(deps: TaskDeps): TaskRegistry {
  return taskRegistry([heartbeatTask(deps)]);
}
