// `info {}`: who this gateway is and what it accepts — pubkey, version, protocol version,
// encryption schemes, kinds, actions, fees, assets and limits. No effects.
import {
  PROTOCOL_VERSION,
  INTAKE_KINDS,
  KIND,
  expectNoParams,
  type GatewayInfo,
} from '../../domain/nostr-protocol.ts';
import type { Database } from '../../store/database.ts';
import { VERSION } from '../../version.ts';
import { npubOf, type KeyRing } from '../keys.ts';
import { defineAction, type ServiceAction } from './action.ts';

export interface InfoDeps {
  readonly database: Database;
  readonly keys: KeyRing;
  readonly allowNip04: boolean;
  readonly limits: Record<string, number>;
  /** Names of every registered action (filled in by the registry). */
  readonly actions: () => readonly string[];
}

// The fee schedule of the brief; the fee issue will own it (and `info` will read it from there).
const FEES = {
  lift_lightning: { rate_ppm: 0, min: 0, description: 'lifts are free' },
  'lightning:land': {
    rate_ppm: 1000,
    min: 1,
    description: '0.1 % of the landed amount in that asset, rounded up, at least 1',
  },
} as const;

// Until the ledger's asset service exists, the registry is read here (read-only).
async function enabledAssets(database: Database): Promise<Record<string, unknown>[]> {
  const rows = await database.db
    .selectFrom('assets')
    .select(['asset_id', 'name', 'ticker', 'decimals', 'asset_type', 'min_amount', 'max_amount'])
    .where('enabled', '=', 1)
    .orderBy('asset_id')
    .execute();
  return rows.map((r) => ({
    asset_id: r.asset_id,
    name: r.name,
    ticker: r.ticker,
    decimals: r.decimals,
    type: r.asset_type,
    // Amounts travel as decimal strings: never a float, never past 2^53.
    min_amount: String(r.min_amount),
    max_amount: r.max_amount === null ? null : String(r.max_amount),
  }));
}

export function infoAction(deps: InfoDeps): ServiceAction<Record<string, never>> {
  return defineAction({
    name: 'info',
    parse: expectNoParams,
    handle: async (): Promise<GatewayInfo> => {
      const active = deps.keys.active;
      return {
        gateway_pubkey: active.pubkey,
        npub: npubOf(active.pubkey),
        previous_pubkeys: deps.keys.keys.filter((k) => k.status === 'previous').map((k) => k.pubkey),
        version: VERSION,
        protocol_version: PROTOCOL_VERSION,
        encryption: deps.allowNip04 ? ['nip44', 'nip04'] : ['nip44'],
        kinds: {
          accepts: [...INTAKE_KINDS],
          publishes: [
            KIND.SERVICE_RESPONSE,
            KIND.NOTIFICATION,
            KIND.SIGNING_CHALLENGE,
            KIND.CONFIRMATION,
            KIND.FAILURE_NOTICE,
            KIND.L1_COMMITMENT,
          ],
        },
        actions: [...deps.actions()],
        fees: FEES,
        assets: await enabledAssets(deps.database),
        limits: deps.limits,
      };
    },
  });
}
