// Streams in Redis as vcu itself leaves them, made through the real StreamStore API (the same Lua
// scripts the watcher, the workers and finalize run), for measuring and testing what costs grow
// with the number of finished streams Redis keeps: the bench's scale scenario and its test.
import { createHash } from 'node:crypto';
import { mkdir, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { type FileFacts, streamIdFor } from '@vcu/domain';
import { isFileFacts, readFacts } from '@vcu/files';
import { type ChunkRecord, type StreamRecord, StreamStore } from '@vcu/state';

/** Finished stream number i was created this long before the newest (i = 0) one. */
const FINISHED_EVERY_MS = 10_000;
/** The newest finished stream was created this long before the seeding. */
const NEWEST_FINISHED_AGE_MS = 2 * 3_600_000;
/** Streams seeded at once (each one's steps in order, as vcu takes them). */
const PARALLEL = 64;

/** One finished stream to seed: its file as the watcher saw it, and when it was made. */
export interface FinishedSpec {
  readonly id: string;
  readonly file: FileFacts;
  readonly chunkSize: number;
  readonly chunks: number;
  readonly createdAt: number;
  /** Its file left WATCH_DIR this long before the seeding (it is in streams:gone); undefined: still there. */
  readonly goneAgoMs: number | undefined;
}

/** What a seeded stream must read back as, through the store. */
export interface SeededCheck {
  readonly id: string;
  readonly problems: readonly string[];
}

/** The sha256 a chunk record of a seeded stream holds (fake, but of the right shape). */
const digestOf = (id: string, index: number): string => createHash('sha256').update(`${id}:${index}`).digest('hex');

/** Runs `task` on every item, `parallel` at a time. */
async function eachLimited<T>(items: readonly T[], parallel: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next] as T;
      next += 1;
      await task(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, items.length) }, lane));
}

/**
 * Seeds streams under `prefix` the way vcu makes them: `create` (the watcher's first sighting),
 * `observe` (size and mtime, idle), `plan` (every chunk enqueued), `recordChunk` per chunk (the
 * workers; the last one puts the stream in the ready set), the ready set taken (the ready sweep)
 * and `complete` (finalize, metadata.json revision 1), and `retire` for a file that was deleted.
 * Each step runs on a store whose clock says when vcu would have taken it.
 */
export class StreamSeeder {
  private epoch: string | undefined;

  constructor(
    private readonly redis: Redis,
    readonly prefix: string,
    readonly chunkSize: number,
    /** When the seeding happens (ms): finished streams are dated before it. */
    readonly now: number = Date.now(),
  ) {}

  /** The store of this prefix with its clock at `at()`. */
  private storeAt(at: () => number): StreamStore {
    return new StreamStore({ redis: this.redis, prefix: this.prefix, now: at });
  }

  get store(): StreamStore {
    return this.storeAt(Date.now);
  }

  private async knownEpoch(): Promise<string> {
    const epoch = this.epoch ?? (await this.store.epoch());
    this.epoch = epoch;
    return epoch;
  }

  /**
   * Finished stream number `i` (0 the newest): a camera clip of 1 to 4 chunks, created 10 s after
   * number i + 1; every `goneEvery`-th one's file was deleted in the last half hour.
   */
  finished(i: number, goneEvery = 10): FinishedSpec {
    const createdAt = this.now - NEWEST_FINISHED_AGE_MS - i * FINISHED_EVERY_MS;
    const chunks = 1 + ((i * 7) % 4);
    const size = (chunks - 1) * this.chunkSize + 1 + ((i * 7919) % (this.chunkSize - 1));
    const ns = (ms: number): string => String(BigInt(ms) * 1_000_000n);
    const day = new Date(createdAt).toISOString().slice(0, 10);
    const file: FileFacts = { path: `cam-${String(i % 12).padStart(2, '0')}/${day}/clip-${String(i).padStart(6, '0')}.mp4`, dev: '2049', ino: String(1_000_000 + i), birthtimeNs: ns(createdAt), size, mtimeNs: ns(createdAt + 2000) };
    const gone = goneEvery > 0 && i % goneEvery === goneEvery - 1;
    return { id: streamIdFor(file, 0), file, chunkSize: this.chunkSize, chunks, createdAt, goneAgoMs: gone ? ((i * 37) % 30) * 60_000 + 1000 : undefined };
  }

  /**
   * These specs with the file of each one still there made in `watchDir` (empty, sparse, of its
   * size), as the watcher would see that file (its real device, inode and times, so its stream id):
   * finalize's housekeeping looks at kept streams' files and retires those that are not there.
   */
  async withFiles(specs: readonly FinishedSpec[], watchDir: string): Promise<FinishedSpec[]> {
    const made = [...specs];
    await eachLimited([...specs.keys()], PARALLEL, async (i) => {
      const spec = specs[i];
      if (spec?.goneAgoMs !== undefined || spec === undefined) return;
      const absolute = path.join(watchDir, spec.file.path);
      await mkdir(path.dirname(absolute), { recursive: true });
      await writeFile(absolute, '');
      await truncate(absolute, spec.file.size);
      const file = await readFacts(watchDir, spec.file.path);
      if (!isFileFacts(file)) throw new Error(`seeding: ${spec.file.path} is not a regular file`);
      made[i] = { ...spec, file, id: streamIdFor(file, 0) };
    });
    return made;
  }

