// One /health check per daemon: critical (the gateway cannot settle without any of them), a
// live probe, and the daemon's mode, address and breaker state in the details.
import type { DependencyCheck } from '../monitoring/health.ts';
import type { Backends } from './index.ts';

export function backendHealthChecks(backends: Backends): DependencyCheck[] {
  return backends.all().map((backend) => ({
    name: backend.name,
    critical: true,
    check: async () => {
      try {
        await backend.probe();
      } catch (error) {
        const status = backend.status();
        const reason = error instanceof Error ? error.message : String(error);
        throw new Error(
          `${backend.mode} ${backend.name} at ${status.address}: ${reason} (breaker ${status.breaker.state})`,
          { cause: error },
        );
      }
      const status = backend.status();
      return {
        simulated: status.mode === 'sim',
        details: {
          mode: backend.mode,
          address: status.address,
          breaker: status.breaker.state,
          consecutive_failures: status.breaker.consecutiveFailures,
          ...(status.lastError ? { last_error: status.lastError.message } : {}),
        },
      };
    },
  }));
}
