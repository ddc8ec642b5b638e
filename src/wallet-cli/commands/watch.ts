// `watch`: stays connected and shows everything the gateway sends this wallet — each challenge
// with the wallet's verdict and the allocation commitment it checked, each answer it signed,
// confirmations, failures and notifications.
// Challenges for intents this wallet signed (the CLI's journal, e.g. a swap leg handed to a
// solver) are verified and answered; anything else is refused. Ends on Ctrl-C / SIGTERM.
import type { Output } from '../output.ts';
import { describeCode } from '../errors.ts';
import { openSession, sync, type GlobalOptions } from '../session.ts';

const short = (id: string) => `${id.slice(0, 8)}…`;

export async function watch(options: GlobalOptions, out: Output, signal: AbortSignal): Promise<void> {
  const session = await openSession(options, out, 'watch');
  const { wallet } = session;
  const at = () => new Date().toISOString().slice(11, 19);
  wallet.on('challenge', ({ challenge, verdict, event }) => {
    const { vout, hash } = challenge.context.commitment;
    out.item(
      `${at()} challenge ${challenge.step}/${challenge.step_total} ${challenge.type} for ${challenge.context.action_id} (commitment ${short(hash)} at vout ${vout}): ${verdict.ok ? 'verified' : `refused (${verdict.reason})`}`,
      {
        event: 'challenge',
        id: event.id,
        session_id: challenge.session_id,
        step: challenge.step,
        step_total: challenge.step_total,
        type: challenge.type,
        action_id: challenge.context.action_id,
        checkpoints: challenge.psbts.length - 1,
        commitment: { vout, hash },
        verified: verdict.ok,
        ...(verdict.ok ? {} : { reason: verdict.reason }),
      },
    );
  });
  wallet.on('responded', ({ challenge, event, response }) =>
    out.item(
      `${at()} signed session ${short(challenge.session_id)}: ${response.signatures.length} signature(s), the Ark tx and its checkpoints`,
      {
        event: 'responded',
        id: event.id,
        session_id: challenge.session_id,
        step: challenge.step,
        signatures: response.signatures.length,
      },
    ),
  );
  wallet.on('confirmation', ({ confirmation, event }) => {
    const mine = confirmation.created.filter((c) => c.owner === wallet.pubkey);
    const spent = confirmation.spent.filter((c) => c.owner === wallet.pubkey);
    out.item(
      `${at()} confirmed Ark tx ${short(confirmation.ark_txid)}: +${mine.map((c) => `${c.amount} ${c.asset_id}`).join(', ') || 'nothing'} / -${spent.map((c) => `${c.amount} ${c.asset_id}`).join(', ') || 'nothing'}${confirmation.commitment ? ` (commitment ${short(confirmation.commitment.hash)})` : ''}`,
      { event: 'confirmation', id: event.id, ...confirmation },
    );
  });
  wallet.on('failure', ({ notice, event }) =>
    out.item(`${at()} failed ${notice.action_id ?? ''}: ${describeCode(notice.code, notice.message)}`, {
      event: 'failure',
      id: event.id,
      ...notice,
    }),
  );
  wallet.on('notification', ({ body, event }) =>
    out.item(`${at()} notification ${String(body.type ?? '')}`, {
      event: 'notification',
      id: event.id,
      ...body,
    }),
  );
  wallet.on('error', (error) => out.progress(`error: ${error.message}`));
  try {
    const state = (await sync(session)) as { vtxos: unknown[] };
    out.progress(`watching as ${session.key.npub} (${state.vtxos.length} VTXO(s)); Ctrl-C to stop`);
    out.item(`${at()} ready`, { event: 'ready', pubkey: wallet.pubkey, vtxos: state.vtxos.length });
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      signal.addEventListener('abort', () => resolve(), { once: true });
    });
  } finally {
    session.close();
  }
}
