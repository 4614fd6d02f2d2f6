// The soak's verdicts from its samples: Redis memory against its target, each app's RSS growth,
// and whether files/s held up.
import type { Sample } from '../measure/sampler.js';
import { MiB, median } from '../util.js';

/** Redis may keep this much over its baseline, plus {@link REDIS_PER_FILE} per file still present. */
export const REDIS_SLACK = MiB;
export const REDIS_PER_FILE = 600;
/** No app's RSS may grow more than this between the first and the last quarter of the load. */
export const RSS_GROWTH_LIMIT = 0.1;
/** files/s "held up" when the last quarter's rate is at least this share of the first's. */
export const RATE_FLAT = 0.9;

export interface SoakFigures {
  /** Seconds from the first file to the last metadata.json (the load); the tail follows. */
  readonly loadSeconds: number;
  readonly redis: { baseline: number; end: number; present: number; target: number; pass: boolean; peak: number };
  readonly rss: { name: string; first: number; last: number; peak: number; growth: number; pass: boolean }[];
  readonly filesPerSecond: { overall: number; first: number; last: number; flat: boolean };
}

/** Samples of the load, split in quarters: the first and the last. */
function quarters(samples: readonly Sample[]): { first: Sample[]; last: Sample[] } {
  const q = Math.max(1, Math.floor(samples.length / 4));
  return { first: samples.slice(0, q), last: samples.slice(-q) };
}

/** Files completed per second between the first and the last sample of `part`. */
function rate(part: readonly Sample[]): number {
  const a = part[0];
  const b = part.at(-1);
  return a === undefined || b === undefined || b.t === a.t ? NaN : (b.completed - a.completed) / (b.t - a.t);
}

export function soakFigures(samples: readonly Sample[], at: { baseline: number; loadSeconds: number; present: number }): SoakFigures {
  const load = samples.filter((s) => s.t <= at.loadSeconds);
  const { first, last } = quarters(load);
  const endSample = samples.at(-1);
  const end = endSample?.redis ?? NaN;
  const target = at.baseline + REDIS_SLACK + REDIS_PER_FILE * at.present;
  const names = Object.keys(samples[0]?.rss ?? {});
  const rss = names.map((name) => {
    const f = median(first.map((s) => s.rss[name] ?? NaN));
    const l = median(last.map((s) => s.rss[name] ?? NaN));
    const growth = l / f - 1;
    return { name, first: f, last: l, peak: Math.max(...samples.map((s) => s.rss[name] ?? 0)), growth, pass: growth <= RSS_GROWTH_LIMIT };
  });
  const r1 = rate(first);
  const r4 = rate(last);
  return {
    loadSeconds: at.loadSeconds,
    redis: { baseline: at.baseline, end, present: at.present, target, pass: end <= target, peak: Math.max(...samples.map((s) => s.redis)) },
    rss,
    filesPerSecond: { overall: (load.at(-1)?.completed ?? 0) / at.loadSeconds, first: r1, last: r4, flat: r4 >= RATE_FLAT * r1 },
  };
}