  /** The chunk record a worker would have made for chunk `index` of `spec`. */
  static recordOf(spec: Pick<FinishedSpec, 'id' | 'file' | 'chunkSize' | 'chunks' | 'createdAt'>, index: number): ChunkRecord {
    const size = index < spec.chunks - 1 ? spec.chunkSize : spec.file.size - (spec.chunks - 1) * spec.chunkSize;
    const sha256 = digestOf(spec.id, index);
    return { size, sha256, etag: `"${sha256.slice(0, 32)}"`, uploadedAt: new Date(spec.createdAt + 1500 + index).toISOString(), readAt: spec.createdAt + 1000 };
  }

  /** Seeds these finished streams (see the class). */
  async seedFinished(specs: readonly FinishedSpec[]): Promise<void> {
    const epoch = await this.knownEpoch();
    await eachLimited(specs, PARALLEL, async (spec) => {
      let t = spec.createdAt;
      const store = this.storeAt(() => t);
      const { file } = spec;
      await store.create({ id: spec.id, path: file.path, dev: file.dev, ino: file.ino, birthtimeNs: file.birthtimeNs, generation: 0, chunkSize: spec.chunkSize }, { recovering: false, epoch });
      t = spec.createdAt + 2000;
      await store.observe(spec.id, { size: file.size, mtimeNs: file.mtimeNs, idle: true });
      await store.plan(spec.id, file.size);
      t += 500;
      for (let index = 0; index < spec.chunks; index += 1) await store.recordChunk({ id: spec.id, chunkSize: spec.chunkSize }, index, StreamSeeder.recordOf(spec, index));
      t += 500;
      await store.takeReady(t, 1);
      const stream = await store.get(spec.id);
      if (stream === undefined || (await store.complete(stream, 1, { ctimeNs: file.ctimeNs })) !== 'complete') throw new Error(`seeding: stream ${spec.id} did not complete`);
      if (spec.goneAgoMs === undefined) return;
      t = this.now - spec.goneAgoMs;
      await store.retire(stream, 'file deleted');
    });
    // the ready sweep takes every stream whose last chunk is in (SPOP): none is left there
    const store = this.store;
    while ((await this.redis.scard(store.keys.ready())) > 0) await store.takeReady(Date.now(), 1000);
  }

  /**
   * `count` live streams, being uploaded now: each a file of 2.5 chunks in `watchDir` (sparse),
   * seen idle by the watcher, all its chunks enqueued, the first one uploaded. Returns their ids.
   */
  async seedLive(count: number, watchDir: string): Promise<string[]> {
    const epoch = await this.knownEpoch();
    const store = this.store;
    const ids: string[] = [];
    for (let i = 0; i < count; i += 1) {
      const relative = `live/cam-${String(i).padStart(2, '0')}.mp4`;
      await mkdir(path.join(watchDir, 'live'), { recursive: true });
      await writeFile(path.join(watchDir, relative), '');
      await truncate(path.join(watchDir, relative), Math.floor(2.5 * this.chunkSize));
      const file = await readFacts(watchDir, relative);
      if (!isFileFacts(file)) throw new Error(`seeding: ${relative} is not a regular file`);
      const id = streamIdFor(file, 0);
      await store.create({ id, path: file.path, dev: file.dev, ino: file.ino, birthtimeNs: file.birthtimeNs, generation: 0, chunkSize: this.chunkSize }, { recovering: false, epoch });
      await store.observe(id, { size: file.size, mtimeNs: file.mtimeNs, idle: true });
      await store.plan(id, file.size);
      const spec = { id, file, chunkSize: this.chunkSize, chunks: Math.ceil(file.size / this.chunkSize), createdAt: Date.now() };
      await store.recordChunk({ id, chunkSize: this.chunkSize }, 0, StreamSeeder.recordOf(spec, 0));
      ids.push(id);
    }
    return ids;
  }

  /** Reads a seeded finished stream back through the store and says what differs from what vcu would have left. */
  async check(spec: FinishedSpec): Promise<SeededCheck> {
    const store = this.store;
    const [stream, chunks, current, goneAt, listed] = await Promise.all([
      store.get(spec.id),
      store.chunks(spec.id),
      store.currentOf(spec.file.path),
      this.redis.zscore(store.keys.gone(), spec.id),
      this.redis.zscore(store.keys.all(), spec.id),
    ]);
    const problems: string[] = [];
    const expect = (what: string, actual: unknown, wanted: unknown): void => {
      if (actual !== wanted) problems.push(`${what}: ${String(actual)}, expected ${String(wanted)}`);
    };
    expect('status', stream?.status, 'complete');
    const fields: (keyof FileFacts & keyof StreamRecord)[] = ['path', 'dev', 'ino', 'birthtimeNs', 'size', 'mtimeNs'];
    for (const f of fields) expect(f, stream?.[f], spec.file[f]);
    expect('chunkSize', stream?.chunkSize, spec.chunkSize);
    expect('plannedBytes', stream?.plannedBytes, spec.file.size);
    expect('committedBytes', stream?.committedBytes, spec.file.size);
    expect('committedChunks', stream?.committedChunks, spec.chunks);
    expect('revision', stream?.revision, 1);
    expect('createdAt', stream?.createdAt, spec.createdAt);
    expect('completedAt', stream?.completedAt, spec.createdAt + 3000);
    expect('recovered', stream?.recovered, false);
    expect('chunk records kept', chunks.size, 0);
    expect('in streams:all at', Number(listed), spec.createdAt);
    expect('path points at it', current?.id, spec.goneAgoMs === undefined ? spec.id : undefined);
    expect('in streams:gone at', goneAt === null ? undefined : Number(goneAt), spec.goneAgoMs === undefined ? undefined : this.now - spec.goneAgoMs);
    return { id: spec.id, problems };
  }
}
