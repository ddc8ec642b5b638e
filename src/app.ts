// Composition root: builds the services a process needs for its roles, starts them in order,
// and stops them in reverse (intake first, pools last). It wires; it holds no logic of its own.
import { backendHealthChecks } from './backends/health.ts';
import { createBackends, type Backends } from './backends/index.ts';
import { describeMode, type Config } from './config.ts';
import { refuseUnsafeProductionStart } from './config-production.ts';
import { StartupError } from './errors.ts';
import { createHttpServer, type HttpServer } from './http/server.ts';
import { systemRoutes } from './http/routes/system.ts';
import { queueRoutes } from './http/routes/queue.ts';
import { backendRoutes } from './http/routes/backends.ts';
import { nostrRoutes } from './http/routes/nostr.ts';
import { adminGuard, type AdminAccess } from './http/admin-auth.ts';
import { routePlugins, type RouteSet } from './http/admin-scope.ts';
import { auditHook } from './http/audit.ts';
import { configuredSecrets, createRedactor } from './http/redact.ts';
import { holdInstanceLease } from './operations/instance-lease.ts';
import { tightenTree } from './store/file-modes.ts';
import { adminRoutes } from './http/routes/admin.ts';
import { monitoringRoutes } from './http/routes/monitoring.ts';
import type { OperationsDeps } from './http/operations.ts';
import { createMonitoring } from './monitoring/index.ts';
import { ServiceRegistry } from './operations/services.ts';
import { createJobQueue, TaskTable, type AnyTask, type JobQueue } from './jobs/index.ts';
import { coreTasks } from './jobs/tasks/index.ts';
import { startScheduler } from './jobs/scheduler.ts';
import type { Logger } from './logging.ts';
import { HealthRegistry } from './monitoring/health.ts';
import type { ProbeDeps } from './monitoring/probes.ts';
import { Readiness } from './monitoring/readiness.ts';
import { createNostrCore, createResponder, type NostrCore } from './nostr/core.ts';
import { nostrIntakeTask, type IntakeTaskDeps } from './nostr/tasks.ts';
import { KeyRing, atRestKey, configuredSecret } from './nostr/keys.ts';
import { INTAKE_GATE, NostrService } from './nostr/service.ts';
import { ensureLocalSecret } from './secrets.ts';
import { openDatabase, type Database } from './store/database.ts';
import { prepareSchema } from './store/migrator.ts';
import { VERSION } from './version.ts';
import { createCeremony, createCeremonyBase, type Ceremony } from './ceremony/module.ts';
import {
  ceremonyReconcileTask,
  ceremonySweepTask,
  CEREMONY_RECONCILE_TASK,
  CEREMONY_SWEEP_TASK,
} from './ceremony/tasks.ts';
import { loadInventoryKey } from './ledger/inventory-key.ts';
import { VtxoStore } from './ledger/vtxo-store.ts';
import { createLedgerModule, type LedgerModule } from './ledger/module.ts';
import { latestRatios } from './ledger/reserves.ts';
import { createInventoryLedger, type InventoryLedger } from './ledger/inventory-ledger.ts';
import { inventoryRepeatingJobs, inventoryTasks } from './ledger/tasks.ts';
import { inventoryRoutes } from './http/routes/inventory.ts';
import { ledgerRoutes } from './http/routes/ledger.ts';
import { sessionRoutes } from './http/routes/sessions.ts';
import { SessionReads } from './ceremony/session-reads.ts';
import { createLightning, type Lightning } from './lightning/module.ts';
import { lightningRepeatingJobs, lightningTasks } from './lightning/tasks.ts';
import { lightningRoutes } from './http/routes/lightning.ts';
import { feeSchedule } from './ceremony/module.ts';

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
  /** The Prometheus exporter when ENABLE_METRICS, e.g. http://127.0.0.1:8080/metrics. */
  readonly metricsUrl: string | undefined;
  /** The METRICS_PORT server (its /health and /ready), e.g. http://127.0.0.1:8080. */
  readonly probeUrl: string | undefined;
  /** arkd, tapd and lnd: each the simulator or the real client, as configured. */
  readonly backends: Backends;
  /** The Nostr transport of an API process (relays, intake, status). */
  readonly nostr: NostrService | undefined;
  /** The signing ceremony of a process that handles intake jobs (api or worker). */
  readonly ceremony: Ceremony | undefined;
  /** Assets, reserves, ledger reads and the invariant check. */
  readonly ledger: LedgerModule;
  /** The inventory key, batches, monitor, cleanup and L1 commitments (api and worker roles). */
  readonly inventory: InventoryLedger | undefined;
  /** Lifts and lands of a process that handles intake jobs (api or worker). */
  readonly lightning: Lightning | undefined;
  /**
   * Stops everything in reverse start order; resolves false if something did not stop cleanly.
   * `drain`: an API process keeps its listener open SHUTDOWN_DRAIN_MS with /ready at 503 first
   * (a process leaving a load balancer: the signal handlers ask for it).
   */
  stop(reason?: string, options?: { readonly drain?: boolean }): Promise<boolean>;
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

