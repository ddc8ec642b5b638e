// Composition root: builds the services a process needs for its roles, starts them in order,
// and stops them in reverse (intake first, pools last). It wires; it holds no logic of its own.
import { describeMode, type Config } from './config.ts';
import { StartupError } from './errors.ts';
import { createHttpServer, type HttpServer } from './http/server.ts';
import { systemRoutes } from './http/routes/system.ts';
import { queueRoutes } from './http/routes/queue.ts';
import { createJobQueue, taskRegistry, type AnyTask, type JobQueue } from './jobs/index.ts';
import { coreTasks } from './jobs/tasks/index.ts';
import { startScheduler } from './jobs/scheduler.ts';
import type { Logger } from './logging.ts';
import { HealthRegistry } from './monitoring/health.ts';
import { Readiness } from './monitoring/readiness.ts';
import { ensureLocalSecret } from './secrets.ts';
import { openDatabase, type Database } from './store/database.ts';
import { migrateToLatest, pendingMigrations } from './store/migrator.ts';
import { VERSION } from './version.ts';

export type Role = 'api' | 'worker' | 'scheduler';

export interface StartOptions {
  readonly roles: readonly Role[];
  readonly logger: Logger;
  /** Tasks besides the core ones (tests and embedders); every process must register the same. */
  readonly extraTasks?: readonly AnyTask[];
}

export interface Gateway {
  readonly config: Config;
  readonly roles: readonly Role[];
  readonly database: Database;
  readonly queue: JobQueue;
  readonly health: HealthRegistry;
  readonly readiness: Readiness;
  /** The HTTP address when the process serves the API, e.g. http://127.0.0.1:8000. */
  readonly httpUrl: string | undefined;
  /** Stops everything in reverse start order; resolves false if something did not stop cleanly. */
  stop(reason?: string): Promise<boolean>;
}

interface Stoppable {
  readonly name: string;
  stop(): Promise<void>;
}

/** Without Redis the queue lives in this process, so this process must also run its jobs. */
export function effectiveRoles(config: Config, roles: readonly Role[]): Role[] {
  const all = new Set(roles);
  if (!config.redis && all.has('api')) {
    all.add('worker');
    all.add('scheduler');
  }
  return (['api', 'worker', 'scheduler'] as const).filter((r) => all.has(r));
}

async function prepareSchema(config: Config, database: Database, logger: Logger): Promise<void> {
  if (database.kind === 'sqlite') {
    // The embedded default migrates itself: there is no separate deploy step on a laptop.
    await migrateToLatest(database, logger);
    return;
  }
  const pending = await pendingMigrations(database);
  if (pending.length > 0) {
    throw new StartupError(
      'DATABASE_URL',
      `database schema of ${config.database.kind === 'mariadb' ? config.database.display : ''} is ${pending.length} migration(s) behind; run \`arkrelay migrate\``,
    );
  }
}

export async function runMigrations(config: Config, logger: Logger): Promise<string[]> {
  const database = await openDatabase(config.database, logger);
  try {
    const { applied } = await migrateToLatest(database, logger);
    return applied;
  } finally {
    await database.close();
  }
}

export async function startGateway(config: Config, options: StartOptions): Promise<Gateway> {
  const logger = options.logger;
  const roles = effectiveRoles(config, options.roles);
  const startedAt = new Date();
  const readiness = new Readiness();
  const health = new HealthRegistry();
  const started: Stoppable[] = [];
  readiness.require('database');
  readiness.require('queue');

  const stopAll = async (reason: string): Promise<boolean> => {
    readiness.beginShutdown();
    logger.info({ reason }, 'shutting down');
    let clean = true;
    const deadline = Date.now() + config.shutdownTimeoutMs;
    for (const component of [...started].reverse()) {
      const left = Math.max(deadline - Date.now(), 100);
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          component.stop(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`did not stop within ${left} ms`)), left);
          }),
        ]);
        logger.debug({ component: component.name }, 'stopped');
      } catch (error) {
        clean = false;
        logger.error({ component: component.name, err: error }, 'stop failed');
      } finally {
        clearTimeout(timer);
      }
    }
    started.length = 0;
    logger.info({ clean }, 'shutdown complete');
    return clean;
  };

  try {
    const secretKey = config.secretKey ?? ensureLocalSecret(config.dataDir, 'secret_key');
    void secretKey; // used by the services that sign and encrypt (later issues)

    const database = await openDatabase(config.database, logger);
    started.push({ name: 'database', stop: () => database.close() });
    await prepareSchema(config, database, logger);
    health.register({
      name: 'database',
      critical: true,
      check: async () => ({ latencyMs: await database.ping(), details: { kind: database.kind } }),
    });
    readiness.open('database');

    const tasks = taskRegistry([...coreTasks({ database }).values(), ...(options.extraTasks ?? [])]);
    const queue = await createJobQueue(config, { database, logger, tasks });
    started.push({ name: 'queue', stop: () => queue.close() });
    health.register({
      name: queue.kind === 'bullmq' ? 'redis' : 'queue',
      critical: true,
      check: async () => ({ latencyMs: await queue.ping(), details: { kind: queue.kind } }),
    });
    readiness.open('queue');

    if (roles.includes('worker')) {
      await queue.startWorkers({ concurrency: config.jobs.concurrency, role: roles.join('+') });
      started.push({
        name: 'workers',
        stop: () => queue.stopWorkers({ timeoutMs: config.shutdownTimeoutMs }),
      });
    }
    if (roles.includes('scheduler')) {
      const scheduler = await startScheduler(queue, config, logger);
      started.push({ name: 'scheduler', stop: () => scheduler.stop() });
    }

    let http: HttpServer | undefined;
    let httpUrl: string | undefined;
    if (roles.includes('api')) {
      http = await createHttpServer(logger, [
        systemRoutes({
          instanceId: config.instanceId,
          roles,
          mode: { ...describeMode(config) },
          startedAt,
          readiness,
          health,
          readinessChecks: ['database', queue.kind === 'bullmq' ? 'redis' : 'queue'],
        }),
        queueRoutes(queue),
      ]);
      try {
        await http.listen({ port: config.port, host: config.host });
      } catch (error) {
        throw new StartupError(
          'PORT',
          `cannot listen on ${config.host}:${config.port} (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
        );
      }
      const address = http.server.address();
      const port = typeof address === 'object' && address ? address.port : config.port;
      httpUrl = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;
      const server = http;
      // Stopped first on shutdown: /ready turns 503, new requests are refused, in-flight ones finish.
      started.push({ name: 'http', stop: () => server.close() });
    }

    logger.info(
      { roles, ...describeMode(config), http: httpUrl, version: VERSION, node: process.version },
      'arkrelay started',
    );
    return {
      config,
      roles,
      database,
      queue,
      health,
      readiness,
      httpUrl,
      stop: (reason = 'stop') => stopAll(reason),
    };
  } catch (error) {
    await stopAll('start failed');
    throw error;
  }
}
