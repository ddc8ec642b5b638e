// The Nostr service of an API process: the embedded relay (when NOSTR_RELAYS is unset), the
// relay supervisor, intake, the sweep that hands orphaned claims to a worker again, and the
// key refresh that follows a rotation made by another process. start()/stop() are what
// POST /nostr/start|stop call; the embedded relay keeps running across them (wallets use it).
import { join } from 'node:path';
import type { Config } from '../config.ts';
import { StartupError } from '../errors.ts';
import { FailureLog } from '../failure-log.ts';
import type { JobQueue } from '../jobs/queue.ts';
import type { Logger } from '../logging.ts';
import type { DependencyCheck } from '../monitoring/health.ts';
import type { Readiness } from '../monitoring/readiness.ts';
import type { NostrCore } from './core.ts';
import { EmbeddedRelay } from './embedded-relay.ts';
import { Intake, type IntakeCounters } from './intake.ts';
import { npubOf } from './keys.ts';
import { emptyRelayCounters, type RelaySnapshot } from './relay-connection.ts';
import { RelaySupervisor } from './supervisor.ts';

export const INTAKE_GATE = 'intake';
const START_WAIT_MS = 5_000;

export interface NostrServiceOptions {
  readonly config: Config;
  readonly core: NostrCore;
  readonly queue: JobQueue;
  readonly logger: Logger;
  readonly readiness: Readiness;
  /** Claims older than this at start are orphans (their in-process jobs died with the process). */
  readonly orphansAtStart: boolean;
  readonly sweepIntervalMs?: number;
  readonly keyRefreshMs?: number;
}

export interface NostrStatus {
  readonly running: boolean;
  readonly pubkey: string;
  readonly npub: string;
  readonly previous_pubkeys: string[];
  readonly embedded_relay: string | null;
  readonly relays: (RelaySnapshot & { readonly cursor: number | null })[];
  readonly intake: IntakeCounters & Record<string, number>;
  readonly outbox_pending: number;
}

export class NostrService {
  readonly #options: NostrServiceOptions;
  readonly #logger: Logger;
  // Both run on a timer: during an outage they fail every round, logged once a minute with a count.
  readonly #keyRefreshFailures: FailureLog;
  readonly #sweepFailures: FailureLog;
  readonly intake: Intake;
  #embedded: EmbeddedRelay | undefined;
  #supervisor: RelaySupervisor | undefined;
  #relays: string[] = [];
  #timers: NodeJS.Timeout[] = [];
  #keysVersion = 0;
  #firstStart = true;

  constructor(options: NostrServiceOptions) {
    this.#options = options;
    this.#logger = options.logger.child({ component: 'nostr' });
    this.#keyRefreshFailures = new FailureLog({ logger: this.#logger, what: 'refreshing the gateway keys' });
    this.#sweepFailures = new FailureLog({ logger: this.#logger, what: 'claim sweep' });
    this.intake = new Intake({
      core: options.core,
      queue: options.queue,
      instanceId: options.config.instanceId,
      logger: this.#logger,
      resend: (events) => this.#supervisor?.broadcast(events),
    });
  }

  get running(): boolean {
    return this.#supervisor?.running ?? false;
  }

  get embeddedRelayUrl(): string | undefined {
    return this.#embedded?.url;
  }

  get relays(): readonly string[] {
    return this.#relays;
  }

  /** Starts the embedded relay when no relay is configured; must run before start(). */
  async prepare(): Promise<void> {
    const { config } = this.#options;
    if (config.nostr.relays.length > 0) {
      this.#relays = [...config.nostr.relays];
      return;
    }
    const relay = new EmbeddedRelay({
      file: join(config.dataDir, 'relay.sqlite'),
      port: config.nostr.embeddedRelayPort,
      // A child of the process logger, not of this one: one `component` per line.
      logger: this.#options.logger.child({ component: 'embedded-relay' }),
    });
    try {
      await relay.start();
    } catch (error) {
      throw new StartupError(
        'EMBEDDED_RELAY_PORT',
        `the embedded relay cannot listen on 127.0.0.1:${config.nostr.embeddedRelayPort} (${(error as NodeJS.ErrnoException).code ?? String(error)}); choose another port or set NOSTR_RELAYS`,
      );
    }
    this.#embedded = relay;
    this.#relays = [relay.url];
  }

