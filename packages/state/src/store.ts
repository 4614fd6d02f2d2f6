import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { type Keys, makeKeys } from './keys.js';
import { type ChunkRecord, type NewStream, type Provenance, type Recorded, type StreamRecord, type StreamStatus, parseStream } from './records.js';
import { COMPLETE_STREAM, CREATE_STREAM, FORGET_CHUNK, OBSERVE_STREAM, PLAN_STREAM, RECORD_CHUNK, RETIRE_STREAM } from './scripts.js';

interface Scripts {
  vcuCreateStream(k1: string, k2: string, k3: string, k4: string, ...argv: string[]): Promise<number>;
  vcuObserveStream(k1: string, k2: string, id: string, size: string, mtimeNs: string, now: string, idle: string, recovering: string): Promise<[string, number, number, number]>;
  vcuPlanStream(k1: string, planned: string): Promise<number>;
  vcuRecordChunk(k1: string, k2: string, k3: string, k4: string, index: string, size: string, record: string, chunkSize: string, id: string): Promise<[number, number?, number?, number?, number?, number?, string?]>;
  vcuForgetChunk(k1: string, k2: string, index: string, chunkSize: string): Promise<number>;
  vcuCompleteStream(k1: string, k2: string, id: string, revision: string, updatedAt: string, now: string, sha: string): Promise<number>;
  vcuRetireStream(k1: string, k2: string, k3: string, id: string, reason: string, now: string): Promise<string>;
}

/** Stream state in Redis; every change is one atomic script (see scripts.ts). */
export class StreamStore {
  readonly keys: Keys;
  private readonly redis: Redis;
  private readonly lua: Scripts;
  private readonly now: () => number;

  constructor({ redis, prefix, now = Date.now }: { redis: Redis; prefix: string; now?: () => number }) {
    this.redis = redis;
    this.keys = makeKeys(prefix);
    this.now = now;
    define(redis);
    this.lua = redis as unknown as Scripts;
  }

  async get(id: string): Promise<StreamRecord | undefined> {
    return parseStream(id, await this.redis.hgetall(this.keys.stream(id)));
  }

  async currentOf(relativePath: string): Promise<StreamRecord | undefined> {
    const id = await this.redis.get(this.keys.path(relativePath));
    return id === null ? undefined : this.get(id);
  }

  /** Registers a stream version; returns false when it already existed (its state is kept). */
  async create(stream: NewStream, provenance: Provenance): Promise<boolean> {
    const t = this.now();
    const fields: Record<string, string> = {
      path: stream.path,
      dev: stream.dev,
      ino: stream.ino,
      birthtimeNs: stream.birthtimeNs,
      generation: String(stream.generation),
      chunkSize: String(stream.chunkSize),
      size: '-1',
      mtimeNs: '',
      plannedBytes: '0',
      committedChunks: '0',
      committedBytes: '0',
      status: 'active',
      revision: '0',
      createdAt: String(t),
      updatedAt: String(t),
    };
    const created = await this.lua.vcuCreateStream(
      this.keys.stream(stream.id),
      this.keys.path(stream.path),
      this.keys.active(),
      this.keys.epoch(),
      stream.id,
      String(t),
      provenance.epoch ?? '',
      provenance.recovering ? '1' : '0',
      ...Object.entries(fields).flat(),
    );
    return created === 1;
  }

  /**
   * Records what the watcher saw of the file (see OBSERVE_STREAM); returns the stream's status,
   * whether it was reopened, and how far its chunks are planned and committed.
   */
  async observe(id: string, seen: { size: number; mtimeNs: string; idle: boolean }, recovering = false) {
    const [status, reopened, plannedBytes, committedBytes] = await this.lua.vcuObserveStream(
      this.keys.stream(id),
      this.keys.active(),
      id,
      String(seen.size),
      seen.mtimeNs,
      String(this.now()),
      seen.idle ? '1' : '0',
      recovering ? '1' : '0',
    );
    return { status: status as StreamStatus | 'missing', reopened: reopened === 1, plannedBytes, committedBytes };
  }

  /** Chunk jobs up to `plannedBytes` are enqueued (it only grows; see PLAN_STREAM). */
  async plan(id: string, plannedBytes: number): Promise<number> {
    return this.lua.vcuPlanStream(this.keys.stream(id), String(plannedBytes));
  }

  /**
   * Records an uploaded chunk. Returns the committed chunks and whether the stream is now
   * ready to finalize (see RECORD_CHUNK), or 'missing' / 'aborted' when the chunk should not be kept.
   */
  async recordChunk(stream: Pick<StreamRecord, 'id' | 'chunkSize'>, index: number, record: ChunkRecord): Promise<Recorded | 'missing' | 'aborted'> {
    const [committed, ready, committedBytes, plannedBytes, size, idle, status] = await this.lua.vcuRecordChunk(
      this.keys.stream(stream.id),
      this.keys.chunks(stream.id),
      this.keys.ready(),
      this.keys.epoch(),
      String(index),
      String(record.size),
      JSON.stringify(record),
      String(stream.chunkSize),
      stream.id,
    );
    if (committed === -1) return 'missing';
    if (committed === -2) return 'aborted';
    return {
      committed,
      ready: ready === 1,
      committedBytes: committedBytes ?? 0,
      plannedBytes: plannedBytes ?? 0,
      size: size ?? 0,
      idle: idle === 1,
      status: (status ?? 'active') as StreamStatus,
    };
  }

