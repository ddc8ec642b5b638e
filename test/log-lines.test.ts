// Every line a gateway logs through a whole transfer — start, intake, the ceremony, settlement,
// the sweeps, admin requests and the stop — at debug level: one JSON object per line, no key
// twice in one object (a log shipper keeps one of two `component`s at random), and no SQL or
// its parameters (they carry PSBTs and keys).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../src/app.ts';
import { duplicateJsonKey } from '../src/domain/json-scan.ts';
import { ArkRelayWallet, WalletKey } from '../src/wallet/index.ts';
import { fund, readyToTransfer } from './ceremony/support.ts';
import { createStack, LogCapture, startTestGateway, type SharedStack } from './nostr/support.ts';

const SQL_KEYS = ['sql', 'parameters', 'values', 'query'];

function keysDeep(value: unknown, found = new Set<string>()): Set<string> {
  if (value && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      found.add(key);
      keysDeep(inner, found);
    }
  }
  return found;
}

describe('log lines', () => {
  const capture = new LogCapture('debug');
  let stack: SharedStack;
  let gateway: Gateway;

  beforeAll(async () => {
    stack = await createStack();
    gateway = await startTestGateway({
      stack,
      roles: ['api', 'worker', 'scheduler'],
      logger: capture.logger,
      env: { ADMIN_API_KEY: 'log-lines-admin-key-0123456789abcdef0123' },
    });
    await readyToTransfer(gateway, 10);
  }, 60_000);
  afterAll(async () => {
    await gateway?.stop();
    await stack?.drop();
  });

  it('through a transfer, admin requests and a stop, every line is one JSON object without a repeated key or SQL', async () => {
    const gw = gateway.nostr!.core.keys.active.pubkey;
    const wallet = await ArkRelayWallet.connect({
      gatewayPubkey: gw,
      relays: [gateway.nostr!.embeddedRelayUrl!],
    });
    try {
      await fund(gateway, wallet.pubkey, 1_000n);
      await wallet.syncState();
      const intent = wallet.transferIntent({
        recipient: WalletKey.generate().pubkey,
        assetId: 'gBTC',
        amount: 100n,
      });
      await wallet.publishIntent(intent);
      expect((await wallet.outcome(intent.content.action_id, 30_000)).status).toBe('settled');
    } finally {
      wallet.close();
    }
    const headers = { 'x-admin-key': 'log-lines-admin-key-0123456789abcdef0123' };
    expect((await fetch(`${gateway.httpUrl}/admin/alerts`, { headers })).status).toBe(200);
    expect(
      (await fetch(`${gateway.httpUrl}/admin/alerts`, { headers: { 'x-admin-key': 'wrong' } })).status,
    ).toBe(401);
    expect((await fetch(`${gateway.httpUrl}/sessions?limit=oops`)).status).toBe(400);
    await gateway.stop('log lines test');

    const lines = capture.text.split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(20);
    const messages = new Set<string>();
    for (const line of lines) {
      const entry = JSON.parse(line) as Record<string, unknown>;
      messages.add(String(entry.msg));
      expect(duplicateJsonKey(line), line).toBeUndefined();
      const keys = keysDeep(entry);
      for (const key of SQL_KEYS) expect(keys.has(key), line).toBe(false);
    }
    // The run really went through the parts that log the most.
    expect(messages).toContain('shutdown complete');
    expect(messages).toContain('session settled');
  }, 60_000);
});
