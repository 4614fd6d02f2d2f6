import { type Job, UnrecoverableError } from 'bullmq';
import { absoluteIn } from '@vcu/files';
import type { Logger } from '@vcu/logger';
import type { UploadChunkPayload } from '@vcu/queue';
import type { StreamStore } from '@vcu/state';
import { type Target, chunkKey, headObject, putChunk } from '@vcu/storage';
import type { BufferPool } from '../buffers.js';
import { ChunkGoneError, readChunk } from '../read.js';
import { describeFailure } from '../runtime.js';

export interface UploadChunkDeps {
  readonly watchDir: string;
  readonly s3Prefix: string;
  readonly store: StreamStore;
  readonly target: Target;
  readonly logger: Logger;
  /** The buffers chunks are read into: one per chunk in flight. */
  readonly buffers: BufferPool;
  /** Also send Content-MD5 and check the ETag (S3_CONTENT_MD5). */
  readonly contentMd5?: boolean;
  /** Asks for a sweep of the ready streams now: a stream's last chunk is in (instead of waiting for the schedule). */
  readonly requestFinalize?: () => Promise<void>;
  /** Told of every outcome: metrics and the S3 health tracker listen here. */
  readonly events?: {
    uploaded?(bytes: number, seconds: number): void;
    failed?(err: unknown, final: boolean): void;
  };
}

export type UploadOutcome =
  | { readonly outcome: 'uploaded'; readonly size: number; readonly sha256: string; readonly committedChunks: number }
  | { readonly outcome: 'skipped'; readonly reason: string };

/**
 * Uploads one chunk and records it. Three outcomes, kept apart: returns when done or when there
 * is nothing to do (stream aborted, bytes already in S3); throws for transient failures (BullMQ
 * retries with capped backoff); throws UnrecoverableError when the file is gone for good.
 */
export function createUploadChunk(deps: UploadChunkDeps) {
  const { watchDir, s3Prefix, store, target, logger, events, requestFinalize, buffers, contentMd5 = false } = deps;
  const log = logger.child({ module: 'upload' });

  return async function uploadChunk(job: Job<UploadChunkPayload>): Promise<UploadOutcome> {
    const started = performance.now();
    try {
      return await attempt(job, started);
    } catch (err) {
      const attempts = job.opts.attempts ?? 1;
      const final = err instanceof UnrecoverableError || job.attemptsMade + 1 >= attempts;
      events?.failed?.(err, final);
      log.log(final ? 'error' : 'warn', final ? 'chunk failed for good' : 'chunk upload failed; it will be retried', {
        stream: job.data.streamId,
        path: job.data.path,
        chunk: job.data.index,
        attempt: `${job.attemptsMade + 1}/${attempts}`,
        ms: Math.round(performance.now() - started),
        ...describeFailure(err),
      });
      throw err;
    }
  };

  async function attempt(job: Job<UploadChunkPayload>, started: number): Promise<UploadOutcome> {
    const { streamId, index, offset } = job.data;
    const context = {
      stream: streamId,
      path: job.data.path,
      chunk: index,
      attempt: `${job.attemptsMade + 1}/${job.opts.attempts ?? 1}`,
    };
    const done = (outcome: UploadOutcome): UploadOutcome => {
      const ms = Math.round(performance.now() - started);
      if (outcome.outcome === 'uploaded') {
        events?.uploaded?.(outcome.size, ms / 1000);
        log.info('chunk uploaded', { ...context, bytes: outcome.size, ms, committed: outcome.committedChunks });
      } else {
        log.info(`chunk skipped: ${outcome.reason}`, { ...context, ms });
      }
      return outcome;
    };

    // both reads go out at once: one round trip to Redis, not two
    const [stream, known] = await Promise.all([store.get(streamId), store.chunk(streamId, index)]);
    if (stream === undefined) return done({ outcome: 'skipped', reason: 'stream unknown (its state was lost; the watcher re-plans it)' });
    if (stream.status === 'aborted') return done({ outcome: 'skipped', reason: `stream aborted (${stream.reason ?? 'no reason'})` });

    // a stream planned with a larger CHUNK_SIZE than this worker's (the setting changed) gets a buffer of its own
    const withBuffer = <T>(work: (buffer: Buffer) => Promise<T>): Promise<T> =>
      stream.chunkSize <= buffers.size ? buffers.with(work) : work(Buffer.allocUnsafe(stream.chunkSize));
    const sent = await withBuffer(async (buffer) => {
      const readAt = Date.now();
      let bytes;
      try {
        bytes = await readChunk(absoluteIn(watchDir, stream.path), job.data.ino, offset, stream.chunkSize, buffer, { md5: contentMd5 });
      } catch (err) {
        if (err instanceof ChunkGoneError && (err.reason === 'file deleted' || err.reason === 'unreadable')) {
          const previous = await store.retire(stream, err.reason);
          if (previous === 'active') log.warn(`stream aborted: ${err.message}`, { ...context, reason: err.reason });
        }
        throw err;
      }
      const size = bytes.body.length;
      const { sha256 } = bytes;
      if (known !== undefined && known.size === size && known.sha256 === sha256) {
        return { skipped: 'already uploaded with these bytes' } as const;
      }
      const key = chunkKey(s3Prefix, streamId, index);
      if (known === undefined && stream.recovered) {
        // state was rebuilt after Redis lost it: the object may already hold these exact bytes
        const head = await headObject(target, key);
        if (head !== undefined && head.size === size && head.sha256 === sha256) {
          return { size, sha256, etag: head.etag, readAt, existed: true } as const;
        }
      }
      const etag = await putChunk(target, { key, body: bytes.body, md5: bytes.md5, sha256 });
      return { size, sha256, etag, readAt, existed: false } as const;
    });
    if (sent.skipped !== undefined) return done({ outcome: 'skipped', reason: sent.skipped });

    const recorded = await store.recordChunk(stream, index, {
      size: sent.size,
      sha256: sent.sha256,
      etag: sent.etag,
      uploadedAt: new Date().toISOString(),
      readAt: sent.readAt,
    });
    if (recorded === 'aborted' || recorded === 'missing') {
      return done({ outcome: 'skipped', reason: `uploaded, but the stream is ${recorded} now` });
    }
    // the whole planned file is in (the store put it in the ready set): ask for a sweep now rather
    // than wait for the scheduled one; if asking fails, that scheduled sweep still takes it
    if (recorded.ready) {
      await requestFinalize?.().catch((err: unknown) => log.warn('could not ask for a finalize sweep; the scheduled one follows', { ...context, err }));
    }
    if (sent.existed) return done({ outcome: 'skipped', reason: `already in S3 with these bytes (committed ${recorded.committed})` });
    return done({ outcome: 'uploaded', size: sent.size, sha256: sent.sha256, committedChunks: recorded.committed });
  }
}
