import { type Job, UnrecoverableError } from 'bullmq';
import { absoluteIn } from '@vcu/core';
import type { Logger } from '@vcu/logger';
import type { UploadChunkPayload } from '@vcu/queue';
import type { StreamStore } from '@vcu/state';
import { type Target, chunkKey, headObject, putChunk } from '@vcu/storage';
import { ChunkGoneError, readChunk } from '../read.js';
import { describeFailure } from '../runtime.js';

export interface UploadChunkDeps {
  readonly watchDir: string;
  readonly s3Prefix: string;
  readonly store: StreamStore;
  readonly target: Target;
  readonly logger: Logger;
  /** Asks for a finalize sweep now: the stream's last chunk is in (instead of waiting for the schedule). */
  readonly requestFinalize?: (streamId: string) => Promise<void>;
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
export function createUploadChunk({ watchDir, s3Prefix, store, target, logger, events, requestFinalize }: UploadChunkDeps) {
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

    const stream = await store.get(streamId);
    if (stream === undefined) return done({ outcome: 'skipped', reason: 'stream unknown (its state was lost; the watcher re-plans it)' });
    if (stream.status === 'aborted') return done({ outcome: 'skipped', reason: `stream aborted (${stream.reason ?? 'no reason'})` });

    let bytes;
    const readAt = Date.now();
    try {
      bytes = await readChunk(absoluteIn(watchDir, stream.path), job.data.ino, offset, stream.chunkSize);
    } catch (err) {
      if (err instanceof ChunkGoneError && (err.reason === 'file deleted' || err.reason === 'unreadable')) {
        const previous = await store.retire(stream, err.reason);
        if (previous === 'active') log.warn(`stream aborted: ${err.message}`, { ...context, reason: err.reason });
      }
      throw err;
    }

    const key = chunkKey(s3Prefix, streamId, index);
    const known = await store.chunk(streamId, index);
    if (known !== undefined && known.size === bytes.body.length && known.sha256 === bytes.sha256) {
      return done({ outcome: 'skipped', reason: 'already uploaded with these bytes' });
    }
    if (known === undefined && stream.recovered) {
      // state was rebuilt after Redis lost it: the object may already hold these exact bytes
      const head = await headObject(target, key);
      if (head !== undefined && head.size === bytes.body.length && head.sha256 === bytes.sha256) {
        const committed = await store.recordChunk(stream, index, {
          size: head.size,
          sha256: head.sha256,
          etag: head.etag,
          uploadedAt: new Date().toISOString(),
          readAt,
        });
        return done({ outcome: 'skipped', reason: `already in S3 with these bytes (committed ${String(committed)})` });
      }
    }

    const etag = await putChunk(target, { key, body: bytes.body, md5: bytes.md5, sha256: bytes.sha256 });
    const committed = await store.recordChunk(stream, index, {
      size: bytes.body.length,
      sha256: bytes.sha256,
      etag,
      uploadedAt: new Date().toISOString(),
      readAt,
    });
    if (committed === 'aborted' || committed === 'missing') {
      return done({ outcome: 'skipped', reason: `uploaded, but the stream is ${committed} now` });
    }
    // the whole planned file is in: finalize need not wait for its next scheduled sweep
    if (stream.plannedBytes > 0 && stream.plannedBytes === stream.size && committed * stream.chunkSize >= stream.size) {
      await requestFinalize?.(streamId);
    }
    return done({ outcome: 'uploaded', size: bytes.body.length, sha256: bytes.sha256, committedChunks: committed });
  }
}
