// Samples the machine and the process: CPU (whole machine, from the kernel's per-core times),
// memory, the disk holding DATA_DIR, event loop lag. Cheap enough to call on every scrape.
import { statfs } from 'node:fs/promises';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { monitorEventLoopDelay, type ELDHistogram } from 'node:perf_hooks';

export interface SystemSample {
  readonly sampledAt: number;
  /** Busy share of all cores since the previous sample, 0–100. */
  readonly cpuPercent: number;
  readonly memoryPercent: number;
  readonly memoryRssBytes: number;
  /** Used share of the filesystem holding DATA_DIR, 0–100 (null when it cannot be read). */
  readonly diskPercent: number | null;
  readonly diskFreeBytes: number | null;
  /** p99 event loop delay since the previous sample. */
  readonly eventLoopLagMs: number;
  readonly loadAvg1m: number;
}

function cpuTimes() {
  let idle = 0;
  let total = 0;
  for (const cpu of cpus()) {
    const t = cpu.times;
    idle += t.idle;
    total += t.user + t.nice + t.sys + t.idle + t.irq;
  }
  return { idle, total };
}

const round = (value: number, places = 2) => Math.round(value * 10 ** places) / 10 ** places;

export class SystemSampler {
  readonly #path: string;
  readonly #delay: ELDHistogram;
  #previous = cpuTimes();
  #last: SystemSample | undefined;

  constructor(dataDir: string) {
    this.#path = dataDir;
    this.#delay = monitorEventLoopDelay({ resolution: 10 });
    this.#delay.enable();
  }

  /** The most recent sample, if any was taken. */
  get last(): SystemSample | undefined {
    return this.#last;
  }

  async sample(now = Date.now()): Promise<SystemSample> {
    const current = cpuTimes();
    const total = current.total - this.#previous.total;
    const idle = current.idle - this.#previous.idle;
    this.#previous = current;
    let diskPercent: number | null = null;
    let diskFreeBytes: number | null = null;
    try {
      const fs = await statfs(this.#path);
      const size = fs.blocks * fs.bsize;
      diskFreeBytes = fs.bavail * fs.bsize;
      diskPercent = size > 0 ? round(((size - diskFreeBytes) / size) * 100) : null;
    } catch {
      // DATA_DIR may not exist yet on a fresh start; report unknown rather than invent a value.
    }
    const lag = this.#delay.percentile(99) / 1e6;
    this.#delay.reset();
    this.#last = {
      sampledAt: now,
      cpuPercent: total > 0 ? round(((total - idle) / total) * 100) : 0,
      memoryPercent: round(((totalmem() - freemem()) / totalmem()) * 100),
      memoryRssBytes: process.memoryUsage.rss(),
      diskPercent,
      diskFreeBytes,
      eventLoopLagMs: round(Number.isFinite(lag) ? lag : 0),
      loadAvg1m: round(loadavg()[0] ?? 0),
    };
    return this.#last;
  }

  stop(): void {
    this.#delay.disable();
  }
}