  healthChecks(): DependencyCheck[] {
    return this.#relays.map((url) => ({
      name: `relay:${url}`,
      critical: false,
      check: async () => {
        const connection = this.#supervisor?.connections.find((c) => c.url === url);
        if (!connection || !this.running) throw new Error('Nostr intake is stopped');
        const snapshot = connection.snapshot();
        if (!connection.connected)
          throw new Error(`${snapshot.state}${snapshot.last_error ? `: ${snapshot.last_error}` : ''}`);
        return { details: { subscribed: snapshot.subscribed, connected_since: snapshot.connected_since } };
      },
    }));
  }

  async start(): Promise<void> {
    if (this.running) return;
    const { core, config, readiness } = this.#options;
    const supervisor = new RelaySupervisor({
      relays: this.#relays,
      database: core.database,
      keys: core.keys,
      outbox: core.outbox,
      logger: this.#logger,
      catchUpWindowS: config.nostr.catchUpWindowS,
      publishTimeoutMs: config.nostr.publishTimeoutMs,
      onEvent: (event) => this.intake.receive(event),
      holdCursorAt: () => this.intake.oldestHeld(),
      onSubscribed: (url) => {
        readiness.open(INTAKE_GATE);
        subscribed();
        this.#logger.debug({ relay: url }, 'subscribed');
      },
    });
    let subscribed = () => {};
    const firstSubscription = new Promise<void>((resolve) => (subscribed = resolve));
    this.#supervisor = supervisor;
    this.intake.start();
    core.publisher.notifier = () => supervisor.notify();
    this.#keysVersion = core.keys.version;
    await supervisor.start();
    const sweepMs = this.#options.sweepIntervalMs ?? 10_000;
    const orphans = this.#firstStart && this.#options.orphansAtStart;
    this.#firstStart = false;
    void this.#sweep(orphans ? 0 : undefined);
    this.#timers = [
      setInterval(() => void this.#sweep(), sweepMs),
      setInterval(() => void this.refreshKeys(), this.#options.keyRefreshMs ?? 30_000),
    ];
    // Wait (briefly) for a first relay to confirm the subscription, so a process that answers
    // /ready right after starting really takes requests; relays that are down do not hold the
    // start up: the gate opens whenever one subscribes.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([firstSubscription, new Promise((r) => (timer = setTimeout(r, START_WAIT_MS)))]);
    clearTimeout(timer);
    this.#logger.info({ relays: this.#relays, pubkey: core.keys.active.pubkey }, 'Nostr intake started');
  }

  async stop(reason = 'Nostr intake stopped (POST /nostr/start starts it)'): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    this.intake.stop();
    const supervisor = this.#supervisor;
    this.#options.core.publisher.notifier = undefined;
    this.#options.readiness.close(INTAKE_GATE, reason);
    if (supervisor) await supervisor.stop();
    this.#logger.info('Nostr intake stopped');
  }

  /** Stops the embedded relay (process shutdown, after stop()). */
  async closeRelay(): Promise<void> {
    await this.#embedded?.stop();
  }

  /** Every relay connection as it is now (metrics). */
  snapshots(): RelaySnapshot[] {
    return this.#supervisor?.connections.map((c) => c.snapshot()) ?? [];
  }

  /** The connection to one relay (status, tests). */
  connection(url: string) {
    return this.#supervisor?.connections.find((c) => c.url === url);
  }

  /** True once every relay has answered the current subscription with EOSE. */
  supervisorSubscribedAll(): boolean {
    return Boolean(this.#supervisor?.connections.every((c) => c.subscribed));
  }

  get core(): NostrCore {
    return this.#options.core;
  }

  /** Re-reads the keys (rotation by another process); resubscribes when they changed. */
  async refreshKeys(): Promise<void> {
    try {
      await this.#options.core.keys.refresh();
      const version = this.#options.core.keys.version;
      if (version !== this.#keysVersion) {
        this.#keysVersion = version;
        this.#logger.info(
          { pubkeys: this.#options.core.keys.pubkeys },
          'gateway keys changed; subscribing again',
        );
        this.#supervisor?.resubscribe();
      }
      this.#keyRefreshFailures.succeeded();
    } catch (error) {
      this.#keyRefreshFailures.failed(error);
    }
  }

  /** Claims whose handler never finished (process died): hand them to a worker again. */
  async #sweep(leaseMs = this.#options.config.nostr.claimLeaseS * 1000): Promise<void> {
    if (!this.running) return;
    try {
      const stale = await this.#options.core.claims.reclaimStale(this.#options.config.instanceId, leaseMs);
      for (const claim of stale) {
        this.#logger.warn(
          { event: claim.event.id, attempt: claim.attempt },
          'handing an unfinished event to a worker again',
        );
        await this.intake.enqueue(claim.event, claim.attempt);
      }
      this.#sweepFailures.succeeded();
    } catch (error) {
      this.#sweepFailures.failed(error);
    }
  }

  async status(): Promise<NostrStatus> {
    const keys = this.#options.core.keys;
    return {
      running: this.running,
      pubkey: keys.active.pubkey,
      npub: npubOf(keys.active.pubkey),
      previous_pubkeys: keys.keys.filter((k) => k.status === 'previous').map((k) => k.pubkey),
      embedded_relay: this.#embedded?.url ?? null,
      relays:
        this.#supervisor?.snapshot() ??
        this.#relays.map((url) => ({
          url,
          state: 'stopped' as const,
          subscribed: false,
          authenticated: false,
          connected_since: null,
          next_retry_at: null,
          last_error: null,
          counters: emptyRelayCounters(),
          cursor: null,
        })),
      intake: { ...this.intake.counters, waiting_for_database: this.intake.waiting } as IntakeCounters &
        Record<string, number>,
      outbox_pending: await this.#options.core.outbox.pendingCount(),
    };
  }
}
