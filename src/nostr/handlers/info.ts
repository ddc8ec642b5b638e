// `info {}`: who this gateway is and what it accepts — pubkey, version, protocol version,
// encryption schemes, kinds, actions, fees, assets and limits. No effects.
import {
  PROTOCOL_VERSION,
  INTAKE_KINDS,
  KIND,
  expectNoParams,
  type GatewayInfo,
} from '../../domain/nostr-protocol.ts';
import { listAssets } from '../../ledger/assets.ts';
import { readSetting } from '../../ledger/settings.ts';
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
  /** FEE_ASSET / FEE_INTENT_AMOUNT / FEE_LAND_PPM (config.intents.fees); the defaults without it. */
  readonly fees?: { readonly intentAsset: string; readonly intentAmount: number; readonly landPpm: number };
  /** The gateway VTXO key (owns inventory, fees and land outputs); read from the ledger without it. */
  readonly vtxoPubkey?: () => Promise<string | undefined>;
}

const DEFAULT_FEES = { intentAsset: 'gBTC', intentAmount: 10, landPpm: 1000 };

/** The fee schedule as `info` shows it (docs/protocol.md, "Fees"). */
export function feesJson(fees: NonNullable<InfoDeps['fees']> = DEFAULT_FEES): Record<string, unknown> {
  return {
    intent: {
      asset_id: fees.intentAsset,
      amount: String(fees.intentAmount),
      description: `every intent but a Lightning land pays exactly this, in ${fees.intentAsset}`,
    },
    lift_lightning: { rate_ppm: 0, min: 0, description: 'lifts are free' },
    'lightning:land': {
      rate_ppm: fees.landPpm,
      min: 1,
      description: `${fees.landPpm / 10_000} % of the landed amount in that asset, rounded up, at least 1`,
    },
  };
}

/** The inventory key's pubkey as the ledger stored it (settings row ledger.inventory_key). */
async function storedVtxoPubkey(database: Database): Promise<string | undefined> {
  const pubkey = (await readSetting<{ pubkey?: unknown }>(database, 'ledger.inventory_key'))?.pubkey;
  return typeof pubkey === 'string' ? pubkey : undefined;
}

async function enabledAssets(database: Database): Promise<Record<string, unknown>[]> {
  return (await listAssets(database, { enabledOnly: true })).map((a) => ({
    asset_id: a.assetId,
    name: a.name,
    ticker: a.ticker,
    decimals: a.decimals,
    type: a.assetType,
    // Amounts travel as decimal strings: never a float, never past 2^53.
    min_amount: String(a.minAmount),
    max_amount: a.maxAmount === null ? null : String(a.maxAmount),
  }));
}

export function infoAction(deps: InfoDeps): ServiceAction<Record<string, never>> {
  return defineAction({
    name: 'info',
    parse: expectNoParams,
    handle: async (): Promise<GatewayInfo & { readonly vtxo_pubkey: string | null }> => {
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
        fees: feesJson(deps.fees),
        assets: await enabledAssets(deps.database),
        limits: deps.limits,
        vtxo_pubkey: (await (deps.vtxoPubkey ?? (() => storedVtxoPubkey(deps.database)))()) ?? null,
      };
    },
  });
}
