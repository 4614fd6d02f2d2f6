import { randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { makeKeys } from './keys.js';
import { StreamIndex } from './queries.js';
import { type ChunkRecord, type NewStream, type Provenance, type Recorded, type Sighting, type StreamRecord, type StreamStatus, parseStream } from './records.js';
import { EPOCH_AND_SERVER, RENEW_EPOCH } from './epoch-scripts.js';
import { FORGET_STREAM, RETIRE_STREAM } from './retire-scripts.js';
import { COMPLETE_STREAM, CREATE_STREAM, FORGET_CHUNK, OBSERVE_STREAM, PLAN_STREAM, RECORD_CHUNK, RESTORE_CHUNKS } from './scripts.js';

interface Scripts {
  vcuCreateStream(k1: string, k2: string, k3: string, k4: string, k5: string, ...argv: string[]): Promise<[number, string[]?]>;
  vcuObserveStream(k1: string, k2: string, k3: string, id: string, size: string, mtimeNs: string, now: string, idle: string, recovering: string, ctimeNs: string): Promise<[string, number, number, number]>;
  vcuPlanStream(k1: string, planned: string): Promise<number>;
  vcuRecordChunk(k1: string, k2: string, k3: string, k4: string, index: string, size: string, record: string, chunkSize: string, id: string): Promise<[number, number?, number?, number?, number?, number?, string?]>;
  vcuForgetChunk(k1: string, k2: string, index: string, chunkSize: string): Promise<number>;
  vcuCompleteStream(k1: string, k2: string, k3: string, k4: string, id: string, revision: string, updatedAt: string, now: string, deleteAt: string, ctimeNs: string): Promise<number>;
  vcuRetireStream(k1: string, k2: string, k3: string, k4: string, k5: string, k6: string, id: string, reason: string, now: string): Promise<string>;
  vcuForgetStream(k1: string, k2: string, k3: string, k4: string, k5: string, k6: string, k7: string, k8: string, k9: string, id: string, fileThere: string, now: string): Promise<number>;
  vcuRestoreChunks(k1: string, ...argv: string[]): Promise<number>;
  vcuEpochAndServer(k1: string, fresh: string): Promise<[string | null, string]>;
  vcuRenewEpoch(k1: string, from: string, fresh: string): Promise<string>;
}

/** Stream state in Redis: the questions of StreamIndex, and changes, each one atomic script (see scripts.ts). */
export class StreamStore extends StreamIndex {
  private readonly lua: Scripts;
  private readonly now: () => number;

  constructor({ redis, prefix, now = Date.now }: { redis: Redis | Cluster; prefix: string; now?: () => number }) {
    super(redis, makeKeys(prefix));
    this.now = now;
    define(redis);
    this.lua = redis as unknown as Scripts;
  }

  /**
   * Registers a stream version and points its path at it (see CREATE_STREAM). `seen`: the look at
   * the file that started it, recorded in the new hash as OBSERVE_STREAM would record it, so that
   * its creator need not observe it again. Returns the stream as Redis now holds it and whether it
   * was created (an active one that existed is kept as it was, and `seen` is not recorded), or
   * 'taken' when the id belongs to a finished version, which is left alone.
   */
  async create(stream: NewStream, provenance: Provenance, seen?: Sighting): Promise<{ readonly stream: StreamRecord; readonly created: boolean } | 'taken'> {
    const t = this.now();
    const fields: Record<string, string> = {
      path: stream.path,
      dev: stream.dev,
      ino: stream.ino,
      birthtimeNs: stream.birthtimeNs,
      generation: String(stream.generation),
      chunkSize: String(stream.chunkSize),
      size: seen === undefined ? '-1' : String(seen.size),
      mtimeNs: seen?.mtimeNs ?? '',
      plannedBytes: '0',
      committedChunks: '0',
      committedBytes: '0',
      status: 'active',
      revision: '0',
      createdAt: String(t),
      updatedAt: String(t),
      ...(seen === undefined ? {} : { idle: seen.idle ? '1' : '0' }),
      ...(seen?.ctimeNs === undefined || seen.ctimeNs === '' ? {} : { ctimeNs: seen.ctimeNs }),
    };
    const [outcome, flat = []] = await this.lua.vcuCreateStream(
      this.keys.stream(stream.id),
      this.keys.path(stream.path),
      this.keys.active(),
      this.keys.epoch(),
      this.keys.all(),
      stream.id,
      String(t),
      provenance.epoch ?? '',
      provenance.recovering ? '1' : '0',
      ...Object.entries(fields).flat(),
    );
    if (outcome === -1) return 'taken';
    const hash: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) hash[flat[i] as string] = flat[i + 1] as string;
    const record = parseStream(stream.id, hash);
    if (record === undefined) throw new Error(`stream ${stream.id} has no status right after it was created`);
    return { stream: record, created: outcome === 1 };
  }

  /**
   * Records what the watcher saw of the file (see OBSERVE_STREAM); returns the stream's status,
   * whether it was reopened, and how far its chunks are planned and committed.
   */
  async observe(id: string, seen: Sighting, recovering = false) {
    const [status, reopened, plannedBytes, committedBytes] = await this.lua.vcuObserveStream(
      this.keys.stream(id),
      this.keys.active(),
      this.keys.gone(),
      id,
      String(seen.size),
      seen.mtimeNs,
      String(this.now()),
      seen.idle ? '1' : '0',
      recovering ? '1' : '0',
      seen.ctimeNs ?? '',
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

  /**
   * The file is finished (no writer has it open): let finalize take the stream now rather
   * than after STREAM_IDLE_MS, by dating its last activity back. Any later change dates it again.
   */
  async markIdle(id: string, idleMs: number): Promise<void> {
    await this.redis.zadd(this.keys.active(), 'XX', this.now() - idleMs - 1, id);
  }

  /**
   * The epoch marker: set once (by whoever comes first) and kept as long as Redis keeps its
   * data. A process that remembers an epoch and finds it gone or changed knows state was lost.
   */
  async epoch(): Promise<string> {
    return (await this.epochAndServer()).epoch;
  }

  /**
   * The epoch marker (set first if there is none) and the run id of the Redis server holding it:
   * a new server with the same epoch is a failover or a restart (see EPOCH_AND_SERVER).
   */
  async epochAndServer(): Promise<{ epoch: string; server: string }> {
    const [epoch, server] = await this.lua.vcuEpochAndServer(this.keys.epoch(), randomUUID());
    return { epoch: epoch ?? '', server };
  }

  /** Replaces the epoch `from` with a new one (see RENEW_EPOCH); returns the epoch now. */
  async renewEpoch(from: string): Promise<string> {
    return this.lua.vcuRenewEpoch(this.keys.epoch(), from, randomUUID());
  }

  /**
   * metadata.json of `revision` is written (see COMPLETE_STREAM). Returns 'complete', or 'active'
   * when the file changed during finalize, or 'gone'. `deleteAt`: when AFTER_UPLOAD=delete may
   * remove the file (ms); `ctimeNs`: the file's change time, read before finalize read the file.
   */
  async complete(stream: StreamRecord, revision: number, { deleteAt, ctimeNs }: { deleteAt?: number | undefined; ctimeNs?: string | undefined } = {}) {
    const result = await this.lua.vcuCompleteStream(
      this.keys.stream(stream.id),
      this.keys.active(),
      this.keys.chunks(stream.id),
      this.keys.deletable(),
      stream.id,
      String(revision),
      String(stream.updatedAt),
      String(this.now()),
      deleteAt === undefined ? '' : String(deleteAt),
      ctimeNs ?? '',
    );
    return result === 1 ? ('complete' as const) : result === 0 ? ('active' as const) : ('gone' as const);
  }

  async retire(stream: Pick<StreamRecord, 'id' | 'path'>, reason: string): Promise<StreamStatus | 'missing'> {
    const previous = await this.lua.vcuRetireStream(
      this.keys.stream(stream.id),
      this.keys.active(),
      this.keys.path(stream.path),
      this.keys.gone(),
      this.keys.aborted(),
      this.keys.deletable(),
      stream.id,
      reason,
      String(this.now()),
    );
    return previous as StreamStatus | 'missing';
  }

  /**
   * Drops a stream whose file left WATCH_DIR (see FORGET_STREAM); false when it is kept: active
   * again, or `fileThere` (its very file is still at its path) and no newer stream holds the path.
   */
  async forget(stream: Pick<StreamRecord, 'id' | 'path'>, fileThere = false): Promise<boolean> {
    const k = this.keys;
    const { id } = stream;
    const forgotten = await this.lua.vcuForgetStream(k.stream(id), k.chunks(id), k.path(stream.path), k.all(), k.active(), k.gone(), k.ready(), k.deletable(), k.aborted(), id, fileThere ? '1' : '0', String(this.now()));
    return forgotten === 1;
  }

  /**
   * AFTER_UPLOAD=delete: look at the stream's file again at `checkAt` (ms). `deletingAs`: the
   * hidden name (in its folder) the file was moved aside as, to be deleted once seen unchanged
   * again; null: it is back under its name; omitted: as it was, and only if still in the set.
   */
  async deletionAt(id: string, checkAt: number, deletingAs?: string | null): Promise<void> {
    const multi = this.redis.multi();
    if (typeof deletingAs === 'string') multi.hset(this.keys.stream(id), 'deletingAs', deletingAs);
    if (deletingAs === null) multi.hdel(this.keys.stream(id), 'deletingAs');
    // only a look later: a stream that left the set meanwhile (its file emptied, the stream
    // forgotten, another worker done with it) is not put back
    if (deletingAs === undefined) multi.zadd(this.keys.deletable(), 'XX', checkAt, id);
    else multi.zadd(this.keys.deletable(), checkAt, id);
    await multi.exec();
  }

  /** AFTER_UPLOAD=delete is done with the stream's file (deleted, kept or gone). */
  async deletionDone(id: string): Promise<void> {
    await this.redis.multi().hdel(this.keys.stream(id), 'deletingAs').zrem(this.keys.deletable(), id).exec();
  }

  /** Puts back chunk records a complete stream dropped (see RESTORE_CHUNKS); returns how many. */
  async restoreChunks(id: string, records: ReadonlyMap<number, ChunkRecord>): Promise<number> {
    if (records.size === 0) return 0;
    return this.lua.vcuRestoreChunks(this.keys.chunks(id), ...[...records].flatMap(([index, record]) => [String(index), JSON.stringify(record)]));
  }
}

/** The stream store of `prefix` on this connection. */
export function createStreamStore(deps: { redis: Redis | Cluster; prefix: string; now?: () => number }): StreamStore {
  return new StreamStore(deps);
}

function define(redis: Redis | Cluster): void {
  const commands: [string, number, string][] = [
    ['vcuCreateStream', 5, CREATE_STREAM],
    ['vcuObserveStream', 3, OBSERVE_STREAM],
    ['vcuPlanStream', 1, PLAN_STREAM],
    ['vcuRecordChunk', 4, RECORD_CHUNK],
    ['vcuForgetChunk', 2, FORGET_CHUNK],
    ['vcuCompleteStream', 4, COMPLETE_STREAM],
    ['vcuRetireStream', 6, RETIRE_STREAM],
    ['vcuForgetStream', 9, FORGET_STREAM],
    ['vcuRestoreChunks', 1, RESTORE_CHUNKS],
    ['vcuEpochAndServer', 1, EPOCH_AND_SERVER],
    ['vcuRenewEpoch', 1, RENEW_EPOCH],
  ];
  for (const [name, numberOfKeys, lua] of commands) {
    if (!(name in redis)) redis.defineCommand(name, { numberOfKeys, lua });
  }
}

