// A clock that jumps. Every component of the gateway reads Date.now (or keeps a reference to it
// when it is built): installed before a gateway starts, this lets a test move past a deadline
// instead of sleeping through it. Real time still runs underneath, so timers, polls and the
// sweeps keep running; only what the clock says moves ahead.
import { vi } from 'vitest';

const realNow = Date.now.bind(Date);
let skewMs = 0;

/** Installs the jumping clock; returns what restores the real one (the skew is reset). */
export function installClock(): () => void {
  const spy = vi.spyOn(Date, 'now').mockImplementation(() => realNow() + skewMs);
  return () => {
    spy.mockRestore();
    skewMs = 0;
  };
}

/** Moves the clock `ms` ahead, at once. */
export function advanceClock(ms: number): void {
  skewMs += ms;
}

export const now = (): number => Date.now();