export async function startGateway(config: Config, options: StartOptions): Promise<Gateway> {
  const logger = options.logger;
  const roles = effectiveRoles(config, options.roles);
  // Before anything opens: production never runs on a simulator or loopback relay by default.
  refuseUnsafeProductionStart(config, { intake: roles.includes('api') });
  const startedAt = new Date();
  const readiness = new Readiness();
  // A simulated daemon only degrades a production deployment; the embedded default is simulated by design.
  const health = new HealthRegistry({ simulatedDegrades: config.database.kind === 'mariadb' });
  const started: Stoppable[] = [];
  readiness.require('database');
  readiness.require('queue');
  if (roles.includes('api')) {
    // With NOSTR_AUTO_START=false the process stays not-ready until POST /nostr/start.
    readiness.require(
      INTAKE_GATE,
      config.autoStart.nostr
        ? 'starting'
        : 'Nostr intake not started (NOSTR_AUTO_START=false): POST /nostr/start',
    );
  }

  let draining = false;
  const stopAll = async (reason: string, drain = false): Promise<boolean> => {
    draining = drain;
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
    // Everything under DATA_DIR is owner-only; what an older version or a hand copy left looser
    // is tightened before anything reads it.
    const modes = tightenTree(config.dataDir);
    if (modes.tightened.length > 0 || modes.failed.length > 0) {
      logger.warn({ tightened: modes.tightened, failed: modes.failed }, 'DATA_DIR files made owner-only');
    }
    const redactor = createRedactor([...configuredSecrets(config), secretKey]);

    const database = await openDatabase(config.database, logger);
    started.push({ name: 'database', stop: () => database.close() });
    await prepareSchema(config, database, logger);
    // Held until stop: `backup restore` refuses while this process is live on the database.
    const lease = await holdInstanceLease(
      database,
      { instanceId: config.instanceId, role: roles.join('+') },
      logger,
    );
    started.push({ name: 'instance-lease', stop: () => lease.stop() });
    health.register({
      name: 'database',
      critical: true,
      check: async (timeoutMs) => ({
        latencyMs: await database.ping(timeoutMs),
        details: { kind: database.kind },
      }),
    });
    readiness.open('database');

    // Every role gets the daemons (workers settle, the scheduler reconciles). A real daemon
    // that cannot be reached is reported down by /health; it is never replaced by the simulator.
    const backends = await createBackends(config, { logger: logger.child({ component: 'backends' }) });
    started.push({ name: 'backends', stop: () => backends.close() });
    for (const check of backendHealthChecks(backends)) health.register(check);
    for (const backend of backends.all()) {
      logger.info(
        { daemon: backend.name, mode: backend.mode, address: backend.status().address },
        'daemon backend',
      );
    }

    // The queue first, so every module is given the queue itself; each registers its tasks in
    // `tasks`, which is sealed before the workers start.
    const tasks = new TaskTable();
    const queue = await createJobQueue(config, { database, logger, tasks: tasks.registry });
    started.push({ name: 'queue', stop: () => queue.close() });
    health.register({
      name: queue.kind === 'bullmq' ? 'redis' : 'queue',
      critical: true,
      check: async (timeoutMs) => ({ latencyMs: await queue.ping(timeoutMs), details: { kind: queue.kind } }),
    });
    readiness.open('queue');

    // The ledger's one VTXO service, shared by everything that changes VTXO rows here.
    const vtxos = new VtxoStore(database);
    let nostrCore: NostrCore | undefined;
    let ceremony: Ceremony | undefined;
    let inventory: InventoryLedger | undefined;
    let lightning: Lightning | undefined;
    let intakeTask: IntakeTaskDeps | undefined;
    if (roles.includes('api') || roles.includes('worker')) {
      // The gateway key: API processes sign replies, workers decrypt requests; a key that does
      // not decrypt stops the start here, naming the variable.
      const keys = new KeyRing({
        database,
        atRestKey: atRestKey(config, secretKey),
        graceMs: config.nostr.keyGraceMs,
        logger: logger.child({ component: 'nostr-keys' }),
      });
      await keys.initialise(configuredSecret(config, logger));
      const inventoryKey = await loadInventoryKey({
        database,
        atRestKey: atRestKey(config, secretKey),
        configured: config.inventory.secretKey,
        logger: logger.child({ component: 'inventory-key' }),
      });
      nostrCore = createNostrCore(config, database, keys);
      const base = createCeremonyBase({ config, database, ark: backends.ark, vtxos, inventoryKey });
      lightning = createLightning({
        config,
        database,
        backends,
        nostr: nostrCore,
        vtxos,
        ceremony: base,
        inventoryKey,
        queue,
        logger,
      });
      ceremony = createCeremony({
        config,
        database,
        ark: backends.ark,
        nostr: nostrCore,
        vtxos,
        inventoryKey,
        logger,
        base,
        hooks: lightning.hooks,
      });
      const inventoryLedger = await createInventoryLedger({
        config,
        database,
        backends,
        announcer: nostrCore.publisher,
        logger,
        atRestKey: atRestKey(config, secretKey),
        key: inventoryKey,
        vtxos,
      });
      inventory = inventoryLedger;
      started.push({ name: 'inventory', stop: () => inventoryLedger.close() });
      intakeTask = {
        core: nostrCore,
        responder: createResponder(nostrCore, {
          actions: [...ceremony.actions, ...lightning.actions],
          kinds: ceremony.kinds,
          vtxoPubkey: async () => inventoryKey.pubkey,
        }),
      };
    }

    const ledger = createLedgerModule({ config, database, backends, logger, store: vtxos });
    await ledger.start();
    started.push({ name: 'ledger', stop: () => ledger.stop() });

    tasks.register([
      ...coreTasks({ database }).values(),
      nostrIntakeTask(intakeTask),
      ceremonySweepTask(ceremony?.engine),
      ceremonyReconcileTask(ceremony?.reconciler),
      ...ledger.tasks,
      ...inventoryTasks(inventory),
      ...lightningTasks(lightning, config),
      ...(options.extraTasks ?? []),
    ]);
    tasks.seal();

    if (roles.includes('worker')) {
      await queue.startWorkers({ concurrency: config.jobs.concurrency, role: roles.join('+') });
      started.push({
        name: 'workers',
        stop: () => queue.stopWorkers({ timeoutMs: config.shutdownTimeoutMs }),
      });
    }
    if (roles.includes('scheduler')) {
      const scheduler = await startScheduler(queue, config, logger, {
        jobs: [
          { task: CEREMONY_SWEEP_TASK, everyMs: config.ceremony.sweepIntervalMs },
          { task: CEREMONY_RECONCILE_TASK, everyMs: config.ceremony.reconcileIntervalMs },
          ...ledger.repeatingJobs,
          ...inventoryRepeatingJobs(config),
          ...lightningRepeatingJobs(config),
        ],
      });
      started.push({ name: 'scheduler', stop: () => scheduler.stop() });
    }

    const probes: ProbeDeps = {
      instanceId: config.instanceId,
      startedAt,
      readiness,
      health,
      readinessChecks: ['database', queue.kind === 'bullmq' ? 'redis' : 'queue'],
    };
    // Monitoring runs in every process (samples, heartbeats); alert rules are judged by API
    // processes only, which see every dependency the rules read (relays among them).
    const monitoring = await createMonitoring({
      config,
      database,
      queue,
      health,
      logger,
      role: roles.join('+'),
      evaluateAlerts: roles.includes('api'),
      probes,
      servesApi: roles.includes('api'),
    });
    started.push({ name: 'monitoring', stop: () => monitoring.stop() });
    backends.observeCalls(monitoring.metrics.observeDaemonCall); // daemon_call_seconds
    monitoring.metrics.sources.reserves = () => latestRatios(database);
    if (lightning) {
      const m = monitoring.metrics;
      const observer = {
        lift: (asset: string, outcome: string) => m.lifts.inc({ asset, outcome }),
        land: (asset: string, outcome: string) => m.lands.inc({ asset, outcome }),
      };
      lightning.lift.observer = observer;
      lightning.land.observer = observer;
    }
    if (ceremony) {
      const m = monitoring.metrics;
      ceremony.engine.observer = {
        intent: (type, outcome) => m.intents.inc({ type, outcome }),
        stepAnswered: (step, seconds) => m.ceremonyStepSeconds.observe({ step: String(step) }, seconds),
        feeCollected: (asset, amount) => m.feesCollected.inc({ asset }, Number(amount)),
      };
    }
    const services = new ServiceRegistry();
    services.register({
      name: 'monitoring',
      description: 'system samples, heartbeats and alert rules',
      running: () => monitoring.service.running,
      start: () => monitoring.service.start(),
      stop: () => monitoring.service.stop(),
    });
    if (config.autoStart.monitoring) await monitoring.service.start();
    if (lightning) {
      const ln = lightning;
      // Stopped before the workers: waits on payments end at once (lnd keeps them; re-attached later).
      started.push({ name: 'lightning', stop: () => ln.stop() });
      services.register({
        name: 'lightning-invoice-monitor',
        description:
          'lnd invoice subscription that detects paid lift invoices (resumes from the stored settle_index)',
        running: () => ln.monitor.running,
        start: () => ln.monitor.start(),
        stop: () => ln.monitor.stop(),
        details: () => ln.monitor.details(),
      });
      if (config.autoStart.lightning) await ln.monitor.start();
    }
    if (inventory) {
      const monitor = inventory.monitor;
      services.register({
        name: 'inventory-monitor',
        description: 'replenishes the VTXO inventory below its thresholds (state shared by every instance)',
        running: () => monitor.lastKnownRunning,
        start: async () => {
          await monitor.start();
        },
        stop: async () => {
          await monitor.stop();
        },
      });
    }

    let nostr: NostrService | undefined;
    if (roles.includes('api') && nostrCore) {
      const service = new NostrService({
        config,
        core: nostrCore,
        queue,
        logger,
        readiness,
        // One process on its own SQLite file: a claim left 'processing' lost its in-memory job.
        orphansAtStart: !config.redis && database.kind === 'sqlite',
      });
      // The embedded relay runs before anything connects to it, and stops after intake.
      await service.prepare();
      started.push({ name: 'embedded-relay', stop: () => service.closeRelay() });
      for (const check of service.healthChecks()) health.register(check);
      nostr = service;
      monitoring.metrics.sources.relays = () =>
        service.snapshots().map((r) => ({
          relay: r.url,
          connected: r.state === 'connected',
          eventsIn: r.counters.eventsReceived,
          eventsOut: r.counters.eventsPublished,
          reconnects: Math.max(r.counters.connects - 1, 0),
        }));
      services.register({
        name: 'nostr-intake',
        description: 'relay supervisor, subscriptions and intake of requests, intents and responses',
        running: () => service.running,
        start: () => service.start(),
        stop: () => service.stop('restarting'),
      });
    }

    // One guard for every admin and operational route, so failed attempts count together.
    const admin: AdminAccess = {
      guard: adminGuard(config.adminApiKey, { maxFailures: config.adminAuthMaxFailures }),
      audit: auditHook(database, redactor),
      configured: config.adminApiKey !== undefined,
    };
    const operations: OperationsDeps = {
      config,
      database,
      queue,
      health,
      alerts: monitoring.alerts,
      monitoring: monitoring.service,
      sampler: monitoring.sampler,
      cache: monitoring.cache,
      services,
      startedAt,
      backupDir: config.backupDir,
    };
    let http: HttpServer | undefined;
    let httpUrl: string | undefined;
    if (roles.includes('api')) {
      const ceremonyNow = ceremony;
      const routeSets: RouteSet[] = [
        { open: systemRoutes({ ...probes, roles, mode: { ...describeMode(config) } }) },
        { open: queueRoutes(queue) },
        backendRoutes({ backends, admin }),
        ...(nostr ? [nostrRoutes(nostr)] : []),
        { open: monitoringRoutes(operations) },
        { admin: adminRoutes(operations) },
        ledgerRoutes(ledger),
        ...(inventory ? [inventoryRoutes({ ledger: inventory, queue })] : []),
        ...(lightning
          ? [
              {
                open: lightningRoutes({
                  database,
                  backend: backends.lightning,
                  lightning,
                  fees: feeSchedule(config),
                  feeLimitSat: BigInt(config.lightning.feeLimitSat),
                }),
              },
            ]
          : []),
        ...(ceremonyNow
          ? [
              sessionRoutes({
                reads: new SessionReads(database, ceremonyNow.engine),
                reconcile: () => ceremonyNow.reconciler.run(),
                challengeRetentionMs: config.ceremony.challengeRetentionMs,
              }),
            ]
          : []),
      ];
      http = await createHttpServer(logger, routePlugins(routeSets, admin), {
        metrics: monitoring.metrics,
        redactUrl: redactor.url,
      });
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
      // On shutdown /ready answers 503 at once; the listener stays open for SHUTDOWN_DRAIN_MS more,
      // so a load balancer sees the 503 and stops sending before it could see a refused connection.
      // Then new requests are refused and in-flight ones finish.
      started.push({ name: 'http', stop: () => server.close() });
      started.push({
        name: 'load-balancer drain',
        stop: () =>
          draining && config.shutdownDrainMs > 0
            ? new Promise<void>((resolve) => setTimeout(resolve, config.shutdownDrainMs))
            : Promise.resolve(),
      });
    }
    if (nostr) {
      const service = nostr;
      // Pushed after http, so it stops first: intake ends before anything else.
      started.push({ name: 'nostr', stop: () => service.stop('shutting down') });
      if (config.autoStart.nostr) await service.start();
    }

    logger.info(
      {
        roles,
        ...describeMode(config),
        http: httpUrl,
        probes: monitoring.exporter?.base,
        version: VERSION,
        node: process.version,
      },
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
      metricsUrl: config.metrics.enabled ? monitoring.exporter?.url : undefined,
      probeUrl: monitoring.exporter?.base,
      backends,
      nostr,
      ceremony,
      ledger,
      lightning,
      inventory,
      stop: (reason = 'stop', options = {}) => stopAll(reason, options.drain ?? false),
    };
  } catch (error) {
    await stopAll('start failed');
    throw error;
  }
}
