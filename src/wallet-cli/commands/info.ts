// `info`: the gateway's `info` answer (key, version, fees, assets, limits) and this wallet's key.
import type { GatewayInfo } from '../../domain/nostr-protocol.ts';
import type { Output } from '../output.ts';
import { openSession, request, type GlobalOptions } from '../session.ts';

export async function info(options: GlobalOptions, out: Output): Promise<void> {
  const session = await openSession(options, out);
  try {
    const answer = await request<GatewayInfo>(session, 'info');
    const assets = answer.assets.map(
      (a) => `${String(a.asset_id)} (${String(a.name)}, ${String(a.decimals)} decimals)`,
    );
    out.result(
      [
        `wallet   ${session.key.npub}`,
        `gateway  ${answer.npub} (ArkRelay ${answer.version}, protocol v${answer.protocol_version})`,
        `relays   ${session.target.relays.join(', ')}`,
        `assets   ${assets.join('; ') || 'none'}`,
        `actions  ${answer.actions.join(', ')}`,
        `fees     ${JSON.stringify(answer.fees)}`,
      ],
      {
        wallet: { pubkey: session.key.pubkey, npub: session.key.npub },
        relays: session.target.relays,
        gateway: answer,
      },
    );
  } finally {
    session.close();
  }
}
