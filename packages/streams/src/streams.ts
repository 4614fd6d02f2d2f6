import { type FileFacts, PLAN_WINDOW_CHUNKS, type VersionDecision, decideVersion, planChunks, streamIdFor } from '@vcu/domain';
import { type Logger, logEvent } from '@vcu/logger';
import { type Queues, enqueueChunks } from '@vcu/queue';
import { LruMap } from '@vcu/runtime';
import type { Provenance, Sighting, StreamRecord, StreamStatus, StreamStore } from '@vcu/state';

export interface StreamsDeps {
  readonly store: StreamStore;
  readonly queues: Pick<Queues, 'chunks'>;
  /** CHUNK_SIZE of new streams; a stream keeps the chunk size it was started with. */
  readonly chunkSize: number;
  readonly logger: Logger;
  /** Chunks planned ahead of a stream's committed prefix (default {@link PLAN_WINDOW_CHUNKS}). */
  readonly window?: number;
}

export interface ObserveOptions {
  /** The file has not changed for STREAM_IDLE_MS (or was sealed): plan the last, partial chunk too. */
  readonly idle: boolean;
  /**
   * Seen during a start-up scan or a rescan after Redis lost its data: the file's chunks may
   * already be in S3, so its stream is marked recovered (workers check S3 before uploading).
   */
  readonly recovering: boolean;
  /**
   * The epoch marker the caller saw last, taken before it looked at the file: a stream created
   * after Redis lost its data, before the caller noticed, is marked recovered all the same.
   */
  readonly epoch?: string | undefined;
  /**
   * Reads the file again: asked when the facts given disagree with the stream Redis knows. They
   * were read before that stream, and another process (a worker's finalize, the watcher after a
   * restart) may have recorded a newer look at the file in between: compared with it, a file
   * that only grew would look truncated. Undefined when the file is gone or no longer a file.
   */
  readonly reread?: () => Promise<FileFacts | undefined>;
}

export interface Observation {
  readonly stream: StreamRecord;
  readonly enqueued: number;
  readonly decision: ReturnType<typeof decideVersion>['kind'];
}

/** What a stream is planned from: the file it reads and how far its chunks are. */
export interface Progress {
  readonly size: number;
  readonly plannedBytes: number;
  readonly committedBytes: number;
  readonly idle: boolean;
}

/** Why a stream ends before its upload finished (or after it, for a file removed later). */
export type RetireReason = 'file deleted' | 'unreadable' | 'replaced' | 'truncated' | `not a regular file: ${string}`;

/** Paths whose last stream id is remembered (a guess that saves a round trip, see StreamStore.currentOf), the least recently looked at dropped first. */
const REMEMBERED_PATHS = 10_000;

/**
 * The one owner of a stream's lifecycle: a stream starts for a file version, its chunk jobs are
 * planned in windows as the file grows and as chunks are uploaded, and it is retired when its file
 * goes away. Every event is logged here, once, in one wording. (Completing a stream is finalize's:
 * it writes metadata.json.) Callers serialize calls per path.
 */
export class Streams {
  private readonly store: StreamStore;
  private readonly queues: Pick<Queues, 'chunks'>;
  private readonly chunkSize: number;
  private readonly window: number;
  private readonly log: Logger;
  /** The stream id each path pointed at when last looked at. */
  private readonly lastIds = new LruMap<string, string>(REMEMBERED_PATHS);

  constructor({ store, queues, chunkSize, logger, window = PLAN_WINDOW_CHUNKS }: StreamsDeps) {
    this.store = store;
    this.queues = queues;
    this.chunkSize = chunkSize;
    this.window = window;
    this.log = logger.child({ module: 'streams' });
  }

  /**
   * Whether observing `file` now, not idle, would only record a sighting: no stream of its path is
   * known here and it holds no whole chunk to plan (its only chunk waits for the file to be idle).
   */
  recordsOnly(file: Pick<FileFacts, 'path' | 'size'>): boolean {
    return file.size < this.chunkSize && !this.lastIds.has(file.path);
  }

  /**
   * The stream of this file version: created with `seen` as its first sighting, or the active one
   * of that id found in Redis (`created` false: it still needs the sighting recorded).
   */
  private async start(file: FileFacts, generation: number, provenance: Provenance, seen: Sighting): Promise<{ readonly stream: StreamRecord; readonly created: boolean }> {
    // an id already taken by an older, finished version (inode reuse on a filesystem without
    // birth times) must not be reused: its objects belong to that version
    for (let g = generation; ; g += 1) {
      const id = streamIdFor(file, g);
      const started = await this.store.create({ id, path: file.path, dev: file.dev, ino: file.ino, birthtimeNs: file.birthtimeNs, generation: g, chunkSize: this.chunkSize }, provenance, seen);
      if (started === 'taken') continue;
      logEvent(this.log, 'stream.started', { path: file.path, stream: id, size: file.size, generation: g });
      return started;
    }
  }

  /**
   * Enqueues the chunks of `stream` that exist now and fit the window ahead of its committed
   * prefix, then records how far it is planned. Jobs come first: a chunk planned but never
   * enqueued would wait for finalize's safety net. Returns how many jobs were added.
   */
  async advance(stream: Pick<StreamRecord, 'id' | 'path' | 'ino' | 'chunkSize'>, progress: Progress): Promise<number> {
    const plan = planChunks({ ...progress, chunkSize: stream.chunkSize, window: this.window });
    if (plan.chunks.length === 0) return 0;
    await enqueueChunks(
      this.queues.chunks,
      plan.chunks.map((c) => ({ streamId: stream.id, path: stream.path, ino: stream.ino, ...c, reason: 'grow' as const })),
    );
    await this.store.plan(stream.id, plan.plannedBytes);
    logEvent(this.log, 'chunks.enqueued', { path: stream.path, stream: stream.id, from: plan.chunks[0]?.index, count: plan.chunks.length });
    return plan.chunks.length;
  }

