// What the three simulators share: the lifecycle of the interface (probe, status, reconnect,
// close) and one wrapper that records each call's outcome for `GET /grpc/*` and turns any
// unexpected error into a BackendError, as the real clients do.
import {
  BackendError,
  type BackendLastError,
  type BackendLifecycle,
  type BackendName,
  type BackendStatus,
  type DaemonCallObserver,
  notifyObserver,
} from '../types.ts';
import type { SimWorld } from './world.ts';

export abstract class SimBackend implements BackendLifecycle {
  abstract readonly name: BackendName;
  readonly mode = 'sim' as const;
  protected readonly world: SimWorld;
  #lastError: BackendLastError | undefined;
  #lastSuccessAtMs: number | undefined;
  #closed = false;
  #observe: DaemonCallObserver | undefined;

  constructor(world: SimWorld) {
    this.world = world;
  }

  /** Tells `observer` about every call from now on, as the real clients' guards do. */
  observeCalls(observer: DaemonCallObserver | undefined): void {
    this.#observe = observer;
  }

  /** Runs one simulated daemon call: refused once closed, outcome recorded and observed. */
  protected async call<T>(what: string, fn: () => T | Promise<T>): Promise<T> {
    const startedAt = performance.now();
    try {
      const result = await this.#run(what, fn);
      notifyObserver(this.#observe, this.name, what, 'ok', (performance.now() - startedAt) / 1000);
      return result;
    } catch (error) {
      const kind = error instanceof BackendError ? error.kind : 'internal';
      notifyObserver(this.#observe, this.name, what, kind, (performance.now() - startedAt) / 1000);
      throw error;
    }
  }

  async #run<T>(what: string, fn: () => T | Promise<T>): Promise<T> {
    if (this.#closed || this.world.closed) {
      throw this.#record(new BackendError(this.name, 'unavailable', `${this.name} simulator is closed`));
    }
    try {
      const result = await fn();
      this.#lastSuccessAtMs = Date.now();
      return result;
    } catch (error) {
      if (error instanceof BackendError) throw this.#record(error);
      throw this.#record(
        new BackendError(
          this.name,
          'internal',
          `${what}: ${error instanceof Error ? error.message : String(error)}`,
          {
            cause: error,
          },
        ),
      );
    }
  }

  protected fail(kind: BackendError['kind'], message: string): never {
    throw new BackendError(this.name, kind, message);
  }

  #record(error: BackendError): BackendError {
    this.#lastError = { message: error.message, kind: error.kind, atMs: Date.now() };
    return error;
  }

  async probe(): Promise<void> {
    await this.call('probe', () => {
      this.world.get('SELECT 1');
    });
  }

  status(): BackendStatus {
    return {
      name: this.name,
      mode: 'sim',
      address: `sim:${this.world.path}`,
      // The simulator cannot be unreachable: its breaker never opens.
      breaker: { state: 'closed', consecutiveFailures: 0 },
      ...(this.#lastError ? { lastError: this.#lastError } : {}),
      ...(this.#lastSuccessAtMs !== undefined ? { lastSuccessAtMs: this.#lastSuccessAtMs } : {}),
    };
  }

  async reconnect(): Promise<void> {
    this.#lastError = undefined;
    await this.probe();
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}
