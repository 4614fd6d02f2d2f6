import type { Logger } from '@vcu/logger';
import { type Queues, enqueueChunks } from '@vcu/queue';
import type { Provenance, StreamRecord, StreamStore } from '@vcu/state';
import { type FileFacts, decideVersion, planChunks, streamIdFor } from '@vcu/domain';

export interface ObserverDeps {
  readonly store: StreamStore;
  readonly queues: Pick<Queues, 'chunks'>;
  readonly chunkSize: number;
  readonly logger: Logger;
}

export interface ObserveOptions {
  /** The file has not changed for STREAM_IDLE_MS: enqueue the last, partial chunk too. */
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
}

export interface Observation {
  readonly stream: StreamRecord;
  readonly enqueued: number;
  readonly decision: ReturnType<typeof decideVersion>['kind'];
}

/**
 * Turns "this is what the file looks like now" into stream state and chunk jobs: identify the
 * version, start a new stream if it changed, enqueue the chunks that now exist, record the
 * sighting. Used by the watcher on every file event and by finalize when it finds a file that
 * moved on without the watcher noticing. Callers serialize calls per path.
 */
export function createObserver({ store, queues, chunkSize, logger }: ObserverDeps) {
  const log = logger.child({ module: 'observe' });

  async function startStream(file: FileFacts, generation: number, provenance: Provenance): Promise<StreamRecord> {
    // an id already taken by an older, finished version (inode reuse on a filesystem without
    // birth times) must not be reused: its objects belong to that version
    for (let g = generation; ; g += 1) {
      const id = streamIdFor(file, g);
      const existing = await store.get(id);
      if (existing !== undefined && existing.status !== 'active') continue;
      await store.create({ id, path: file.path, ino: file.ino, birthtimeNs: file.birthtimeNs, generation: g, chunkSize }, provenance);
      const stream = await store.get(id);
      if (stream === undefined) throw new Error(`stream ${id} vanished right after it was created`);
      return stream;
    }
  }

  return async function observe(file: FileFacts, options: ObserveOptions): Promise<Observation | undefined> {
    const known = await store.currentOf(file.path);
    const decision = decideVersion(known, file);
    let stream: StreamRecord;
    if (decision.kind === 'same' && known !== undefined) {
      stream = known;
    } else {
      if (known !== undefined && known.status !== 'aborted') {
        const previous = await store.retire(known, decision.kind);
        log.info(`file ${decision.kind}: a new stream starts; the earlier one's objects stay as they are`, {
          path: file.path,
          previousStream: known.id,
          previousStatus: previous,
        });
      }
      // an empty file has nothing to upload: no stream until it has bytes (a recorder that has
      // just opened its file, or one truncated to zero before it is written again)
      if (file.size === 0) return undefined;
      const generation = decision.kind === 'same' ? 0 : decision.generation;
      stream = await startStream(file, generation, { recovering: options.recovering && decision.kind === 'new', epoch: options.epoch });
      log.info('stream started', { path: file.path, stream: stream.id, size: file.size, generation: stream.generation });
    }
    if (stream.status === 'aborted') return undefined;

    const plan = planChunks({ size: file.size, chunkSize: stream.chunkSize, plannedBytes: stream.plannedBytes, idle: options.idle });
    await enqueueChunks(
      queues.chunks,
      plan.chunks.map((c) => ({ streamId: stream.id, path: file.path, ino: file.ino, ...c, reason: 'grow' as const })),
    );
    const seen = await store.observe(stream.id, { size: file.size, mtimeNs: file.mtimeNs, plannedBytes: plan.plannedBytes }, options.recovering);
    if (seen.reopened) {
      log.info('file changed after its metadata was written: the stream is reopened for a new revision', {
        path: file.path,
        stream: stream.id,
        size: file.size,
      });
    }
    if (plan.chunks.length > 0) {
      log.debug('chunks enqueued', { path: file.path, stream: stream.id, from: plan.chunks[0]?.index, count: plan.chunks.length });
    }
    return { stream, enqueued: plan.chunks.length, decision: decision.kind };
  };
}

export type Observe = ReturnType<typeof createObserver>;
