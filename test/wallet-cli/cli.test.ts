// The `arkrelay-wallet` command in child processes against a real gateway (embedded relay,
// simulated daemons): the key file's permissions, --json answers, lift --pay → send → split →
// land, a failed send exiting non-zero with its protocol code, `watch` answering only the
// challenges of intents it signed, and --pay refused when Lightning is not simulated.
import { readFileSync, statSync, chmodSync, appendFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/app.ts';
import { buildIntent, RelayPool, WalletKey } from '../../src/wallet/index.ts';
import { fund, readyToTransfer } from '../ceremony/support.ts';
import { createStack, startTestGateway, type SharedStack } from '../nostr/support.ts';
import { waitFor } from '../support/wait.ts';
import { runWallet, spawnWallet, walletHome } from './support.ts';

interface Balances {
  balances: { asset_id: string; available: string }[];
  vtxos: { vtxo_id: string; amount: string; asset_id: string }[];
}

describe('arkrelay-wallet', () => {
  let stack: SharedStack;
  let gateway: Gateway;
  let http: string;
  let gw: string;
  let relay: string;

  beforeAll(async () => {
    stack = await createStack();
    gateway = await startTestGateway({ stack, roles: ['api', 'worker', 'scheduler'] });
    await readyToTransfer(gateway, 40);
    http = gateway.httpUrl!;
    gw = gateway.nostr!.core.keys.active.pubkey;
    relay = gateway.nostr!.embeddedRelayUrl!;
  }, 90_000);
  afterAll(async () => {
    await gateway?.stop();
    await stack?.drop();
  });

  const keyOf = (home: string) => join(home, '.arkrelay', 'wallet.key');
  async function newWallet() {
    const home = walletHome();
    const run = await runWallet(['keygen', '--json'], home);
    expect(run.code).toBe(0);
    return { home, ...run.json<{ pubkey: string; npub: string; key_file: string }>() };
  }
  const gbtc = (state: Balances) => state.balances.find((b) => b.asset_id === 'gBTC')?.available;

  it('keygen writes an owner-only key file, refuses to overwrite it, and keys readable by others are refused', async () => {
    const home = walletHome();
    const first = await runWallet(['keygen', '--json'], home);
    expect(first.code).toBe(0);
    const made = first.json<{ key_file: string; npub: string }>();
    expect(made.key_file).toBe(keyOf(home));
    expect(statSync(made.key_file).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, '.arkrelay')).mode & 0o777).toBe(0o700);
    const stored = JSON.parse(readFileSync(made.key_file, 'utf8')) as { nsec: string };
    expect(WalletKey.from(stored.nsec).npub).toBe(made.npub);
    expect(first.stdout).not.toContain('nsec'); // the secret is never printed

    const again = await runWallet(['keygen'], home);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('refusing to overwrite');
    expect(JSON.parse(readFileSync(made.key_file, 'utf8'))).toEqual(stored);

    const forced = await runWallet(['keygen', '--force', '--json'], home);
    expect(forced.code).toBe(0);
    expect(forced.json<{ npub: string }>().npub).not.toBe(made.npub);
    expect(statSync(made.key_file).mode & 0o777).toBe(0o600);

    chmodSync(made.key_file, 0o644);
    const unsafe = await runWallet(['balance', '--http', http], home);
    expect(unsafe.code).toBe(2);
    expect(unsafe.stderr).toContain('chmod 600');
  }, 30_000);

  it('lifts with --pay, sends, splits and shows balances, with --json answers', async () => {
    const alice = await newWallet();
    const bob = await newWallet();
    const at = ['--http', http, '--json'];

    const info = await runWallet(['info', ...at], alice.home);
    expect(info.code).toBe(0);
    expect(info.json<{ gateway: { gateway_pubkey: string } }>().gateway.gateway_pubkey).toBe(gw);

    const lift = await runWallet(['lift', 'gBTC', '5000', '--pay', ...at], alice.home);
    expect(lift.code, lift.stderr).toBe(0);
    expect(lift.json()).toMatchObject({ asset_id: 'gBTC', amount: '5000', paid: true });
    expect(lift.json<{ bolt11: string }>().bolt11).toMatch(/^lnbcrt/);

    const send = await runWallet(['send', bob.npub, 'gBTC', '1200', ...at], alice.home);
    expect(send.code, send.stderr).toBe(0);
    expect(send.json()).toMatchObject({
      status: 'settled',
      type: 'transfer:p2p',
      fee: { asset_id: 'gBTC', amount: 10 },
    });
    // Progress went to stderr: the one challenge (Ark tx and checkpoint) verified and signed at once.
    expect(send.stderr).toMatch(
      /challenge 1\/1 sign_ark_tx .*the Ark tx and \d+ checkpoint\(s\), commitment .*: verified/,
    );
    expect(send.stderr).toMatch(/signed \d+ input\(s\) in one answer/);
    expect(send.stderr).not.toMatch(/1\/2|2\/2/);

    const bobState = (await runWallet(['balance', ...at], bob.home)).json<Balances>();
    expect(gbtc(bobState)).toBe('1200');
    const [vtxo] = bobState.vtxos;

    const split = await runWallet(['split', vtxo!.vtxo_id, '700', '490', ...at], bob.home);
    expect(split.code, split.stderr).toBe(0);
    const after = (await runWallet(['balance', ...at], bob.home)).json<Balances>();
    expect(after.vtxos.map((v) => v.amount).sort()).toEqual(['490', '700']);
    expect(gbtc((await runWallet(['balance', ...at], alice.home)).json<Balances>())).toBe('3790');
  }, 60_000);

  it('a failed send exits 1 and names the protocol code; a land pays an external invoice', async () => {
    const alice = await newWallet();
    await fund(gateway, alice.pubkey, 3_000n);
    const bob = await newWallet();

    const failed = await runWallet(
      ['send', bob.npub, 'gBTC', '999999', '--http', http, '--json'],
      alice.home,
    );
    expect(failed.code).toBe(1);
    expect(failed.json<{ error: { code: number; name: string } }>().error).toMatchObject({
      code: 2001,
      name: 'INSUFFICIENT_BALANCE',
    });
    expect(failed.stderr).toContain('2001 INSUFFICIENT_BALANCE');

    const invoice = (await (
      await fetch(`${http}/sim/lightning/external-invoice`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ amount_msat: '1000000' }),
      })
    ).json()) as { payment_request: string };
    const land = await runWallet(['land', invoice.payment_request, '--http', http, '--json'], alice.home);
    expect(land.code, land.stderr).toBe(0);
    // 1 000 sats landed, fee 0.1 % = 1 gBTC.
    expect(land.json()).toMatchObject({ status: 'settled', type: 'lightning:land', fee: { amount: 1 } });
    expect(gbtc((await runWallet(['balance', '--http', http, '--json'], alice.home)).json<Balances>())).toBe(
      '1999',
    );
  }, 60_000);

  it('watch answers the challenges of intents it signed and refuses one it did not', async () => {
    const carol = await newWallet();
    const bob = await newWallet();
    await fund(gateway, carol.pubkey, 2_000n);
    const key = WalletKey.from((JSON.parse(readFileSync(carol.key_file, 'utf8')) as { nsec: string }).nsec);
    const transfer = (amount: number) =>
      buildIntent(
        {
          type: 'transfer:p2p',
          params: { recipient: bob.pubkey, asset_id: 'gBTC', amount },
          fee: { asset_id: 'gBTC', amount: 10 },
        },
        gw,
        key,
      );
    const signed = transfer(100);
    const stranger = transfer(50); // same key, but never recorded as approved by this wallet
    appendFileSync(`${carol.key_file}.intents.jsonl`, `${JSON.stringify(signed.event)}\n`, { mode: 0o600 });

    const watch = spawnWallet(['watch', '--json', '--http', http], carol.home);
    const lines = () =>
      watch
        .stdout()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    await waitFor(() => lines().some((l) => l.event === 'ready'), 15_000, 'watch to be ready');
    const pool = new RelayPool([relay]);
    await pool.connect();
    try {
      await pool.publish(signed.event);
      const confirmation = await waitFor(
        () =>
          lines().find(
            (l) =>
              l.event === 'confirmation' && (l.action_ids as string[]).includes(signed.content.action_id),
          ),
        20_000,
        'the confirmation',
      );
      const mine = lines().filter((l) => l.action_id === signed.content.action_id || l.event === 'responded');
      // One challenge, one answer (v1.1): the Ark tx and its checkpoint(s) signed together.
      const challenges = mine.filter((l) => l.event === 'challenge');
      expect(challenges.map((l) => [l.step, l.step_total, l.verified])).toEqual([[1, 1, true]]);
      expect(challenges[0]!.commitment).toEqual({
        vout: expect.any(Number),
        hash: expect.stringMatching(/^[0-9a-f]{64}$/),
      });
      const responded = lines().filter((l) => l.event === 'responded');
      expect(responded.map((l) => l.step)).toEqual([1]);
      // Carol's one VTXO: its Ark-tx input and its checkpoint (inventory inputs are the gateway's).
      expect(responded[0]!.signatures).toBe(2);
      expect(confirmation.ark_txid).toMatch(/^[0-9a-f]{64}$/);
      expect((confirmation.commitment as { hash: string }).hash).toBe(
        (challenges[0]!.commitment as { hash: string }).hash,
      );

      await pool.publish(stranger.event);
      const refused = await waitFor(
        () => lines().find((l) => l.event === 'challenge' && l.action_id === stranger.content.action_id),
        20_000,
        'the stranger challenge',
      );
      expect(refused.verified).toBe(false);
      await new Promise((r) => setTimeout(r, 500));
      expect(lines().filter((l) => l.event === 'responded')).toHaveLength(1); // nothing signed for it
    } finally {
      pool.close();
      watch.kill('SIGTERM');
    }
    expect((await watch.done).code).toBe(0);
  }, 60_000);

  describe('against a gateway whose Lightning is a real lnd', () => {
    let fake: Server;
    let fakeUrl: string;
    beforeAll(async () => {
      // Answers like a gateway with a real lnd: its key and relay, and `mode: real` for lnd.
      fake = createServer((request, response) => {
        response.setHeader('content-type', 'application/json');
        if (request.url === '/nostr/status')
          response.end(JSON.stringify({ pubkey: gw, embedded_relay: relay, relays: [] }));
        else if (request.url === '/grpc/lnd') response.end(JSON.stringify({ mode: 'real' }));
        else response.writeHead(404).end('{}');
      });
      await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
      fakeUrl = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => fake.close(() => resolve())));

    it('refuses lift --pay before asking for an invoice', async () => {
      const dave = await newWallet();
      const run = await runWallet(['lift', 'gBTC', '1000', '--pay', '--http', fakeUrl], dave.home);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(
        "--pay works only when the gateway's Lightning node is simulated (it is real)",
      );
      const invoices = await gateway.database.db
        .selectFrom('lightning_invoices')
        .select('payment_hash')
        .where('user_pubkey', '=', dave.pubkey)
        .execute();
      expect(invoices).toEqual([]);
    }, 30_000);
  });
});
