import type { Redis } from 'ioredis';
import type { Keys } from './keys.js';
import { type StreamRecord, parseStream } from './records.js';

/** A stream as listed: its record and how many of its chunks are uploaded. */
export type ListedStream = StreamRecord & { readonly chunksDone: number };

/** A page of the streams Redis keeps, newest first; `next` continues it (undefined: the last page). */
export interface StreamPage {
  readonly streams: readonly ListedStream[];
  readonly next: string | undefined;
  readonly total: number;
}

/**
 * What can be asked of the streams Redis keeps, by index (sorted sets), never by scanning the
 * keyspace: the cost of each question grows with the streams it concerns (active, idle, due),
 * not with every stream ever seen. StreamStore (store.ts) adds the changes.
 */
export class StreamIndex {
  constructor(
    protected readonly redis: Redis,
    readonly keys: Keys,
  ) {}

  async get(id: string): Promise<StreamRecord | undefined> {
    return parseStream(id, await this.redis.hgetall(this.keys.stream(id)));
  }

  /** Several streams in one round trip (a pipeline); undefined where a stream is unknown. */
  async getMany(ids: readonly string[]): Promise<(StreamRecord | undefined)[]> {
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hgetall(this.keys.stream(id));
    const replies = (await pipeline.exec()) ?? [];
    return ids.map((id, i) => {
      const [err, hash] = replies[i] ?? [new Error('no reply'), undefined];
      if (err) throw err;
      return parseStream(id, hash as Record<string, string>);
    });
  }

  /**
   * Takes up to `limit` ids from the ready set and returns those idle at `before` (ms), as
   * {@link idle} would: a file still being written is not finalized just because its chunks so
   * far are in (the scheduled sweep takes it once it is idle).
   */
  async takeReady(before: number, limit: number): Promise<string[]> {
    const ids = await this.redis.spop(this.keys.ready(), limit);
    if (ids.length === 0) return [];
    const scores = await this.redis.zmscore(this.keys.active(), ...ids);
    return ids.filter((_, i) => {
      const score = scores[i];
      return score !== null && score !== undefined && Number(score) <= before;
    });
  }

  /** Ids of unfinished streams whose last activity is at or before `before` (ms), oldest first. */
  async idle(before: number, limit: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.active(), '-inf', before, 'LIMIT', 0, limit);
  }

  /**
   * A page of the streams Redis keeps, newest first, exact (the all-streams index): up to
   * `limit` after the cursor a previous page returned. For the dashboard and the CLI.
   */
  async page({ limit, cursor }: { limit: number; cursor?: string | undefined }): Promise<StreamPage> {
    const start = Number(cursor ?? '0') || 0;
    const [ids, total] = await Promise.all([this.redis.zrevrange(this.keys.all(), start, start + limit - 1), this.redis.zcard(this.keys.all())]);
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hgetall(this.keys.stream(id)).hlen(this.keys.chunks(id));
    const replies = (await pipeline.exec()) ?? [];
    const streams: ListedStream[] = [];
    ids.forEach((id, i) => {
      const stream = parseStream(id, (replies[2 * i]?.[1] ?? {}) as Record<string, string>);
      if (stream === undefined) return;
      // a complete stream's records were dropped: all of its chunks are in
      const done = stream.status === 'complete' ? Math.ceil(stream.size / stream.chunkSize) : Number(replies[2 * i + 1]?.[1] ?? 0);
      streams.push({ ...stream, chunksDone: done });
    });
    const next = start + ids.length < total ? String(start + ids.length) : undefined;
    return { streams, next, total };
  }

  /** Every stream Redis keeps, newest first, read a page at a time (the CLI's status). */
  async list(limit = 10_000): Promise<ListedStream[]> {
    const all: ListedStream[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.page({ limit: Math.min(1000, limit - all.length), cursor });
      all.push(...page.streams);
      cursor = page.next;
    } while (cursor !== undefined && all.length < limit);
    return all;
  }

  /** Ids of streams whose file left WATCH_DIR at or before `before` (ms), oldest first. */
  async gone(before: number, limit: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.gone(), '-inf', before, 'LIMIT', 0, limit);
  }

  /** Ids of complete streams whose file AFTER_UPLOAD=delete may remove at or before `before` (ms). */
  async deletable(before: number, limit: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.deletable(), '-inf', before, 'LIMIT', 0, limit);
  }

  /** Ids of every stream Redis keeps, a batch at a time, oldest first (the watcher's start-up reconcile). */
  async *allIds(batch = 1000): AsyncGenerator<string[]> {
    for (let start = 0; ; start += batch) {
      const ids = await this.redis.zrange(this.keys.all(), start, start + batch - 1);
      if (ids.length > 0) yield ids;
      if (ids.length < batch) return;
    }
  }

  /** Last activity (ms) of the unfinished stream that has been quiet longest, if any. */
  async oldestActivity(): Promise<number | undefined> {
    const [, score] = await this.redis.zrange(this.keys.active(), 0, 0, 'WITHSCORES');
    return score === undefined ? undefined : Number(score);
  }

  async activeCount(): Promise<number> {
    return this.redis.zcard(this.keys.active());
  }

  /** The epoch marker as it is ('' when Redis has none: nothing made before can be trusted). */
  async currentEpoch(): Promise<string> {
    return (await this.redis.get(this.keys.epoch())) ?? '';
  }
}
