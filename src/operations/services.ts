// The internal services an operator can see and restart (/admin/services/status,
// /admin/restart/service): Nostr intake, the relay supervisor, monitors. Each registers how
// to start and stop itself; a restart is a real stop and start, never a stub.

export interface ManagedService {
  readonly name: string;
  readonly description: string;
  running(): boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Anything worth showing next to the state (counters, last error). */
  details?(): Record<string, unknown>;
}

export interface ServiceStatus {
  readonly name: string;
  readonly description: string;
  readonly running: boolean;
  readonly restarts: number;
  readonly last_restart_at: string | null;
  readonly details?: Record<string, unknown>;
}

export class UnknownServiceError extends Error {
  constructor(name: string, known: readonly string[]) {
    super(`unknown service "${name}" (known: ${known.join(', ') || 'none'})`);
    this.name = 'UnknownServiceError';
  }
}

export class ServiceRegistry {
  readonly #services = new Map<
    string,
    { service: ManagedService; restarts: number; lastRestartAt: number | null }
  >();
  /** One restart at a time per service: two operators clicking twice do not interleave. */
  readonly #busy = new Map<string, Promise<ServiceStatus>>();

  register(service: ManagedService): void {
    this.#services.set(service.name, { service, restarts: 0, lastRestartAt: null });
  }

  names(): string[] {
    return [...this.#services.keys()];
  }

  #entry(name: string) {
    const entry = this.#services.get(name);
    if (!entry) throw new UnknownServiceError(name, this.names());
    return entry;
  }

  status(name: string): ServiceStatus {
    const { service, restarts, lastRestartAt } = this.#entry(name);
    const details = service.details?.();
    return {
      name,
      description: service.description,
      running: service.running(),
      restarts,
      last_restart_at: lastRestartAt === null ? null : new Date(lastRestartAt).toISOString(),
      ...(details ? { details } : {}),
    };
  }

  statuses(): ServiceStatus[] {
    return this.names().map((name) => this.status(name));
  }

  async start(name: string): Promise<ServiceStatus> {
    const { service } = this.#entry(name);
    if (!service.running()) await service.start();
    return this.status(name);
  }

  async stop(name: string): Promise<ServiceStatus> {
    const { service } = this.#entry(name);
    if (service.running()) await service.stop();
    return this.status(name);
  }

  async restart(name: string): Promise<ServiceStatus> {
    const entry = this.#entry(name);
    const pending = this.#busy.get(name);
    if (pending) return pending;
    const work = (async () => {
      if (entry.service.running()) await entry.service.stop();
      await entry.service.start();
      entry.restarts++;
      entry.lastRestartAt = Date.now();
      return this.status(name);
    })().finally(() => this.#busy.delete(name));
    this.#busy.set(name, work);
    return work;
  }

  /** Stops every running service (shutdown), in reverse registration order. */
  async stopAll(): Promise<void> {
    for (const name of this.names().reverse()) {
      const { service } = this.#entry(name);
      if (service.running()) await service.stop();
    }
  }
}
