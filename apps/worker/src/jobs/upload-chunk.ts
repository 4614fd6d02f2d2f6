import { type Job, UnrecoverableError } from 'bullmq';
import { sameFile } from '@vcu/domain';
import { currentFacts } from '@vcu/files';
import { type EventName, type Logger, describeError, logEvent } from '@vcu/logger';
import type { UploadChunkPayload } from '@vcu/queue';
import type { StreamRecord, StreamStore } from '@vcu/state';
import type { Streams } from '@vcu/streams';
import { ChunkGoneError } from '../read.js';
import { describeFailure, isPermanentFailure } from '../runtime.js';
import { type SendDeps, type Sent, sendChunk } from './send-chunk.js';

export interface UploadChunkDeps extends SendDeps {
  readonly store: StreamStore;
  readonly streams: Pick<Streams, 'advance' | 'retire'>;
  readonly logger: Logger;
  /** Says "Redis is out of memory" when the error is its OOM reply. */
  readonly outOfMemory?: (err: unknown) => boolean;
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

/**
 * Why a chunk job must not run, or undefined when it matches the stream Redis knows. The worker
 * trusts the stream's record, not the job: the path, inode and birth time it reads come from the
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
 * The stream as recorded, or, when a job reaches past its recorded size, with the size its file
 * has now, if that is the stream's very file (same inode and birth time). The record can
 * lag behind the plan: a Redis failover lost the stream's last look at the file, while the job
 * planned from it survived on another node. Such a job is a good one, not a forgery. An error
 * reading the file is thrown (the job is retried), never taken for a refusal.
 */
async function caughtUp(deps: UploadChunkDeps, stream: StreamRecord, job: UploadChunkPayload): Promise<StreamRecord> {
  if (stream.status !== 'active' || job.offset + job.size <= stream.size) return stream;
  const facts = await currentFacts(deps.watchDir, stream.path);
  return facts !== undefined && sameFile(stream, facts) && facts.size > stream.size ? { ...stream, size: facts.size } : stream;
}

/**
 * A job of vcu's own that a finished stream no longer needs: one BullMQ started before (a retry,
 * or one whose worker died mid-run in a crash or power cut), or one finalize added to make sure a
 * chunk it could not yet confirm gets uploaded ('verify'). The stream finished without it
 * (finalize checks every chunk in S3), so there is nothing left to do: skipped, not failed. A job
 * forged through the dashboard is a fresh 'grow' one and is refused.
 */
function redundant(job: Job<UploadChunkPayload>): boolean {
  return job.attemptsMade > 0 || job.stalledCounter > 0 || job.data.reason === 'verify';
}

/** The fields every line about this job carries; the attempt only when it is a retry. */
function contextOf(job: Job<UploadChunkPayload>): Record<string, unknown> {
  return {
    stream: job.data.streamId,
    path: job.data.path,
    chunk: job.data.index,
    ...(job.attemptsMade > 0 ? { attempt: `${job.attemptsMade + 1}/${job.opts.attempts ?? 1}` } : {}),
  };
}

/**
 * Uploads one chunk and records it. Three outcomes, kept apart: returns when done or when there
 * is nothing to do (stream aborted, bytes already in S3); throws for transient failures (BullMQ
 * retries with capped backoff); throws UnrecoverableError when the chunk can never be uploaded
 * (the file is gone, the job is not one of the stream's, or the failure is permanent).
 */
export function createUploadChunk(deps: UploadChunkDeps) {
  const log = deps.logger.child({ module: 'upload' });
  return async function uploadChunk(job: Job<UploadChunkPayload>): Promise<UploadOutcome> {
    const started = performance.now();
    try {
      const outcome = await attempt(deps, log, job);
      const ms = Math.round(performance.now() - started);
      if (outcome.outcome === 'uploaded') {
        deps.events?.uploaded?.(outcome.size, ms / 1000);
        logEvent(log, 'chunk.uploaded', { ...contextOf(job), bytes: outcome.size, ms, committed: outcome.committedChunks });
      } else {
        logEvent(log, 'chunk.skipped', { ...contextOf(job), why: outcome.why, ms });
      }
      return outcome;
    } catch (err) {
      throw failed(deps, log, job, err, started);
    }
  };
}

/** Says how a job failed and returns what to throw: a failure no retry can mend ends the job now, rather than after 20,000 attempts. */
function failed(deps: UploadChunkDeps, log: Logger, job: Job<UploadChunkPayload>, err: unknown, started: number): unknown {
  const permanent = isPermanentFailure(err);
  const final = permanent || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
  deps.events?.failed?.(err, final);
  deps.outOfMemory?.(err);
  const event: EventName = err instanceof JobRefusedError ? 'chunk.refused' : final ? 'chunk.failed' : 'chunk.retrying';
  logEvent(log, event, { ...contextOf(job), ms: Math.round(performance.now() - started), ...describeFailure(err) });
  return permanent && !(err instanceof UnrecoverableError) ? new UnrecoverableError(`permanent failure: ${describeError(err)}`) : err;
}

async function attempt(deps: UploadChunkDeps, log: Logger, job: Job<UploadChunkPayload>): Promise<UploadOutcome> {
  const { streamId, index } = job.data;
  // both reads go out at once: one round trip to Redis, not two
  const [stream, known] = await Promise.all([deps.store.get(streamId), deps.store.chunk(streamId, index)]);
  if (stream === undefined) return { outcome: 'skipped', why: 'stream unknown (its state was lost; the watcher plans it again)' };
  if (stream.status === 'aborted') return { outcome: 'skipped', why: `stream aborted (${stream.reason ?? 'no reason'})` };
  const refused = refusal(job.data, await caughtUp(deps, stream, job.data));
  if (refused !== undefined && stream.status === 'complete' && redundant(job)) return { outcome: 'skipped', why: 'the stream completed while this job waited to run again' };
  if (refused !== undefined) throw new JobRefusedError(`chunk job refused: ${refused}`);

  let sent: Sent;
  try {
    sent = await sendChunk(deps, stream, index, known);
  } catch (err) {
    if (err instanceof ChunkGoneError && err.reason !== 'replaced' && err.reason !== 'truncated') await deps.streams.retire(stream, err.reason);
    throw err;
  }
  if (sent.skipped !== undefined) return { outcome: 'skipped', why: sent.skipped };
  return record(deps, log, stream, index, sent);
}

/** Records the uploaded chunk, plans the stream's next chunks, and asks for finalize when it is all in. */
async function record(deps: UploadChunkDeps, log: Logger, stream: StreamRecord, index: number, sent: Exclude<Sent, { skipped: string }>): Promise<UploadOutcome> {
  const recorded = await deps.store.recordChunk(stream, index, {
    size: sent.size,
    sha256: sent.sha256,
    etag: sent.etag,
    uploadedAt: new Date().toISOString(),
    readAt: sent.readAt,
    readCtimeNs: sent.readCtimeNs,
  });
  if (recorded === 'aborted' || recorded === 'missing') return { outcome: 'skipped', why: `uploaded, but the stream is ${recorded} now` };
  // the window of planned chunks slides on as the committed prefix grows; if this fails, the
  // next chunk recorded or finalize's sweep plans them
  await deps.streams.advance(stream, recorded).catch((err: unknown) => logEvent(log, 'chunks.plan-failed', { stream: stream.id, path: stream.path, err }));
  // the whole planned file is in (the store put it in the ready set): ask for a sweep now rather
  // than wait for the scheduled one; if asking fails, that scheduled sweep still takes it
  if (recorded.ready) {
    await deps.requestFinalize?.().catch((err: unknown) => logEvent(log, 'finalize.request-failed', { stream: stream.id, path: stream.path, err }));
  }
  if (sent.existed) return { outcome: 'skipped', why: `already in S3 with these bytes (committed ${recorded.committed})` };
  return { outcome: 'uploaded', size: sent.size, sha256: sent.sha256, committedChunks: recorded.committed };
}
