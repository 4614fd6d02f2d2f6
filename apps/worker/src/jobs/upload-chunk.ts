import { type Job, UnrecoverableError } from 'bullmq';
import { absoluteIn, type OpenedFile } from '@vcu/files';
import { type EventName, type Logger, describeError, logEvent } from '@vcu/logger';
import type { UploadChunkPayload } from '@vcu/queue';
import type { ChunkRecord, StreamRecord, StreamStore } from '@vcu/state';
import { type Target, chunkKey, headObject, putChunk, putStreamedChunk } from '@vcu/storage';
import type { Streams } from '@vcu/streams';
import type { BufferPool } from '../buffers.js';
import { ChunkGoneError, chunkLength, hashRange, openChunkFile, readChunk, verifiedRange } from '../read.js';
import { describeFailure, isPermanentFailure } from '../runtime.js';

export interface UploadChunkDeps {
  readonly watchDir: string;
  readonly s3Prefix: string;
  readonly store: StreamStore;
  readonly streams: Pick<Streams, 'advance' | 'retire'>;
  readonly target: Target;
  readonly logger: Logger;
  /** The buffers chunks of streams of up to `multipart.above` bytes a chunk are read into: one per chunk in flight. */
  readonly buffers: BufferPool;
  /** Also send Content-MD5 and check the ETag (S3_CONTENT_MD5). */
  readonly contentMd5?: boolean;
  /** The chunks of a stream whose chunk size is above `above` are streamed as multipart uploads of `partSize` parts (MULTIPART_ABOVE, MULTIPART_PART_SIZE). */
  readonly multipart: { readonly above: number; readonly partSize: number };
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
  | { readonly outcome: 'skipped'; readonly why: string };

/** A chunk job that does not match its stream's own record (forged, or from a stale plan): never run. */
export class JobRefusedError extends UnrecoverableError {
  override name = 'JobRefusedError';
}

/** What reading and sending a chunk did. */
type Sent =
  | { readonly skipped: string }
  | { readonly skipped?: undefined; readonly size: number; readonly sha256: string; readonly etag: string; readonly readAt: number; readonly existed: boolean };

/**
 * Why a chunk job must not run, or undefined when it matches the stream Redis knows. The worker
 * trusts the stream's record, not the job: the path, device and inode it reads come from the
 * record, and a job whose chunk is not one of the stream's is refused without touching S3.
 */
export function refusal(job: UploadChunkPayload, stream: StreamRecord): string | undefined {
  const { index, offset, size } = job;
  if (!Number.isSafeInteger(index) || index < 0) return `chunk index ${String(index)} is not a whole number`;
  if (offset !== index * stream.chunkSize) return `offset ${String(offset)} is not chunk ${index} × ${stream.chunkSize} bytes`;
  if (!Number.isSafeInteger(size) || size <= 0 || size > stream.chunkSize) return `size ${String(size)} is not within one chunk of ${stream.chunkSize} bytes`;
  if (offset + size > stream.size) return `bytes ${offset}..${offset + size} are past the end of the file as seen (${stream.size} bytes)`;
  if (job.path !== stream.path || job.ino !== stream.ino) return 'its file is not the stream\'s file';
  if (stream.status === 'complete') return 'the stream is complete and its file unchanged: nothing to upload';
  return undefined;
}

/**
 * Uploads one chunk and records it. Three outcomes, kept apart: returns when done or when there
 * is nothing to do (stream aborted, bytes already in S3); throws for transient failures (BullMQ
 * retries with capped backoff); throws UnrecoverableError when the chunk can never be uploaded
 * (the file is gone, the job is not one of the stream's, or the failure is permanent).
 */
export function createUploadChunk(deps: UploadChunkDeps) {
  const { watchDir, s3Prefix, store, streams, target, logger, events, requestFinalize, buffers, contentMd5 = false, multipart } = deps;
  const log = logger.child({ module: 'upload' });

  /** The fields every line about this job carries; the attempt only when it is a retry. */
  function contextOf(job: Job<UploadChunkPayload>): Record<string, unknown> {
    const attempts = job.opts.attempts ?? 1;
    return {
      stream: job.data.streamId,
      path: job.data.path,
      chunk: job.data.index,
      ...(job.attemptsMade > 0 ? { attempt: `${job.attemptsMade + 1}/${attempts}` } : {}),
    };
  }

  function failed(job: Job<UploadChunkPayload>, err: unknown, started: number): unknown {
    const permanent = isPermanentFailure(err);
    const final = permanent || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    events?.failed?.(err, final);
    const event: EventName = err instanceof JobRefusedError ? 'chunk.refused' : final ? 'chunk.failed' : 'chunk.retrying';
    logEvent(log, event, { ...contextOf(job), ms: Math.round(performance.now() - started), ...describeFailure(err) });
    // a failure no retry can mend ends the job now, rather than after 20,000 attempts
    return permanent && !(err instanceof UnrecoverableError) ? new UnrecoverableError(`permanent failure: ${describeError(err)}`) : err;
  }

  return async function uploadChunk(job: Job<UploadChunkPayload>): Promise<UploadOutcome> {
    const started = performance.now();
    try {
      const outcome = await attempt(job);
      const ms = Math.round(performance.now() - started);
      if (outcome.outcome === 'uploaded') {
        events?.uploaded?.(outcome.size, ms / 1000);
        logEvent(log, 'chunk.uploaded', { ...contextOf(job), bytes: outcome.size, ms, committed: outcome.committedChunks });
      } else {
        logEvent(log, 'chunk.skipped', { ...contextOf(job), why: outcome.why, ms });
      }
      return outcome;
    } catch (err) {
      throw failed(job, err, started);
    }
  };

  async function attempt(job: Job<UploadChunkPayload>): Promise<UploadOutcome> {
    const { streamId, index } = job.data;
    // both reads go out at once: one round trip to Redis, not two
    const [stream, known] = await Promise.all([store.get(streamId), store.chunk(streamId, index)]);
    if (stream === undefined) return { outcome: 'skipped', why: 'stream unknown (its state was lost; the watcher plans it again)' };
    if (stream.status === 'aborted') return { outcome: 'skipped', why: `stream aborted (${stream.reason ?? 'no reason'})` };
    const refused = refusal(job.data, stream);
    if (refused !== undefined) throw new JobRefusedError(`chunk job refused: ${refused}`);

    let sent: Sent;
    try {
      sent = await send(stream, index, known);
    } catch (err) {
      if (err instanceof ChunkGoneError && err.reason !== 'replaced' && err.reason !== 'truncated') await streams.retire(stream, err.reason);
      throw err;
    }
    if (sent.skipped !== undefined) return { outcome: 'skipped', why: sent.skipped };
    return record(stream, index, sent);
  }

  /** Reads the chunk from the stream's own file and puts it in S3 unless those bytes are there already. */
  async function send(stream: StreamRecord, index: number, known: ChunkRecord | undefined): Promise<Sent> {
    const file = absoluteIn(watchDir, stream.path);
    const readAt = Date.now();
    const opened = await openChunkFile(file, { dev: stream.dev, ino: stream.ino });
    try {
      const offset = index * stream.chunkSize;
      const size = chunkLength(Number(opened.stats.size), offset, stream.chunkSize, file);
      const key = chunkKey(s3Prefix, stream.id, index);
      const check = { stream, known, file, key, size, readAt };
      // by the stream's chunk size, not this chunk's: a partial last chunk of a big-chunk stream is
      // streamed too, so a worker's memory per chunk never passes 5 parts
      return stream.chunkSize > multipart.above ? await sendStreamed(opened, offset, check) : await sendBuffered(opened, offset, check);
    } finally {
      await opened.handle.close();
    }
  }

  interface Check {
    readonly stream: StreamRecord;
    readonly known: ChunkRecord | undefined;
    readonly file: string;
    readonly key: string;
    readonly size: number;
    readonly readAt: number;
  }

  /** Whether S3 already holds these bytes: by this stream's record, or (a recovered stream) by asking S3. */
  async function alreadyThere({ stream, known, key, size, readAt }: Check, sha256: string): Promise<Sent | undefined> {
    if (known !== undefined && known.size === size && known.sha256 === sha256) return { skipped: 'already uploaded with these bytes' };
    if (known !== undefined || !stream.recovered) return undefined;
    // state was rebuilt after Redis lost it: the object may already hold these exact bytes
    const head = await headObject(target, key);
    if (head?.size === size && head.sha256 === sha256) return { size, sha256, etag: head.etag, readAt, existed: true };
    return undefined;
  }

  async function sendBuffered(opened: OpenedFile, offset: number, check: Check): Promise<Sent> {
    return buffers.with(check.size, async (buffer) => {
      const bytes = await readChunk(opened, check.file, offset, check.size, buffer, { md5: contentMd5 });
      const there = await alreadyThere(check, bytes.sha256);
      if (there !== undefined) return there;
      const etag = await putChunk(target, { key: check.key, body: bytes.body, md5: bytes.md5, sha256: bytes.sha256 });
      return { size: check.size, sha256: bytes.sha256, etag, readAt: check.readAt, existed: false };
    });
  }

  /**
   * A chunk too big for one buffer: hashed in a first pass (the object's metadata holds the hash,
   * and it is set when the upload begins), then streamed as a multipart upload whose bytes are
   * checked against that hash on the way (a change aborts the upload).
   */
  async function sendStreamed(opened: OpenedFile, offset: number, check: Check): Promise<Sent> {
    const sha256 = await hashRange(opened.handle, offset, check.size, check.file);
    const there = await alreadyThere(check, sha256);
    if (there !== undefined) return there;
    const body = verifiedRange(opened.handle, offset, check.size, sha256);
    const etag = await putStreamedChunk(target, { key: check.key, body, size: check.size, sha256, partSize: multipart.partSize });
    return { size: check.size, sha256, etag, readAt: check.readAt, existed: false };
  }

  /** Records the uploaded chunk, plans the stream's next chunks, and asks for finalize when it is all in. */
  async function record(stream: StreamRecord, index: number, sent: Exclude<Sent, { skipped: string }>): Promise<UploadOutcome> {
    const recorded = await store.recordChunk(stream, index, {
      size: sent.size,
      sha256: sent.sha256,
      etag: sent.etag,
      uploadedAt: new Date().toISOString(),
      readAt: sent.readAt,
    });
    if (recorded === 'aborted' || recorded === 'missing') return { outcome: 'skipped', why: `uploaded, but the stream is ${recorded} now` };
    // the window of planned chunks slides on as the committed prefix grows; if this fails, the
    // next chunk recorded or finalize's sweep plans them
    await streams.advance(stream, recorded).catch((err: unknown) => logEvent(log, 'chunks.plan-failed', { stream: stream.id, path: stream.path, err }));
    // the whole planned file is in (the store put it in the ready set): ask for a sweep now rather
    // than wait for the scheduled one; if asking fails, that scheduled sweep still takes it
    if (recorded.ready) {
      await requestFinalize?.().catch((err: unknown) => logEvent(log, 'finalize.request-failed', { stream: stream.id, path: stream.path, err }));
    }
    if (sent.existed) return { outcome: 'skipped', why: `already in S3 with these bytes (committed ${recorded.committed})` };
    return { outcome: 'uploaded', size: sent.size, sha256: sent.sha256, committedChunks: recorded.committed };
  }
}
