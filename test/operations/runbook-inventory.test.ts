// Runbook "Low VTXO inventory", end to end: with the inventory empty the low_vtxo_inventory alert
// fires; the operator creates a batch with POST /vtxos/batch/create; the alert resolves.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/app.ts';
import { gbtcReady } from '../ceremony/support.ts';
import { createStack, startTestGateway, waitReady, type SharedStack } from '../nostr/support.ts';
import { waitFor } from '../support/wait.ts';

const ADMIN_KEY = 'runbook-test-admin-key-0123456789abcdef';

describe('runbook: low VTXO inventory', () => {
  let stack: SharedStack;
  let gateway: Gateway;
  const admin = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${gateway.httpUrl}${path}`, {
      method,
      headers: { 'x-admin-key': ADMIN_KEY, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const firing = async () =>
    ((await admin('GET', '/admin/alerts')).body.firing as { rule: string }[]).map((a) => a.rule);

  beforeAll(async () => {
    stack = await createStack();
    gateway = await startTestGateway({
      stack,
      env: { ADMIN_API_KEY: ADMIN_KEY, VTXO_INVENTORY_CRITICAL: '5', ALERT_EVALUATION_INTERVAL_MS: '200' },
    });
    await waitReady(gateway);
    await gbtcReady(gateway);
  }, 60_000);
  afterAll(async () => {
    await gateway?.stop();
    await stack?.drop();
  });

  it('fires with an empty inventory and resolves after POST /vtxos/batch/create', async () => {
    await waitFor(
      async () => ((await firing()).includes('low_vtxo_inventory') ? true : undefined),
      15_000,
      'the alert to fire',
    );
    const inventory = await fetch(`${gateway.httpUrl}/vtxos/inventory/gBTC`).then((r) => r.json());
    expect(inventory).toMatchObject({ available: 0 });

    const created = await admin('POST', '/vtxos/batch/create', { asset_id: 'gBTC', count: 8 });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ count: 8 });
    await waitFor(
      async () => (!(await firing()).includes('low_vtxo_inventory') ? true : undefined),
      15_000,
      'the alert to resolve',
    );
    const history = (await admin('GET', '/admin/alerts')).body.history as {
      rule: string;
      status: string;
    }[];
    expect(history.filter((h) => h.rule === 'low_vtxo_inventory').map((h) => h.status)).toEqual(
      expect.arrayContaining(['firing', 'resolved']),
    );
  }, 60_000);
});
