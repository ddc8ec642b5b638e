// Readiness: the process takes traffic only when every start-up gate is open (the database
// migrated and reachable, the queue connected, Nostr intake subscribed…) and it is not
// shutting down. Gates are opened by the components themselves once they are really up.

export interface ReadinessState {
  readonly ready: boolean;
  readonly shutting_down: boolean;
  readonly gates: Record<string, { readonly open: boolean; readonly reason?: string }>;
}

export class Readiness {
  readonly #gates = new Map<string, { open: boolean; reason?: string }>();
  #shuttingDown = false;

  /** Declares a gate that must open before the process is ready. */
  require(name: string, reason = 'starting'): void {
    if (!this.#gates.has(name)) this.#gates.set(name, { open: false, reason });
  }

  open(name: string): void {
    this.#gates.set(name, { open: true });
  }

  close(name: string, reason: string): void {
    this.#gates.set(name, { open: false, reason });
  }

  beginShutdown(): void {
    this.#shuttingDown = true;
  }

  state(): ReadinessState {
    const gates = Object.fromEntries(this.#gates);
    const allOpen = [...this.#gates.values()].every((g) => g.open);
    return {
      ready: allOpen && !this.#shuttingDown && this.#gates.size > 0,
      shutting_down: this.#shuttingDown,
      gates,
    };
  }
}