  async forgetChunk(stream: Pick<StreamRecord, 'id' | 'chunkSize'>, index: number): Promise<void> {
    await this.lua.vcuForgetChunk(this.keys.stream(stream.id), this.keys.chunks(stream.id), String(index), String(stream.chunkSize));
  }

  async chunks(id: string): Promise<Map<number, ChunkRecord>> {
    const raw = await this.redis.hgetall(this.keys.chunks(id));
    const result = new Map<number, ChunkRecord>();
    for (const [index, json] of Object.entries(raw)) result.set(Number(index), JSON.parse(json) as ChunkRecord);
    return result;
  }

  async chunk(id: string, index: number): Promise<ChunkRecord | undefined> {
    const json = await this.redis.hget(this.keys.chunks(id), String(index));
    return json === null ? undefined : (JSON.parse(json) as ChunkRecord);
  }

  /**
   * The file is finished (no writer has it open): let finalize take the stream now rather
   * than after STREAM_IDLE_MS, by dating its last activity back. Any later change dates it again.
   */
  async markIdle(id: string, idleMs: number): Promise<void> {
    await this.redis.zadd(this.keys.active(), 'XX', this.now() - idleMs - 1, id);
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

  /** The epoch marker as it is ('' when Redis has none: nothing made before can be trusted). */
  async currentEpoch(): Promise<string> {
    return (await this.redis.get(this.keys.epoch())) ?? '';
  }

  /**
   * The epoch marker: set once (by whoever comes first) and kept as long as Redis keeps its
   * data. A process that remembers an epoch and finds it gone or changed knows state was lost.
   */
  async epoch(): Promise<string> {
    await this.redis.set(this.keys.epoch(), randomUUID(), 'NX');
    return (await this.redis.get(this.keys.epoch())) ?? '';
  }

  /**
   * Every stream Redis knows (SCAN, so it never blocks Redis), each with the number of its
   * chunks uploaded so far; newest first. For the dashboard and the CLI, not for hot paths.
   */
  async list(limit = 10_000): Promise<(StreamRecord & { readonly chunksDone: number })[]> {
    const ids: string[] = [];
    const pattern = `${this.keys.stream('*')}`;
    let cursor = '0';
    do {
      const [next, found] = await this.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      for (const key of found) if (!key.endsWith(':chunks')) ids.push(key.slice(this.keys.stream('').length));
    } while (cursor !== '0' && ids.length < limit);
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hgetall(this.keys.stream(id)).hlen(this.keys.chunks(id));
    const replies = (await pipeline.exec()) ?? [];
    const result: (StreamRecord & { chunksDone: number })[] = [];
    ids.forEach((id, i) => {
      const stream = parseStream(id, (replies[2 * i]?.[1] ?? {}) as Record<string, string>);
      if (stream !== undefined) result.push({ ...stream, chunksDone: Number(replies[2 * i + 1]?.[1] ?? 0) });
    });
    return result.sort((a, b) => b.createdAt - a.createdAt);
  }

  /** Last activity (ms) of the unfinished stream that has been quiet longest, if any. */
  async oldestActivity(): Promise<number | undefined> {
    const [, score] = await this.redis.zrange(this.keys.active(), 0, 0, 'WITHSCORES');
    return score === undefined ? undefined : Number(score);
  }

  async activeCount(): Promise<number> {
    return this.redis.zcard(this.keys.active());
  }

  /** Returns 'complete', or 'active' when the file changed during finalize, or 'gone'. */
  async complete(stream: StreamRecord, revision: number, sha256: string) {
    const result = await this.lua.vcuCompleteStream(
      this.keys.stream(stream.id),
      this.keys.active(),
      stream.id,
      String(revision),
      String(stream.updatedAt),
      String(this.now()),
      sha256,
    );
    return result === 1 ? ('complete' as const) : result === 0 ? ('active' as const) : ('gone' as const);
  }

  async retire(stream: Pick<StreamRecord, 'id' | 'path'>, reason: string): Promise<StreamStatus | 'missing'> {
    const previous = await this.lua.vcuRetireStream(
      this.keys.stream(stream.id),
      this.keys.active(),
      this.keys.path(stream.path),
      stream.id,
      reason,
      String(this.now()),
    );
    return previous as StreamStatus | 'missing';
  }
}

/** The stream store of `prefix` on this connection. */
export function createStreamStore(deps: { redis: Redis; prefix: string; now?: () => number }): StreamStore {
  return new StreamStore(deps);
}

function define(redis: Redis): void {
  const commands: [string, number, string][] = [
    ['vcuCreateStream', 4, CREATE_STREAM],
    ['vcuObserveStream', 2, OBSERVE_STREAM],
    ['vcuPlanStream', 1, PLAN_STREAM],
    ['vcuRecordChunk', 4, RECORD_CHUNK],
    ['vcuForgetChunk', 2, FORGET_CHUNK],
    ['vcuCompleteStream', 2, COMPLETE_STREAM],
    ['vcuRetireStream', 3, RETIRE_STREAM],
  ];
  for (const [name, numberOfKeys, lua] of commands) {
    if (!(name in redis)) redis.defineCommand(name, { numberOfKeys, lua });
  }
}

