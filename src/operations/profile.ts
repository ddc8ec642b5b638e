// A bounded CPU profile of this process for /admin/performance/profile: the V8 sampling
// profiler for a few seconds, summarised as the functions that used the most CPU.
import { Session } from 'node:inspector/promises';

export interface ProfileSummary {
  readonly seconds: number;
  readonly samples: number;
  readonly top: readonly { function: string; location: string; self_ms: number; share: number }[];
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

let running = false;

export class ProfileBusyError extends Error {
  constructor() {
    super('a profile is already running; try again when it ends');
    this.name = 'ProfileBusyError';
  }
}

export async function profileCpu(seconds: number, top = 20): Promise<ProfileSummary> {
  if (running) throw new ProfileBusyError();
  running = true;
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const { profile } = (await session.post('Profiler.stop')) as {
      profile: { nodes: ProfileNode[]; samples: number[]; startTime: number; endTime: number };
    };
    const totalMs = (profile.endTime - profile.startTime) / 1000;
    const perSampleMs = profile.samples.length > 0 ? totalMs / profile.samples.length : 0;
    const byFunction = new Map<string, { fn: string; location: string; hits: number }>();
    for (const node of profile.nodes) {
      const hits = node.hitCount ?? 0;
      if (hits === 0) continue;
      const fn = node.callFrame.functionName || '(anonymous)';
      const location = node.callFrame.url
        ? `${node.callFrame.url.replace(/^file:\/\//, '')}:${node.callFrame.lineNumber + 1}`
        : '(native)';
      const key = `${fn}@${location}`;
      const entry = byFunction.get(key) ?? { fn, location, hits: 0 };
      entry.hits += hits;
      byFunction.set(key, entry);
    }
    const total = profile.samples.length || 1;
    return {
      seconds,
      samples: profile.samples.length,
      top: [...byFunction.values()]
        .sort((a, b) => b.hits - a.hits)
        .slice(0, top)
        .map((e) => ({
          function: e.fn,
          location: e.location,
          self_ms: Math.round(e.hits * perSampleMs),
          share: Math.round((e.hits / total) * 10_000) / 100,
        })),
    };
  } finally {
    await session.post('Profiler.disable').catch(() => undefined);
    session.disconnect();
    running = false;
  }
}
