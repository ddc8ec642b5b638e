// The built-in heartbeat: the scheduler enqueues it, a worker runs it and upserts the
// heartbeats row of the instance that ran it. A fresh last_seen_at therefore proves the whole
// path — enqueue, queue, worker, database — and names which workers are alive.
import { hostname } from 'node:os';
import type { Database } from '../../store/database.ts';
import { VERSION } from '../../version.ts';
import { defineTask, type TaskDefinition, type WorkerIdentity } from '../queue.ts';

export const HEARTBEAT_TASK = 'heartbeat';

export interface HeartbeatRecord {
  readonly instanceId: string;
  readonly lastSeenAt: number;
}

/** Inserts or refreshes the instance's row; the same statement shape on SQLite and MariaDB. */
export async function recordHeartbeat(
  database: Database,
  worker: WorkerIdentity,
  details: Record<string, unknown> = {},
  now = Date.now(),
): Promise<HeartbeatRecord> {
  const row = {
    instance_id: worker.instanceId.slice(0, 128),
    role: worker.role.slice(0, 32),
    hostname: hostname().slice(0, 255),
    pid: process.pid,
    version: VERSION.slice(0, 32),
    started_at: Math.round(performance.timeOrigin),
    last_seen_at: now,
    details_json: JSON.stringify(details),
  };
  const { instance_id: _key, ...update } = row;
  const insert = database.db.insertInto('heartbeats').values(row);
  // Upsert syntax is the one place the two dialects differ.
  if (database.kind === 'mariadb') await insert.onDuplicateKeyUpdate(update).execute();
  else await insert.onConflict((conflict) => conflict.column('instance_id').doUpdateSet(update)).execute();
  return { instanceId: row.instance_id, lastSeenAt: now };
}

export type HeartbeatData = Record<string, never>;

export function heartbeatTask(deps: { readonly database: Database }): TaskDefinition<HeartbeatData> {
  return defineTask<HeartbeatData>({
    name: HEARTBEAT_TASK,
    queue: 'maintenance',
    // A heartbeat is only worth anything now: no long retry chain, the next one is coming.
    attempts: 2,
    timeoutMs: 10_000,
    handler: async (_data, ctx) =>
      recordHeartbeat(deps.database, ctx.worker, {
        jobId: ctx.jobId,
        attempt: ctx.attempt,
        uptimeSeconds: Math.round(process.uptime()),
        rssBytes: process.memoryUsage.rss(),
      }),
  });
}
