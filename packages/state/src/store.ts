import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { type Keys, makeKeys } from './keys.js';
import { COMPLETE_STREAM, CREATE_STREAM, FORGET_CHUNK, OBSERVE_STREAM, PLAN_STREAM, RECORD_CHUNK, RETIRE_STREAM } from './scripts.js';

/** `active` until metadata.json describes the whole file; `aborted` when its file went away. */
export type StreamStatus = 'active' | 'complete' | 'aborted';

/** One version of one file, as kept in `<p>:stream:<id>`. */
export interface StreamRecord {
  readonly id: string;
  /** Relative to WATCH_DIR, `/`-separated. */
  readonly path: string;
  /** Device of the file ('' for streams recorded before vcu kept it). */
  readonly dev: string;
  readonly ino: string;
  readonly birthtimeNs: string;
  /** Bumped when the same inode is truncated: each truncation is a new version. */
  readonly generation: number;
  readonly chunkSize: number;
  /** Size and mtime the watcher last saw. */
  readonly size: number;
  readonly mtimeNs: string;
  /** End of the last byte range enqueued as a chunk job. */
  readonly plannedBytes: number;
  /** The watcher saw `size` as final (idle or sealed): the tail chunk may be planned. */
  readonly idle: boolean;
  readonly committedChunks: number;
  readonly committedBytes: number;
  readonly status: StreamStatus;
  /** Revision of the last metadata.json written; 0 before the first. */
  readonly revision: number;
  /** Created while rescanning files Redis had no record of: chunks may already be in S3. */
  readonly recovered: boolean;
  readonly reason: string | undefined;
  readonly createdAt: number;
  readonly updatedAt: string;
  readonly completedAt: number | undefined;
}

/** What a worker recorded after S3 confirmed a chunk object. */
export interface ChunkRecord {
  readonly size: number;
  readonly sha256: string;
  readonly etag: string;
  readonly uploadedAt: string;
  /** When the worker started reading these bytes (ms): a file last modified before that cannot have changed them since. */
  readonly readAt?: number;
}

export type NewStream = Pick<StreamRecord, 'id' | 'path' | 'dev' | 'ino' | 'birthtimeNs' | 'generation' | 'chunkSize'>;

/**
 * What the creator of a stream knows about Redis's state. `recovering`: the stream may already
 * have chunks in S3 (a start-up scan or a rescan after a loss). `epoch`: the epoch marker the
 * caller last saw ({@link StreamStore.epoch}); a different one in Redis means Redis lost its
 * data since, and the stream is created as recovered. Omitted: nothing is checked.
 */
export interface Provenance {
  readonly recovering: boolean;
  readonly epoch?: string | undefined;
}

interface Scripts {
  vcuCreateStream(k1: string, k2: string, k3: string, k4: string, ...argv: string[]): Promise<number>;
  vcuObserveStream(k1: string, k2: string, id: string, size: string, mtimeNs: string, now: string, idle: string, recovering: string): Promise<[string, number, number, number]>;
  vcuPlanStream(k1: string, planned: string): Promise<number>;
  vcuRecordChunk(k1: string, k2: string, k3: string, index: string, size: string, record: string, chunkSize: string, id: string): Promise<[number, number?, number?, number?, number?, number?, string?]>;
  vcuForgetChunk(k1: string, k2: string, index: string, chunkSize: string): Promise<number>;
  vcuCompleteStream(k1: string, k2: string, id: string, revision: string, updatedAt: string, now: string, sha: string): Promise<number>;
  vcuRetireStream(k1: string, k2: string, k3: string, id: string, reason: string, now: string): Promise<string>;
}

export type StreamStore = ReturnType<typeof createStreamStore>;

/** A chunk recorded: the stream as it is right after, enough to plan its next chunks. */
export interface Recorded {
  readonly committed: number;
  /** The whole planned file is committed: the stream joined the ready set. */
  readonly ready: boolean;
  readonly committedBytes: number;
  readonly plannedBytes: number;
  readonly size: number;
  readonly idle: boolean;
  readonly status: StreamStatus;
}

