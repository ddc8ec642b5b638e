// Printing and saving bench results: an aligned table on stdout and one JSON file per bench in
// bench/results/<name>.json (gitignored), with the machine it ran on.
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'results');

export type Cell = string | number | undefined;

export function table(title: string, header: readonly string[], rows: readonly (readonly Cell[])[]): void {
  const text = rows.map((row) => row.map((c) => (c === undefined ? '' : String(c))));
  const widths = header.map((h, i) => Math.max(h.length, ...text.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(`\n${title}`);
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of text) console.log(line(row));
}

/** The machine, for the JSON: the cores are shared with other work, so say how busy they were. */
export function machine(): Record<string, unknown> {
  return {
    node: process.version,
    cpus: availableParallelism(),
    cpu_model: cpus()[0]?.model,
    memory_mb: Math.round(totalmem() / 2 ** 20),
    loadavg_1m_at_end: Number(loadavg()[0]!.toFixed(2)),
    note: 'cores shared with other processes; figures are not from an idle machine',
  };
}

export function writeResult(name: string, data: Record<string, unknown>): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${name}.json`);
  const body = { bench: name, at: new Date().toISOString(), machine: machine(), ...data };
  writeFileSync(
    file,
    `${JSON.stringify(body, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`,
  );
  console.log(`\nwrote ${file}`);
  return file;
}

export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export const ms = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

export interface Target {
  readonly name: string;
  readonly target: string;
  readonly measured: string;
  readonly pass: boolean;
}

export function verdict(pass: boolean): 'PASS' | 'MISS' {
  return pass ? 'PASS' : 'MISS';
}

export function printTargets(targets: readonly Target[]): void {
  table(
    'Targets',
    ['figure', 'target', 'measured', 'verdict'],
    targets.map((t) => [t.name, t.target, t.measured, verdict(t.pass)]),
  );
}
