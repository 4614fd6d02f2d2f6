import { redactText } from '@vcu/config';
import { type Logger, describeError, logEvent, onceIn } from '@vcu/logger';
import type { Queues } from '@vcu/queue';
import type { StreamStore } from '@vcu/state';
import { type FailedChunk, stateOf } from './rows.js';
import { type Sample, SampleRing, type Seen } from './samples.js';
import { liveStreams, streamCounts } from './streams-data.js';
import { STREAM_STATES, type StreamState, type Summary } from './web/api.js';

/** Sample every 5 s, chart the last 15 minutes, and average each stream's rate over 30 s. */
export const SAMPLING = { everyMs: 5000, keepMs: 15 * 60_000, rateWindowMs: 30_000 } as const;

/**
 * The newest failed chunk jobs looked at. The failed set also keeps the jobs of aborted streams
 * (files deleted mid-upload) for days; a stuck stream hides behind more than this many only in
 * a disaster.
 */
const FAILED_JOBS_READ = 5000;

/**
 * A sample reads the streams created since the one before, less this much (ms): the watcher
 * stamps creation with its own clock, which may be a little behind the dashboard's.
 */
const CLOCK_SLACK_MS = 60_000;

/** The streams kept, unfinished and aborted, as the last sample counted them. */
type Counts = Awaited<ReturnType<typeof streamCounts>>;

export interface SamplerDeps {
  readonly store: StreamStore;
  readonly chunks: Queues['chunks'];
  readonly logger: Logger;
  readonly everyMs?: number;
  readonly keepMs?: number;
  readonly rateWindowMs?: number;
  readonly now?: () => number;
}

/** The failed chunk jobs of each stream, from the newest {@link FAILED_JOBS_READ} of the failed set. */
async function failedChunks(queue: Queues['chunks']): Promise<Map<string, FailedChunk[]>> {
  const byStream = new Map<string, FailedChunk[]>();
  for (const job of await queue.getFailed(0, FAILED_JOBS_READ - 1)) {
    // a job removed meanwhile is undefined; one added by hand may hold anything
    const data = job?.data as unknown as Partial<Record<string, unknown>> | undefined;
    const { streamId, index, size } = data ?? {};
    if (typeof streamId !== 'string' || typeof index !== 'number' || typeof size !== 'number') continue;
    const list = byStream.get(streamId) ?? [];
    list.push({ index, size });
    byStream.set(streamId, list);
  }
  return byStream;
}

/**
 * The failed chunk jobs by stream, read again only when the failed set changed (its size or its
 * newest job): it changes rarely, and reading thousands of jobs every few seconds would not do.
 */
class FailedJobs {
  private seen = '';
  private byStream: ReadonlyMap<string, readonly FailedChunk[]> = new Map<string, FailedChunk[]>();

  async read(queue: Queues['chunks']): Promise<ReadonlyMap<string, readonly FailedChunk[]>> {
    const [count, newest] = await Promise.all([queue.getFailedCount(), queue.getRanges(['failed'], 0, 0)]);
    const signature = `${count} ${newest[0] ?? ''}`;
    if (signature !== this.seen) {
      this.byStream = count === 0 ? new Map<string, FailedChunk[]>() : await failedChunks(queue);
      this.seen = signature;
    }
    return this.byStream;
  }
}

/**
 * Reads the live streams' committed bytes (unfinished, new since the sample before, and those
 * that just finished), the counts Redis keeps and the failed chunk jobs every `everyMs` while the
 * dashboard runs (one read at a time), for the throughput chart, each stream's rate, the counts
 * per state and which streams are stuck. A read costs what is live, not every stream ever kept.
 * A read that fails is logged (once a minute) and skipped.
 */
export class StreamSampler {
  readonly ring: SampleRing;
  readonly everyMs: number;
  private failed: ReadonlyMap<string, readonly FailedChunk[]> = new Map<string, FailedChunk[]>();
  private readonly failedJobs = new FailedJobs();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly now: () => number;
  private readonly firstFailure = onceIn(60_000);
  private counts: Counts = { total: 0, active: 0, aborted: 0 };

  constructor(private readonly deps: SamplerDeps) {
    this.everyMs = deps.everyMs ?? SAMPLING.everyMs;
    this.ring = new SampleRing(deps.keepMs ?? SAMPLING.keepMs, deps.rateWindowMs ?? SAMPLING.rateWindowMs);
    this.now = deps.now ?? Date.now;
  }

  start(): void {
    if (this.timer !== undefined) return;
    void this.tick();
    this.timer = setInterval(() => void this.tick(), this.everyMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One sample now, unless one is being taken (then that one). */
  tick(): Promise<void> {
    this.running ??= this.sample().finally(() => (this.running = undefined));
    return this.running;
  }

  private async sample(): Promise<void> {
    const at = this.now();
    const previous = this.ring.latest;
    // the live streams, and those the sample before saw unfinished (to see how they ended)
    const since = (previous?.at ?? at) - CLOCK_SLACK_MS;
    const unfinished = [...(previous?.streams ?? [])].filter(([, seen]) => seen.status === 'active').map(([id]) => id);
    try {
      const [{ streams, whole }, counts, failed] = await Promise.all([
        liveStreams(this.deps.store, since, unfinished),
        streamCounts(this.deps.store),
        this.failedJobs.read(this.deps.chunks),
      ]);
      const seen = new Map<string, Seen>(streams.map((s) => [s.id, { committedBytes: s.committedBytes, committedChunks: s.committedChunks, createdAt: s.createdAt, status: s.status }]));
      this.failed = failed;
      this.counts = counts;
      this.ring.add({ at, since, streams: seen, whole });
    } catch (err) {
      if (this.firstFailure('sample')) logEvent(this.deps.logger, 'dashboard.sample-failed', { err: redactText(describeError(err)) });
    }
  }

  /** The failed chunk jobs of a stream, as of the last sample. */
  failedOf(id: string): readonly FailedChunk[] {
    return this.failed.get(id) ?? [];
  }

  rateOf(id: string): number | null {
    return this.ring.rateOf(id);
  }

  /** `GET /api/summary`. */
  summary(): Summary {
    const latest: Sample | undefined = this.ring.latest;
    const counts = Object.fromEntries(STREAM_STATES.map((s) => [s, 0])) as Record<StreamState, number>;
    // unfinished streams are active or failed (the sample read them all); the rest are counted in Redis
    for (const [id, seen] of latest?.streams ?? []) if (seen.status === 'active') counts[stateOf(seen, this.failed.get(id))] += 1;
    counts.aborted = this.counts.aborted;
    counts.complete = Math.max(0, this.counts.total - this.counts.active - this.counts.aborted);
    const iso = (ms: number): string => new Date(ms).toISOString();
    return {
      counts,
      countsComplete: latest?.whole ?? true,
      sampledAt: latest === undefined ? null : iso(latest.at),
      throughput: {
        everyMs: this.everyMs,
        keepMs: this.ring.keepMs,
        rateWindowMs: this.ring.rateWindowMs,
        points: this.ring.points.map((p) => ({ from: iso(p.from), at: iso(p.at), bytesPerSecond: Math.round(p.bytesPerSecond) })),
      },
      now: iso(this.now()),
    };
  }
}