  /**
   * Ends a stream whose file is gone, replaced or unreadable: an unfinished one is aborted (its
   * remaining jobs end without retries), a finished one stays as it is. Returns the status it had.
   */
  async retire(stream: Pick<StreamRecord, 'id' | 'path'>, reason: RetireReason): Promise<StreamStatus | 'missing'> {
    const previous = await this.store.retire(stream, reason);
    if (previous === 'active') logEvent(this.log, 'stream.aborted', { path: stream.path, stream: stream.id, reason });
    else if (previous === 'complete' && reason === 'file deleted') logEvent(this.log, 'stream.kept', { path: stream.path, stream: stream.id });
    return previous;
  }

  /**
   * Turns "this is what the file looks like now" into stream state and chunk jobs: identify the
   * version, start a new stream if it changed, record the sighting, enqueue the chunks that now
   * exist. Used by the watcher on every file event and by finalize when it finds a file that
   * moved on without the watcher noticing.
   */
  async observe(given: FileFacts, options: ObserveOptions): Promise<Observation | undefined> {
    const known = await this.currentOf(given.path);
    const decided = await this.decide(known, given, options);
    if (decided === undefined) return undefined;
    const { decision, file } = decided;
    // a file read again because it changed is not idle: it changed a moment ago
    const idle = options.idle && file === given;
    const sighting: Sighting = { size: file.size, mtimeNs: file.mtimeNs, ctimeNs: file.ctimeNs, idle };
    let stream: StreamRecord;
    /** What a stream created just now with this sighting holds: nothing planned nor committed. */
    let created: Awaited<ReturnType<StreamStore['observe']>> | undefined;
    if (decision.kind === 'same' && known !== undefined) {
      stream = known;
    } else {
      // a stream retired already (aborted, or its file emptied) is not retired again
      if (known !== undefined && known.status !== 'aborted' && known.reason !== 'truncated') {
        const previous = await this.store.retire(known, decision.kind);
        logEvent(this.log, 'stream.superseded', { path: file.path, change: decision.kind, previousStream: known.id, previousStatus: previous });
      }
      // an empty file has nothing to upload: no stream until it has bytes (a recorder that has
      // just opened its file, or one truncated to zero before it is written again)
      if (file.size === 0) return undefined;
      const generation = decision.kind === 'same' ? 0 : decision.generation;
      // a stream created while recovering is recovered whatever the change (as observing it marks it)
      const started = await this.start(file, generation, { recovering: options.recovering, epoch: options.epoch }, sighting);
      stream = started.stream;
      this.lastIds.set(file.path, stream.id);
      if (started.created) created = { status: 'active', reopened: false, plannedBytes: 0, committedBytes: 0 };
    }
    if (stream.status === 'aborted') return undefined;

    // the sighting first: a worker that takes one of the jobs below must find the stream active
    // and as large as the file it reads (a stream created just now was created with it)
    const seen = created ?? (await this.store.observe(stream.id, sighting, options.recovering));
    if (seen.status === 'missing' || seen.status === 'aborted') return undefined;
    if (seen.reopened) logEvent(this.log, 'stream.reopened', { path: file.path, stream: stream.id, size: file.size });
    const enqueued = await this.advance(stream, { size: file.size, plannedBytes: seen.plannedBytes, committedBytes: seen.committedBytes, idle });
    return { stream, enqueued, decision: decision.kind };
  }

  /**
   * The version decision, on facts read after `known`: when the facts given say the file changed
   * version, the file is read again first (see {@link ObserveOptions.reread}), so that a look older
   * than Redis's record never passes for a truncation or a replacement. Undefined when the file
   * went away meanwhile (its removal is handled by whoever sees it).
   */
  private async decide(known: StreamRecord | undefined, given: FileFacts, options: ObserveOptions): Promise<{ decision: VersionDecision; file: FileFacts } | undefined> {
    const decision = decideVersion(known, given);
    // 'restarted' (the known stream was aborted) holds whatever the look's age
    if (decision.kind === 'same' || decision.kind === 'restarted' || known === undefined || options.reread === undefined) return { decision, file: given };
    const file = await options.reread();
    if (file === undefined) return undefined;
    const unchanged = file.size === given.size && file.mtimeNs === given.mtimeNs && file.ctimeNs === given.ctimeNs && file.ino === given.ino && file.dev === given.dev && file.birthtimeNs === given.birthtimeNs;
    return { decision: decideVersion(known, file), file: unchanged ? given : file };
  }

  /** The file at `path` was removed: its current stream, if any, is retired. */
  async removed(path: string): Promise<void> {
    const stream = await this.currentOf(path);
    this.lastIds.delete(path);
    if (stream !== undefined) await this.retire(stream, 'file deleted');
  }

  /** The stream `path` points at now, read with the id it pointed at last as a guess; the answer is remembered. */
  private async currentOf(path: string): Promise<StreamRecord | undefined> {
    const stream = await this.store.currentOf(path, this.lastIds.get(path));
    if (stream === undefined) this.lastIds.delete(path);
    else this.lastIds.set(path, stream.id);
    return stream;
  }
}

export function createStreams(deps: StreamsDeps): Streams {
  return new Streams(deps);
}
