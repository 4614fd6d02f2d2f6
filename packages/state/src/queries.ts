import type { Cluster, Redis } from 'ioredis';
import type { Keys } from './keys.js';
import { type ChunkRecord, type StreamRecord, parseStream } from './records.js';

/**
 * A stream as listed: its record and how many of its chunks are uploaded: those with a record, or
 * its committed prefix where that is more. A finished stream's records were dropped when it
 * completed; one reopened since (the file grew, was rewritten or chmod-ed) has its last revision's
 * chunks in S3 until finalize brings their records back from its metadata.json.
 */
export type ListedStream = StreamRecord & { readonly chunksDone: number };

/** Where a page of streams ends: the last stream it holds. */
export interface StreamCursor {
  readonly createdAt: number;
  readonly id: string;
}

/** A cursor names the last stream of a page: `<createdAt ms>.<id>`. */
function cursorOf(stream: StreamCursor): string {
  return `${stream.createdAt}.${stream.id}`;
}

/** The stream a cursor names, or undefined for text that is no cursor. */
export function parseCursor(text: string): StreamCursor | undefined {
  const match = /^(\d{1,16})\.([0-9A-Za-z_-]{1,64})$/.exec(text);
  return match?.[1] === undefined || match[2] === undefined ? undefined : { createdAt: Number(match[1]), id: match[2] };
}

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
    protected readonly redis: Redis | Cluster,
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
   * The stream the path points at. `guess`: the id it pointed at when last asked; that stream is
   * read in the same round trip, and the one the path points at only when it is another: a file
   * seen again costs one round trip, not two.
   */
  async currentOf(relativePath: string, guess?: string): Promise<StreamRecord | undefined> {
    if (guess === undefined) {
      const id = await this.redis.get(this.keys.path(relativePath));
      return id === null ? undefined : this.get(id);
    }
    // two commands sent at once, not a pipeline: ioredis builds a pipeline object with a method for
    // every script defined on the connection (BullMQ's too), which cost more CPU than it saved
    const [id, hash] = await Promise.all([this.redis.get(this.keys.path(relativePath)), this.redis.hgetall(this.keys.stream(guess))]);
    if (id === null) return undefined;
    return id === guess ? parseStream(id, hash) : this.get(id);
  }

  async chunk(id: string, index: number): Promise<ChunkRecord | undefined> {
    const json = await this.redis.hget(this.keys.chunks(id), String(index));
    return json === null ? undefined : (JSON.parse(json) as ChunkRecord);
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

  /**
   * Ids of unfinished streams whose last activity is at or before `before` (ms), oldest first:
   * up to `limit` of them, after the first `skip`.
   */
  async idle(before: number, limit: number, skip = 0): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.active(), '-inf', before, 'LIMIT', skip, limit);
  }

  /**
   * How many idle streams the next scheduled finalize sweep passes over: kept in Redis, as the
   * sweep runs on one worker at a time, any of them.
   */
  async sweepSkip(): Promise<number> {
    const skip = Number((await this.redis.get(this.keys.sweepSkip())) ?? '0');
    return Number.isSafeInteger(skip) && skip > 0 ? skip : 0;
  }

  async setSweepSkip(skip: number): Promise<void> {
    if (skip > 0) await this.redis.set(this.keys.sweepSkip(), String(skip));
    else await this.redis.del(this.keys.sweepSkip());
  }

  /**
   * A page of the streams Redis keeps, newest first (by creation; at the same millisecond by id,
   * descending), exact: up to `limit` after the stream `cursor` names (from the newest without
   * one). A cursor names a stream (`<createdAt>.<id>`), not a position, so streams created or
   * forgotten meanwhile never make a page skip or repeat one. Throws RangeError for a bad cursor.
   */
  async page({ limit, cursor }: { limit: number; cursor?: string | undefined }): Promise<StreamPage> {
    const after = cursor === undefined ? undefined : parseCursor(cursor);
    if (cursor !== undefined && after === undefined) throw new RangeError(`not a cursor: ${JSON.stringify(cursor.slice(0, 100))}`);
    const [ids, total] = await Promise.all([this.idsAfter(after, limit + 1), this.redis.zcard(this.keys.all())]);
    const streams = await this.listed(ids.slice(0, limit));
    const last = streams.at(-1);
    return { streams, next: ids.length > limit && last !== undefined ? cursorOf(last) : undefined, total };
  }

  /** Up to `count` ids of the all-streams index, newest first, after the stream `after` names. */
  private async idsAfter(after: StreamCursor | undefined, count: number): Promise<string[]> {
    if (after === undefined) return this.redis.zrevrange(this.keys.all(), 0, count - 1);
    // at the cursor's millisecond the index orders by id (descending here): skip those up to it
    const tied = await this.redis.zrangebyscore(this.keys.all(), after.createdAt, after.createdAt);
    const skip = tied.filter((id) => id >= after.id).length;
    return this.redis.zrevrangebyscore(this.keys.all(), after.createdAt, '-inf', 'LIMIT', skip, count);
  }

  /** These streams as listed (one round trip); a stream forgotten meanwhile is left out. */
  private async listed(ids: readonly string[]): Promise<ListedStream[]> {
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hgetall(this.keys.stream(id)).hlen(this.keys.chunks(id));
    const replies = (await pipeline.exec()) ?? [];
    const streams: ListedStream[] = [];
    ids.forEach((id, i) => {
      const stream = parseStream(id, (replies[2 * i]?.[1] ?? {}) as Record<string, string>);
      if (stream === undefined) return;
      streams.push({ ...stream, chunksDone: Math.max(Number(replies[2 * i + 1]?.[1] ?? 0), stream.committedChunks) });
    });
    return streams;
  }

  /**
   * The streams that can change: every unfinished one, those created after `since` (ms), and
   * `also` (those a caller saw unfinished before, to see how they ended); at most `limit`, and
   * `whole` unless cut there. The dashboard's sampler reads these every few seconds: the cost
   * grows with what is live, never with the finished streams Redis keeps.
   */
  async live(since: number, also: readonly string[], limit: number): Promise<{ streams: ListedStream[]; whole: boolean }> {
    const [active, fresh] = await Promise.all([
      this.redis.zrange(this.keys.active(), 0, limit),
      this.redis.zrangebyscore(this.keys.all(), `(${since}`, '+inf', 'LIMIT', 0, limit + 1),
    ]);
    const ids = [...new Set([...active, ...fresh, ...also])];
    const whole = active.length <= limit && fresh.length <= limit && ids.length <= limit;
    return { streams: await this.listed(ids.slice(0, limit)), whole };
  }

  /** How many streams Redis keeps, and of those how many are unfinished and aborted (the rest are complete). */
  async counts(): Promise<{ total: number; active: number; aborted: number }> {
    const k = this.keys;
    const [total, active, aborted] = await Promise.all([this.redis.zcard(k.all()), this.redis.zcard(k.active()), this.redis.zcard(k.aborted())]);
    return { total, active, aborted };
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

  /**
   * The next `limit` streams of the all-streams index (oldest first) after the presence cursor,
   * which moves past them; after the newest it starts again from the oldest. Those whose file is
   * already known gone are left out. Finalize looks at their files a batch per sweep (housekeeping.ts): the cost of
   * a sweep stays the same however many streams Redis keeps, and every one is seen in turn.
   */
  async nextToCheck(limit: number): Promise<string[]> {
    const k = this.keys;
    const at = parseCursor((await this.redis.get(k.presenceCursor())) ?? '');
    // at the cursor's millisecond the index orders by id: skip those up to it
    const skip = at === undefined ? 0 : (await this.redis.zrangebyscore(k.all(), at.createdAt, at.createdAt)).filter((id) => id <= at.id).length;
    const reply = await this.redis.zrangebyscore(k.all(), at?.createdAt ?? '-inf', '+inf', 'WITHSCORES', 'LIMIT', skip, limit);
    const ids = reply.filter((_, i) => i % 2 === 0);
    const lastScore = reply.at(-1);
    const last = ids.at(-1);
    if (ids.length < limit || last === undefined || lastScore === undefined) await this.redis.del(k.presenceCursor());
    else await this.redis.set(k.presenceCursor(), cursorOf({ createdAt: Number(lastScore), id: last }));
    if (ids.length === 0) return [];
    const gone = await this.redis.zmscore(k.gone(), ...ids);
    return ids.filter((_, i) => gone[i] === null || gone[i] === undefined);
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
