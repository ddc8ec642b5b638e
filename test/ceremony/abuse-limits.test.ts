// Per-author abuse limits (docs/protocol.md, "Abuse limits"): a cap on open sessions, exact even
// when one author's intents arrive at once; a cap on sessions abandoned (3002/3003) in the last
// hour; a cap on the gateway inventory VTXOs one author's sessions lock. Past a limit the answer
// is 1008 with details.retry_after, nothing is locked, and other authors are not affected.
import { describe, expect, it } from 'vitest';
import { WalletKey, type ArkRelayWallet, type FailureNotice } from '../../src/wallet/index.ts';
import { waitFor } from '../support/wait.ts';
import { ceremonyRig, type CeremonyRig, type WalletOptions } from './rig.ts';

function suite(name: string, env: Record<string, string>, body: (rig: CeremonyRig) => void) {
  describe(name, () => body(ceremonyRig({ env, inventory: 40 })));
}

/** A wallet holding `vtxos` VTXOs of 1 000 gBTC. */
const funded = (rig: CeremonyRig, vtxos: number, options: WalletOptions = {}) =>
  rig.funded(
    Array.from({ length: vtxos }, () => 1_000n),
    options,
  );

const transfer = (w: ArkRelayWallet) =>
  w.transferIntent({ recipient: WalletKey.generate().pubkey, assetId: 'gBTC', amount: 100n });

/** The 31341 notices a wallet receives, collected from now on. */
function notices(w: ArkRelayWallet): FailureNotice[] {
  const seen: FailureNotice[] = [];
  w.on('failure', (f) => seen.push(f.notice));
  return seen;
}

// Sessions that must stay open while the test looks get a long step deadline (a loaded machine
// must not expire them midway).
suite(
  'open sessions per author',
  { SESSION_MAX_OPEN_PER_AUTHOR: '2', SESSION_MAX_INVENTORY_PER_AUTHOR: '50', SESSION_STEP_TIMEOUT_S: '60' },
  (rig) => {
    it('accepts exactly the limit when one author publishes many intents at once; the rest get 1008', async () => {
      const w = await funded(rig, 6, { autoSign: false });
      const refused = notices(w);
      const intents = Array.from({ length: 6 }, () => transfer(w));
      await Promise.all(intents.map((i) => w.publishIntent(i)));
      await waitFor(
        () => (refused.length === 4 && w.challenges.length === 2 ? true : undefined),
        20_000,
        'four 1008',
      );
      expect(refused.map((n) => n.code)).toEqual([1008, 1008, 1008, 1008]);
      for (const n of refused) expect(n.details).toMatchObject({ retry_after: 60 });
      // Nothing locked for the refused ones: two sessions, two VTXOs.
      expect((await rig.store.balances(w.pubkey))[0]).toMatchObject({ pendingCount: 2, availableCount: 4 });
      // Another author is not affected.
      const other = await funded(rig, 1);
      const intent = transfer(other);
      await other.publishIntent(intent);
      expect((await other.outcome(intent.content.action_id, 30_000)).status).toBe('settled');
      // Once a session ends, the author may open another.
      await w.cancel(w.challenges[0]!.challenge.context.action_id);
      const next = transfer(w);
      await w.publishIntent(next);
      await waitFor(() => (w.challenges.length === 3 ? true : undefined), 10_000, 'the next challenge');
      for (const c of w.challenges.slice(1))
        await w.cancel(c.challenge.context.action_id).catch(() => undefined);
    }, 90_000);
  },
);

suite('abandoned sessions per author and hour', { SESSION_MAX_ABANDONED_PER_HOUR: '2' }, (rig) => {
  it('holds off an author whose sessions went unanswered, for what is left of the hour', async () => {
    const w = await funded(rig, 3, { onChallenge: () => ({ skip: true }) });
    const refused = notices(w);
    for (let i = 0; i < 2; i++) {
      const intent = transfer(w);
      await w.publishIntent(intent);
      expect(await w.outcome(intent.content.action_id, 30_000)).toMatchObject({
        status: 'failed',
        code: 3003,
      });
    }
    const third = transfer(w);
    await w.publishIntent(third);
    expect(await w.outcome(third.content.action_id, 20_000)).toMatchObject({ status: 'failed', code: 1008 });
    const notice = refused.find((n) => n.action_id === third.content.action_id)!;
    const retryAfter = (notice.details as { retry_after: number }).retry_after;
    expect(retryAfter).toBeGreaterThan(3_500);
    expect(retryAfter).toBeLessThanOrEqual(3_600);
    expect((await rig.store.balances(w.pubkey))[0]).toMatchObject({ pending: 0n, available: 3_000n });
  }, 90_000);
});

suite(
  'inventory locked per author',
  { SESSION_MAX_INVENTORY_PER_AUTHOR: '1', SESSION_STEP_TIMEOUT_S: '60' },
  (rig) => {
    it('refuses a session that would lock more gateway inventory than the author may hold', async () => {
      // A dust VTXO cannot pay three outputs: every transfer here tops its sats up from inventory.
      const w = await funded(rig, 2, { autoSign: false });
      const first = transfer(w);
      await w.publishIntent(first);
      await waitFor(() => (w.challenges.length === 1 ? true : undefined), 10_000, 'the first challenge');
      const second = transfer(w);
      await w.publishIntent(second);
      expect(await w.outcome(second.content.action_id, 20_000)).toMatchObject({
        status: 'failed',
        code: 1008,
      });
      // Its own VTXO is not locked by the refused session.
      expect((await rig.store.balances(w.pubkey))[0]).toMatchObject({ pendingCount: 1 });
      await w.cancel(first.content.action_id);
    }, 60_000);
  },
);
