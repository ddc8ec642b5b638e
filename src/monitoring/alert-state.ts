// The state of one alert rule and its transitions, ok → pending → firing → ok. Pure: the engine
// keeps these in memory and records them in the database when it can.
import type { AlertState } from '../store/schema.ts';

export interface RuleView {
  readonly enabled: boolean;
  readonly state: AlertState;
  readonly pendingSince: number | null;
  readonly firedAt: number | null;
  readonly resolvedAt: number | null;
  readonly lastValue: number | null;
}

export const INITIAL_VIEW: RuleView = {
  enabled: true,
  state: 'ok',
  pendingSince: null,
  firedAt: null,
  resolvedAt: null,
  lastValue: null,
};

export interface Step {
  readonly next: RuleView;
  /** The transition worth recording (a history row, a log line, a notification). */
  readonly event?: 'firing' | 'resolved';
}

/** Where a rule goes from `view` given one measurement. */
export function step(view: RuleView, forMs: number, value: number, breached: boolean, now: number): Step {
  const at = { ...view, lastValue: value };
  if (breached && view.state === 'ok') {
    if (forMs > 0) return { next: { ...at, state: 'pending', pendingSince: now } };
    return { next: { ...at, state: 'firing', pendingSince: now, firedAt: now }, event: 'firing' };
  }
  if (breached && view.state === 'pending') {
    if (view.pendingSince !== null && now - view.pendingSince >= forMs) {
      return { next: { ...at, state: 'firing', firedAt: now }, event: 'firing' };
    }
    return { next: at };
  }
  if (!breached && view.state === 'pending') return { next: { ...at, state: 'ok', pendingSince: null } };
  if (!breached && view.state === 'firing') {
    return { next: { ...at, state: 'ok', pendingSince: null, resolvedAt: now }, event: 'resolved' };
  }
  return { next: at };
}
