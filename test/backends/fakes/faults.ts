// Faults a wire fake can be told to inject: answer slowly, fail the next n calls with a given
// error, or drop connections — so the clients' timeouts, retries and breaker meet real sockets.

export interface InjectedFailure {
  /** HTTP status (REST fakes) or gRPC status code (lnd fake). */
  readonly status: number;
  readonly message: string;
  /** grpc-gateway's `code` in a REST error body. */
  readonly grpcCode?: number;
}

export class Faults {
  delayMs = 0;
  /** Close the socket without answering. */
  hangUp = false;
  readonly #queue: InjectedFailure[] = [];
  /** Requests seen, by route or method name. */
  readonly calls = new Map<string, number>();

  failNext(failure: InjectedFailure, times = 1): void {
    for (let i = 0; i < times; i++) this.#queue.push(failure);
  }

  /** Every request from now on fails with this, until `heal()`. */
  failAlways(failure: InjectedFailure): void {
    this.#always = failure;
  }
  #always: InjectedFailure | undefined;

  heal(): void {
    this.#queue.length = 0;
    this.#always = undefined;
    this.delayMs = 0;
    this.hangUp = false;
  }

  count(name: string): number {
    return this.calls.get(name) ?? 0;
  }

  /** Called by the fake per request: records it, waits, returns the failure to send if any. */
  async enter(name: string): Promise<InjectedFailure | undefined> {
    this.calls.set(name, this.count(name) + 1);
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    return this.#queue.shift() ?? this.#always;
  }
}
