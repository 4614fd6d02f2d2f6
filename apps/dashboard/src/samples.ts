/**
 * Throughput, measured honestly across any number of workers: the dashboard reads every stream's
 * committed bytes every few seconds (one sample), and the bytes committed between two samples,
 * summed over the streams, divided by the time between them, is the throughput. Committed bytes
 * live in Redis, so what every worker replica uploads is counted once, whichever did it.
 *
 * What it counts: growth of each file's committed prefix (bytes uploaded and recorded without a
 * gap from the start of the file). A stream that is new since the last sample counts whole (a
 * small file can come and go between two samples); a sample reads only the streams that can
 * change (unfinished, new, just finished), so its cost follows what is live; bytes uploaded again (a chunk the file changed
 * after its upload) are not counted twice; a stream that disappears (forgotten) or shrinks counts 0.
 */

/** One stream as a sample saw it. */
export interface Seen {
  readonly committedBytes: number;
  /** Chunks committed without a gap from the start. */
  readonly committedChunks: number;
  readonly createdAt: number;
  readonly status: string;
}

export interface Sample {
  /** When the read started (ms). */
  readonly at: number;
  readonly streams: ReadonlyMap<string, Seen>;
  /**
   * The read took every stream created after this (ms) and every unfinished one: those that can
   * change. A finished stream created before it is left out (it commits nothing more).
   */
  readonly since: number;
  /** The read was not cut at its limit: a stream created after `since` that it missed is newer than it. */
  readonly whole: boolean;
}

/**
 * What `before` knew of stream `id`'s committed bytes; 0 for a stream newer than it; undefined
 * when it cannot tell (a finished stream `before` left out that was reopened by an append since).
 */
function baseline(before: Sample, id: string, createdAt: number): number | undefined {
  const seen = before.streams.get(id);
  if (seen !== undefined) return seen.committedBytes;
  return (before.whole && createdAt > before.since) || createdAt > before.at ? 0 : undefined;
}

/** Bytes committed between two samples, over every stream `after` saw. */
export function committedBetween(before: Sample, after: Sample): number {
  let total = 0;
  for (const [id, seen] of after.streams) {
    const base = baseline(before, id, seen.createdAt);
    if (base !== undefined) total += Math.max(0, seen.committedBytes - base);
  }
  return total;
}

export interface Point {
  /** The sample before (ms). */
  readonly from: number;
  readonly at: number;
  readonly bytesPerSecond: number;
}

/**
 * The samples of the last `rateWindowMs` (for each stream's rate) and the throughput points of
 * the last `keepMs` (the chart). Memory: a few samples of every stream, and one number per sample.
 */
export class SampleRing {
  private readonly samples: Sample[] = [];
  private readonly kept: Point[] = [];

  constructor(
    readonly keepMs: number,
    readonly rateWindowMs: number,
  ) {}

  add(sample: Sample): void {
    const previous = this.samples.at(-1);
    if (previous !== undefined && sample.at > previous.at) {
      this.kept.push({ from: previous.at, at: sample.at, bytesPerSecond: (1000 * committedBetween(previous, sample)) / (sample.at - previous.at) });
    }
    this.samples.push(sample);
    // keep the newest sample at least rateWindowMs old, as the base of every rate
    while (this.samples.length > 2 && (this.samples[1]?.at ?? 0) <= sample.at - this.rateWindowMs) this.samples.shift();
    while ((this.kept[0]?.at ?? Infinity) < sample.at - this.keepMs) this.kept.shift();
  }

  get latest(): Sample | undefined {
    return this.samples.at(-1);
  }

  /** Oldest first. */
  get points(): readonly Point[] {
    return this.kept;
  }

  /** Stream `id`'s committed bytes per second from the oldest kept sample to the latest; null when unknown. */
  rateOf(id: string): number | null {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    const now = last?.streams.get(id);
    if (first === undefined || last === undefined || first === last || now === undefined) return null;
    const base = baseline(first, id, now.createdAt);
    if (base === undefined) return null;
    // a stream newer than the first sample is timed from its start (by the watcher's clock), but
    // over one sample interval at least: clocks of two machines may differ by a little
    const before = this.samples.at(-2)?.at ?? first.at;
    const since = first.streams.has(id) ? first.at : Math.max(first.at, Math.min(now.createdAt, before));
    return (1000 * Math.max(0, now.committedBytes - base)) / (last.at - since);
  }
}
