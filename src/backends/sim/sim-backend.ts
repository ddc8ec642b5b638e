// What the three simulators share: the lifecycle of the interface (probe, status, reconnect,
// close) and one wrapper that records each call's outcome for `GET /grpc/*` and turns any
// unexpected error into a BackendError, as the real clients do.
import {
  BackendError,
  type BackendLastError,
  type BackendLifecycle,
  type BackendName,
  type BackendStatus,
} from '../types.ts';
import type { SimWorld } from './world.ts';

export abstract class SimBackend implements BackendLifecycle {
  abstract readonly name: BackendName;
  readonly mode = 'sim' as const;
  protected readonly world: SimWorld;
  #lastError: BackendLastError | undefined;
  #lastSuccessAtMs: number | undefined;
  #closed = false;

  constructor(world: SimWorld) {
    this.world = world;
  }

  /** Runs one simulated daemon call: refused once closed, outcome recorded. */
  protected async call<T>(what: string, fn: () => T | Promise<T>): Promise<T> {
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
