// Which gateway processes are live on a database. Every process keeps its heartbeats row fresh
// from start to stop (whatever the monitoring and job settings), marks it released on a clean
// stop, and anyone can ask who is live: a restore refuses to replace a database that a gateway
// is still serving.
import { hostname } from 'node:os';
import { FailureLog } from '../failure-log.ts';
import { recordHeartbeat } from '../jobs/tasks/heartbeat.ts';
import type { WorkerIdentity } from '../jobs/queue.ts';
import type { Logger } from '../logging.ts';
import type { Database } from '../store/database.ts';

/** How often a process refreshes its row. */
export const LEASE_REFRESH_MS = 10_000;
/** A row seen within this long belongs to a live process (several refreshes may be missed). */
export const LEASE_LIVE_MS = 60_000;

export interface InstanceLease {
  stop(): Promise<void>;
}

export async function holdInstanceLease(
  database: Database,
  identity: WorkerIdentity,
  logger: Logger,
): Promise<InstanceLease> {
  const refresh = () => recordHeartbeat(database, identity, { source: 'lease' });
  await refresh();
  let running: Promise<unknown> = Promise.resolve();
  const failures = new FailureLog({ logger, what: 'refreshing the instance heartbeat' });
  const timer = setInterval(() => {
    running = running.then(refresh).then(
      () => failures.succeeded(),
      (error: unknown) => failures.failed(error),
    );
  }, LEASE_REFRESH_MS).unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
      // Not released (the database is gone): the row goes stale within LEASE_LIVE_MS anyway.
      await recordHeartbeat(database, identity, { source: 'lease', released: true }).catch((error: unknown) =>
        logger.warn({ err: error }, 'could not release the instance heartbeat'),
      );
    },
  };
}

export interface LiveInstance {
  readonly instance_id: string;
  readonly role: string;
  readonly hostname: string;
  readonly pid: number;
  readonly last_seen_at: string;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, it belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function released(details: string | null): boolean {
  try {
    return (JSON.parse(details ?? '{}') as { released?: unknown }).released === true;
  } catch {
    return false;
  }
}

/**
 * The processes live on this database: a fresh row not released on a clean stop. A row of this
 * host whose process is gone (killed, crashed) does not count; one of another host counts until
 * it is LEASE_LIVE_MS old. A database without the heartbeats table has none.
 */
export async function liveInstances(database: Database, now = Date.now()): Promise<LiveInstance[]> {
  let rows;
  try {
    rows = await database.db
      .selectFrom('heartbeats')
      .selectAll()
      .where('last_seen_at', '>=', now - LEASE_LIVE_MS)
      .execute();
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    if (/no such table|doesn't exist/i.test(text)) return [];
    throw error;
  }
  const host = hostname().slice(0, 255);
  return rows
    .filter((r) => !released(r.details_json))
    .filter((r) => r.hostname !== host || processAlive(r.pid))
    .map((r) => ({
      instance_id: r.instance_id,
      role: r.role,
      hostname: r.hostname,
      pid: r.pid,
      last_seen_at: new Date(Number(r.last_seen_at)).toISOString(),
    }));
}

export function describeInstances(instances: readonly LiveInstance[]): string {
  return instances
    .map((i) => `${i.instance_id} (${i.role}, pid ${i.pid} on ${i.hostname}, last seen ${i.last_seen_at})`)
    .join('; ');
}
