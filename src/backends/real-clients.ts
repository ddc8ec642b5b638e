// The hook to the real daemon clients (arkd REST, tapd REST, lnd gRPC) with their resilience
// layer, written beside this file in src/backends/*/client.ts and src/backends/resilience/*.
// A configured daemon is never replaced by the simulator: an unreachable one is reported down.
import type { DaemonEndpoint } from '../config.ts';
import type { Logger } from '../logging.ts';
import type { DaemonCallObserver } from './types.ts';

export interface RealClientDeps {
  readonly logger: Logger;
  /** Told about every call the client makes to its daemon (daemon_call_seconds). */
  readonly observeCall?: DaemonCallObserver;
}

// Each factory checks its endpoint's address and credentials (StartupError naming the variable)
// and returns at once: the daemon is first called on use or by the health probe.
export type RealClientFactory<T> = (endpoint: DaemonEndpoint, deps: RealClientDeps) => Promise<T>;

export { createRealArk } from './ark/client.ts';
export { createRealLnd } from './lnd/client.ts';
export { createRealTapd } from './tapd/client.ts';