/** Stream state in Redis; every change is one atomic script (see scripts.ts). */
export function createStreamStore({ redis, prefix, now = Date.now }: { redis: Redis; prefix: string; now?: () => number }) {
  const keys: Keys = makeKeys(prefix);
  define(redis);
  const lua = redis as unknown as Scripts;

  async function get(id: string): Promise<StreamRecord | undefined> {
    return parseStream(id, await redis.hgetall(keys.stream(id)));
  }

  return {
    keys,
    get,

    async currentOf(relativePath: string): Promise<StreamRecord | undefined> {
      const id = await redis.get(keys.path(relativePath));
      return id === null ? undefined : get(id);
    },

    /** Registers a stream version; returns false when it already existed (its state is kept). */
    async create(stream: NewStream, provenance: Provenance): Promise<boolean> {
      const t = now();
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
      const created = await lua.vcuCreateStream(
        keys.stream(stream.id),
        keys.path(stream.path),
        keys.active(),
        keys.epoch(),
        stream.id,
        String(t),
        provenance.epoch ?? '',
        provenance.recovering ? '1' : '0',
        ...Object.entries(fields).flat(),
      );
      return created === 1;
    },

    /**
     * Records what the watcher saw of the file (see OBSERVE_STREAM); returns the stream's status,
     * whether it was reopened, and how far its chunks are planned and committed.
     */
    async observe(id: string, seen: { size: number; mtimeNs: string; idle: boolean }, recovering = false) {
      const [status, reopened, plannedBytes, committedBytes] = await lua.vcuObserveStream(
        keys.stream(id),
        keys.active(),
        id,
        String(seen.size),
        seen.mtimeNs,
        String(now()),
        seen.idle ? '1' : '0',
        recovering ? '1' : '0',
      );
      return { status: status as StreamStatus | 'missing', reopened: reopened === 1, plannedBytes, committedBytes };
    },

    /** Chunk jobs up to `plannedBytes` are enqueued (it only grows; see PLAN_STREAM). */
    async plan(id: string, plannedBytes: number): Promise<number> {
      return lua.vcuPlanStream(keys.stream(id), String(plannedBytes));
    },

    /**
     * Records an uploaded chunk. Returns the committed chunks and whether the stream is now
     * ready to finalize (see RECORD_CHUNK), or 'missing' / 'aborted' when the chunk should not be kept.
     */
    async recordChunk(stream: Pick<StreamRecord, 'id' | 'chunkSize'>, index: number, record: ChunkRecord): Promise<Recorded | 'missing' | 'aborted'> {
      const [committed, ready, committedBytes, plannedBytes, size, idle, status] = await lua.vcuRecordChunk(
        keys.stream(stream.id),
        keys.chunks(stream.id),
        keys.ready(),
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
    },

    async forgetChunk(stream: Pick<StreamRecord, 'id' | 'chunkSize'>, index: number): Promise<void> {
      await lua.vcuForgetChunk(keys.stream(stream.id), keys.chunks(stream.id), String(index), String(stream.chunkSize));
    },

    async chunks(id: string): Promise<Map<number, ChunkRecord>> {
      const raw = await redis.hgetall(keys.chunks(id));
      const result = new Map<number, ChunkRecord>();
      for (const [index, json] of Object.entries(raw)) result.set(Number(index), JSON.parse(json) as ChunkRecord);
      return result;
    },

    async chunk(id: string, index: number): Promise<ChunkRecord | undefined> {
      const json = await redis.hget(keys.chunks(id), String(index));
      return json === null ? undefined : (JSON.parse(json) as ChunkRecord);
    },

    /**
     * The file is finished (no writer has it open): let finalize take the stream now rather
     * than after STREAM_IDLE_MS, by dating its last activity back. Any later change dates it again.
     */
    async markIdle(id: string, idleMs: number): Promise<void> {
      await redis.zadd(keys.active(), 'XX', now() - idleMs - 1, id);
    },

    /** Several streams in one round trip (a pipeline); undefined where a stream is unknown. */
    async getMany(ids: readonly string[]): Promise<(StreamRecord | undefined)[]> {
      if (ids.length === 0) return [];
      const pipeline = redis.pipeline();
      for (const id of ids) pipeline.hgetall(keys.stream(id));
      const replies = (await pipeline.exec()) ?? [];
      return ids.map((id, i) => {
        const [err, hash] = replies[i] ?? [new Error('no reply'), undefined];
        if (err) throw err;
        return parseStream(id, hash as Record<string, string>);
      });
    },

    /**
     * Takes up to `limit` ids from the ready set and returns those idle at `before` (ms), as
     * {@link idle} would: a file still being written is not finalized just because its chunks so
     * far are in (the scheduled sweep takes it once it is idle).
     */
    async takeReady(before: number, limit: number): Promise<string[]> {
      const ids = await redis.spop(keys.ready(), limit);
      if (ids.length === 0) return [];
      const scores = await redis.zmscore(keys.active(), ...ids);
      return ids.filter((_, i) => {
        const score = scores[i];
        return score !== null && score !== undefined && Number(score) <= before;
      });
    },

    /** Ids of unfinished streams whose last activity is at or before `before` (ms), oldest first. */
    async idle(before: number, limit: number): Promise<string[]> {
      return redis.zrangebyscore(keys.active(), '-inf', before, 'LIMIT', 0, limit);
    },

    /**
     * The epoch marker: set once (by whoever comes first) and kept as long as Redis keeps its
     * data. A process that remembers an epoch and finds it gone or changed knows state was lost.
     */
    async epoch(): Promise<string> {
      await redis.set(keys.epoch(), randomUUID(), 'NX');
      return (await redis.get(keys.epoch())) ?? '';
    },

    /**
     * Every stream Redis knows (SCAN, so it never blocks Redis), each with the number of its
     * chunks uploaded so far; newest first. For the dashboard and the CLI, not for hot paths.
     */
    async list(limit = 10_000): Promise<(StreamRecord & { readonly chunksDone: number })[]> {
      const ids: string[] = [];
      const pattern = `${keys.stream('*')}`;
      let cursor = '0';
      do {
        const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        for (const key of found) if (!key.endsWith(':chunks')) ids.push(key.slice(keys.stream('').length));
      } while (cursor !== '0' && ids.length < limit);
      const pipeline = redis.pipeline();
      for (const id of ids) pipeline.hgetall(keys.stream(id)).hlen(keys.chunks(id));
      const replies = (await pipeline.exec()) ?? [];
      const result: (StreamRecord & { chunksDone: number })[] = [];
      ids.forEach((id, i) => {
        const stream = parseStream(id, (replies[2 * i]?.[1] ?? {}) as Record<string, string>);
        if (stream !== undefined) result.push({ ...stream, chunksDone: Number(replies[2 * i + 1]?.[1] ?? 0) });
      });
      return result.sort((a, b) => b.createdAt - a.createdAt);
    },

    /** Last activity (ms) of the unfinished stream that has been quiet longest, if any. */
    async oldestActivity(): Promise<number | undefined> {
      const [, score] = await redis.zrange(keys.active(), 0, 0, 'WITHSCORES');
      return score === undefined ? undefined : Number(score);
    },

    async activeCount(): Promise<number> {
      return redis.zcard(keys.active());
    },

    /** Returns 'complete', or 'active' when the file changed during finalize, or 'gone'. */
    async complete(stream: StreamRecord, revision: number, sha256: string) {
      const result = await lua.vcuCompleteStream(
        keys.stream(stream.id),
        keys.active(),
        stream.id,
        String(revision),
        stream.updatedAt,
        String(now()),
        sha256,
      );
      return result === 1 ? ('complete' as const) : result === 0 ? ('active' as const) : ('gone' as const);
    },

    async retire(stream: Pick<StreamRecord, 'id' | 'path'>, reason: string): Promise<StreamStatus | 'missing'> {
      const previous = await lua.vcuRetireStream(
        keys.stream(stream.id),
        keys.active(),
        keys.path(stream.path),
        stream.id,
        reason,
        String(now()),
      );
      return previous as StreamStatus | 'missing';
    },
  };
}

function define(redis: Redis): void {
  const commands: [string, number, string][] = [
    ['vcuCreateStream', 4, CREATE_STREAM],
    ['vcuObserveStream', 2, OBSERVE_STREAM],
    ['vcuPlanStream', 1, PLAN_STREAM],
    ['vcuRecordChunk', 3, RECORD_CHUNK],
    ['vcuForgetChunk', 2, FORGET_CHUNK],
    ['vcuCompleteStream', 2, COMPLETE_STREAM],
    ['vcuRetireStream', 3, RETIRE_STREAM],
  ];
  for (const [name, numberOfKeys, lua] of commands) {
    if (!(name in redis)) redis.defineCommand(name, { numberOfKeys, lua });
  }
}

function parseStream(id: string, h: Record<string, string>): StreamRecord | undefined {
  if (h['status'] === undefined) return undefined;
  const num = (key: string): number => Number(h[key] ?? '0');
  return {
    id,
    path: h['path'] ?? '',
    dev: h['dev'] ?? '',
    ino: h['ino'] ?? '',
    birthtimeNs: h['birthtimeNs'] ?? '0',
    generation: num('generation'),
    chunkSize: num('chunkSize'),
    size: num('size'),
    mtimeNs: h['mtimeNs'] ?? '',
    plannedBytes: num('plannedBytes'),
    idle: h['idle'] === '1',
    committedChunks: num('committedChunks'),
    committedBytes: num('committedBytes'),
    status: h['status'] as StreamStatus,
    revision: num('revision'),
    recovered: h['recovered'] === '1',
    reason: h['reason'],
    createdAt: num('createdAt'),
    updatedAt: h['updatedAt'] ?? '',
    completedAt: h['completedAt'] === undefined ? undefined : num('completedAt'),
  };
}
