// `balance`: `sync_state` — balances per asset, the wallet's VTXOs and its open sessions.
import type { Output } from '../output.ts';
import { openSession, sync, type GlobalOptions } from '../session.ts';

interface SyncAnswer {
  readonly vtxos: { vtxo_id: string; asset_id: string; amount: string; status: string }[];
  readonly balances: { asset_id: string; available: string; pending: string }[];
  readonly sessions: { session_id: string; action_id: string; state: string }[];
}

export async function balance(options: GlobalOptions, out: Output): Promise<void> {
  const session = await openSession(options, out);
  try {
    const state = (await sync(session)) as unknown as SyncAnswer;
    const lines = [`wallet ${session.key.npub}`];
    if (state.balances.length === 0) lines.push('no funds');
    for (const b of state.balances) {
      lines.push(
        `${b.asset_id.padEnd(8)} ${b.available}${b.pending !== '0' ? ` (+${b.pending} locked by an open session)` : ''}`,
      );
    }
    if (state.vtxos.length > 0) lines.push('vtxos:');
    for (const v of state.vtxos)
      lines.push(
        `  ${v.vtxo_id}  ${v.amount} ${v.asset_id}${v.status !== 'assigned' ? `  [${v.status}]` : ''}`,
      );
    for (const s of state.sessions) lines.push(`open session ${s.session_id} (${s.action_id}): ${s.state}`);
    out.result(lines, state);
  } finally {
    session.close();
  }
}
