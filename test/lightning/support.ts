// Shared setup of the Lightning suites: a gateway on the embedded relay and the simulator (or
// MariaDB + BullMQ when DATABASE_URL / REDIS_URL are set), with a fast sweep; counters of the
// Lightning daemon calls that matter (payInvoice), and reads of what was published.
import type { Gateway } from '../../src/app.ts';
import { startTestGateway, type SharedStack } from '../nostr/support.ts';
import { waitFor } from '../support/wait.ts';

export const LIGHTNING_ENV = {
  LIGHTNING_SWEEP_INTERVAL_MS: '1000',
  LIGHTNING_PAYMENT_TIMEOUT_S: '20',
  CEREMONY_SWEEP_INTERVAL_MS: '1000',
  SHUTDOWN_TIMEOUT_MS: '5000',
};

/** With Redis, a scheduler must run for the sweeps: this process is all three roles. */
export async function startLightningGateway(stack: SharedStack, env: Record<string, string> = {}) {
  return startTestGateway({
    stack,
    env: { ...LIGHTNING_ENV, ...env },
    roles: ['api', 'worker', 'scheduler'],
  });
}

/** Counts every call of `operation` on lnd this gateway makes (ok or not). */
export function countCalls(gateway: Gateway, operation: string): { count: number } {
  const counter = { count: 0 };
  gateway.backends.observeCalls((daemon, op) => {
    if (daemon === 'lnd' && op === operation) counter.count++;
  });
  return counter;
}

export function simLightning(gateway: Gateway) {
  const controls = gateway.backends.sim?.lightning;
  if (!controls) throw new Error('these tests need the simulated Lightning node');
  return controls;
}

export async function outboxEvents(gateway: Gateway, kind: number) {
  const rows = await gateway.database.db
    .selectFrom('nostr_outbox')
    .select(['event_json'])
    .where('kind', '=', kind)
    .execute();
  return rows.map(
    (r) => JSON.parse(r.event_json) as { id: string; tags: string[][]; content: string; pubkey: string },
  );
}

export async function waitForInvoiceStatus(
  gateway: Gateway,
  hash: string,
  status: string,
  timeoutMs = 20_000,
) {
  return waitFor(
    async () => {
      const row = await gateway.lightning!.lift.get(hash);
      return row?.status === status ? row : undefined;
    },
    timeoutMs,
    `invoice ${hash.slice(0, 8)} to be ${status}`,
  );
}

export async function waitForPaymentStatus(
  gateway: Gateway,
  hash: string,
  status: string,
  timeoutMs = 30_000,
) {
  return waitFor(
    async () => {
      const row = await gateway.lightning!.land.get(hash);
      return row?.status === status ? row : undefined;
    },
    timeoutMs,
    `payment ${hash.slice(0, 8)} to be ${status}`,
  );
}

export async function movements(gateway: Gateway, kind: string, reference: string) {
  return gateway.database.db
    .selectFrom('asset_movements')
    .selectAll()
    .where('kind', '=', kind as 'lift')
    .where('reference', '=', reference)
    .execute();
}
