// Once a second during the soak: Redis used_memory, each app's RSS, and how many files were
// written, uploaded and present.
import type { Redis } from 'ioredis';
import type { AppProcess } from '@vcu/testkit';
import { procStats } from '../proc.js';
import { redisUsedMemory } from '../redis.js';
import { log } from '../util.js';

export interface Sample {
  /** Seconds since the first file. */
  readonly t: number;
  /** Redis INFO memory used_memory, bytes. */
  readonly redis: number;
  /** VmRSS by app ("watcher", "worker"), bytes. */
  readonly rss: Readonly<Record<string, number>>;
  readonly written: number;
  readonly completed: number;
  readonly present: number;
}

export interface Counts {
  readonly written: number;
  readonly completed: number;
  readonly present: number;
}

export class Sampler {
  readonly samples: Sample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  constructor(
    private readonly redis: Redis,
    private readonly apps: readonly AppProcess[],
    private readonly ticks: number,
    private readonly counts: () => Counts,
  ) {}

  start(t0: number, everyMs = 1000): void {
    this.timer = setInterval(() => void this.sample(t0), everyMs);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One sample; skipped when the previous one has not answered yet (Redis slow), logged when it fails. */
  async sample(t0: number): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const redis = await redisUsedMemory(this.redis);
      const rss: Record<string, number> = {};
      for (const a of this.apps) rss[a.name] = procStats(a.pid ?? -1, this.ticks, false)?.rss ?? NaN;
      this.samples.push({ t: (Date.now() - t0) / 1000, redis, rss, ...this.counts() });
    } catch (err) {
      log(`soak: a sample failed: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      this.busy = false;
    }
  }
}
