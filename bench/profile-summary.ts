// Summarises a V8 .cpuprofile (from `node --cpu-prof` or BENCH_PROFILE=<file> of a bench):
//   npx node bench/profile-summary.ts <file.cpuprofile> [top=25]
// Prints the functions with the most self time, and the most inclusive time grouped by source
// file, so a hot path can be named (file and function) without a GUI.
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const file = process.argv[2];
if (!file) {
  console.error('usage: npx node bench/profile-summary.ts <file.cpuprofile> [top]');
  process.exit(2);
}
const top = Number(process.argv[3] ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const selfMs = new Map<number, number>();
profile.samples.forEach((id, i) =>
  selfMs.set(id, (selfMs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000),
);
const totalMs = (profile.endTime - profile.startTime) / 1000;

const short = (url: string) => url.replace(/^file:\/\/.*?\/(node_modules|src|bench)\//, '$1/') || '(native)';
const label = (n: Node) =>
  `${n.callFrame.functionName || '(anonymous)'} ${short(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;

const self = new Map<string, number>();
for (const [id, t] of selfMs) {
  const key = label(byId.get(id)!);
  self.set(key, (self.get(key) ?? 0) + t);
}
// Inclusive per key: each sample counts once for every distinct key on its stack.
const inclusive = new Map<string, number>();
const inclusiveFile = new Map<string, number>();
for (const [id, t] of selfMs) {
  const keys = new Set<string>();
  const files = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const n = byId.get(cur)!;
    keys.add(label(n));
    files.add(short(n.callFrame.url).replace(/:\d+$/, ''));
  }
  for (const k of keys) inclusive.set(k, (inclusive.get(k) ?? 0) + t);
  for (const f of files) inclusiveFile.set(f, (inclusiveFile.get(f) ?? 0) + t);
}
const print = (title: string, map: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [k, t] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`${t.toFixed(0).padStart(8)} ms ${((100 * t) / totalMs).toFixed(1).padStart(5)} %  ${k}`);
};
console.log(`profile: ${totalMs.toFixed(0)} ms wall, ${profile.samples.length} samples`);
print('self time', self);
print('inclusive time by function', inclusive);
print('inclusive time by file', inclusiveFile);
