// The registry of 31500 service actions. Each action is a handlers/<action>.ts module
// (action.ts defines the contract), listed below.
import type { Database } from '../../store/database.ts';
import type { KeyRing } from '../keys.ts';
import type { AnyAction } from './action.ts';
import { infoAction, type InfoDeps } from './info.ts';
import { syncStateAction } from './sync-state.ts';

export type { ServiceAction, ServiceContext, AnyAction } from './action.ts';
export { defineAction } from './action.ts';

export interface ServiceActionDeps {
  readonly database: Database;
  readonly keys: KeyRing;
  readonly allowNip04: boolean;
  readonly limits: Record<string, number>;
  /** The fee schedule `info` shows (config.intents.fees). */
  readonly fees?: InfoDeps['fees'];
  /** The gateway VTXO key `info` shows. */
  readonly vtxoPubkey?: InfoDeps['vtxoPubkey'];
}

export function serviceActions(
  deps: ServiceActionDeps,
  extra: readonly AnyAction[] = [],
): ReadonlyMap<string, AnyAction> {
  const registry = new Map<string, AnyAction>();
  const actions: AnyAction[] = [
    infoAction({ ...deps, actions: () => [...registry.keys()] }),
    syncStateAction(deps),
    ...extra,
  ];
  for (const action of actions) {
    if (registry.has(action.name)) throw new Error(`service action ${action.name} is defined twice`);
    registry.set(action.name, action);
  }
  return registry;
}
