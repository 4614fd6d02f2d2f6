import { type ChunkRange, type FileFacts, PLAN_WINDOW_CHUNKS, chunkRanges, sameFile } from '@vcu/domain';
import { type FileDigest, currentFacts, fsErrorCode, isFileFacts, readFacts } from '@vcu/files';
import { logEvent } from '@vcu/logger';
import { ensureChunkJob } from '@vcu/queue';
import type { ChunkRecord, StreamRecord } from '@vcu/state';
import { chunkKey, headObject } from '@vcu/storage';
import type { RetireReason } from '@vcu/streams';
import type { FinalizeContext, StreamOutcome } from './context.js';
import { settled } from './digests.js';

/** HEAD requests in flight while verifying a stream's chunks in S3. */
const VERIFY_PARALLEL = 8;

/** The chunks a stream's records say are uploaded, by index. */
export type Records = ReadonlyMap<number, ChunkRecord>;

/**
 * The file as it is now; or, when it is gone, unreadable or not the stream's file as last seen,
 * what became of the stream: retired, or handed back to the watcher's rules as a change.
 */
export async function lookAtFile(ctx: FinalizeContext, stream: StreamRecord): Promise<FileFacts | StreamOutcome> {
  let facts;
  try {
    facts = await readFacts(ctx.watchDir, stream.path);
  } catch (err) {
    const code = fsErrorCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return retire(ctx, stream, 'file deleted');
    throw err;
  }
  if (!isFileFacts(facts)) return retire(ctx, stream, facts.skip === 'unreadable (permission denied)' ? 'unreadable' : facts.skip === 'symlink (not followed)' ? 'replaced' : facts.skip);
  if (!sameFile(stream, facts) || facts.size !== stream.size || facts.mtimeNs !== stream.mtimeNs) {
    // the file moved on and the watcher has not said so (yet): record it the same way it would
    await ctx.streams.observe(facts, { idle: false, recovering: false, reread: () => currentFacts(ctx.watchDir, stream.path) });
    return 'changed';
  }
  return facts;
}

async function retire(ctx: FinalizeContext, stream: StreamRecord, reason: RetireReason): Promise<StreamOutcome> {
  await ctx.streams.retire(stream, reason);
  return 'aborted';
}

/**
 * Every chunk of the file has an upload, or one on its way. A planned chunk with no record gets
 * its job again (a job lost or removed by hand); the chunks not planned yet are planned, within
 * the window. A chunk whose job failed for good leaves the stream stuck until an operator retries
 * it. Returns undefined when every chunk is uploaded.
 */
export async function ensureChunks(ctx: FinalizeContext, stream: StreamRecord, facts: FileFacts, records: Records): Promise<StreamOutcome | undefined> {
  const windowEnd = stream.committedChunks + PLAN_WINDOW_CHUNKS;
  const missing = chunkRanges(facts.size, stream.chunkSize).filter((r) => records.get(r.index)?.size !== r.size);
  if (missing.length === 0) return undefined;
  const due = missing.filter((r) => r.offset < stream.plannedBytes && r.index < windowEnd);
  const outcomes = await ensureJobs(ctx, stream, due);
  const planned = await ctx.streams.advance(stream, { size: facts.size, plannedBytes: stream.plannedBytes, committedBytes: stream.committedBytes, idle: true });
  const added = outcomes.filter((o) => o === 'added').length + planned;
  if (added > 0) logEvent(ctx.log, 'chunks.reenqueued', { stream: stream.id, path: stream.path, added, missing: missing.length });
  const failed = due.filter((_, i) => outcomes[i] === 'failed').map((r) => r.index);
  if (failed.length > 0) {
    stuck(ctx, stream, failed);
    return 'stuck';
  }
  return 'pending';
}

/** Makes sure each range has a job waiting or running, one lookup at a time. */
async function ensureJobs(ctx: FinalizeContext, stream: StreamRecord, ranges: readonly ChunkRange[], shas?: readonly string[]) {
  const outcomes: ('pending' | 'added' | 'failed')[] = [];
  for (const range of ranges) {
    const data = { streamId: stream.id, path: stream.path, ino: stream.ino, ...range, reason: 'verify' as const };
    outcomes.push(await ensureChunkJob(ctx.queues.chunks, data, shas?.[range.index]));
  }
  return outcomes;
}

/** A stream waits on a chunk that failed for good: said once a while per stream, not every sweep. */
function stuck(ctx: FinalizeContext, stream: StreamRecord, chunks: readonly number[]): void {
  if (!ctx.firstInAWhile(`stuck:${stream.id}`)) return;
  logEvent(ctx.log, 'stream.stuck', { stream: stream.id, path: stream.path, chunks: chunks.slice(0, 10).join(',') });
}

/**
 * Chunks whose bytes changed after their upload (a muxer patching its header when it closes the
 * file) are uploaded again; their records keep the old hashes, so the worker sees the bytes differ.
 * Returns undefined when every chunk's upload holds the file's bytes.
 */
export async function reuploadChanged(ctx: FinalizeContext, stream: StreamRecord, facts: FileFacts, records: Records, digest: FileDigest): Promise<StreamOutcome | undefined> {
  const ranges = chunkRanges(facts.size, stream.chunkSize);
  const changed = ranges.filter((r) => {
    const hash = digest.chunks[r.index];
    return hash === undefined ? !settled(records.get(r.index), facts) : records.get(r.index)?.sha256 !== hash;
  });
  if (changed.length === 0) return undefined;
  const outcomes = await ensureJobs(ctx, stream, changed, digest.chunks.map((h) => h ?? ''));
  const added = outcomes.filter((o) => o === 'added').length;
  // said when the uploads are enqueued, not again on every sweep until they are done
  if (added > 0) logEvent(ctx.log, 'chunks.changed', { stream: stream.id, path: stream.path, chunks: indices(changed), added });
  return 'pending';
}

/** The chunks whose object in S3 is missing or is not the one recorded (size, SHA-256), by HEAD, VERIFY_PARALLEL at a time. */
async function wrongInS3(ctx: FinalizeContext, stream: StreamRecord, ranges: readonly ChunkRange[], records: Records): Promise<ChunkRange[]> {
  const wrong: ChunkRange[] = [];
  for (let i = 0; i < ranges.length; i += VERIFY_PARALLEL) {
    const batch = ranges.slice(i, i + VERIFY_PARALLEL);
    const heads = await Promise.all(batch.map((r) => headObject(ctx.target, chunkKey(ctx.s3Prefix, stream.id, r.index))));
    batch.forEach((r, j) => {
      const head = heads[j];
      if (head === undefined || head.size !== r.size || head.sha256 !== records.get(r.index)?.sha256) wrong.push(r);
    });
  }
  return wrong;
}

/**
 * Every chunk object in S3 is the one recorded (its size and SHA-256); one that is not is
 * forgotten and uploaded again. A record made in the current epoch needs no request: S3's answer
 * to its PUT proved the object (the server verified the signed SHA-256). Records from before
 * Redis lost data or failed over are checked with a HEAD. Returns undefined when all are right.
 */
export async function verifyInS3(ctx: FinalizeContext, stream: StreamRecord, facts: FileFacts, records: Records): Promise<StreamOutcome | undefined> {
  const ranges = chunkRanges(facts.size, stream.chunkSize);
  const epoch = await ctx.store.currentEpoch();
  const unproven = ranges.filter((r) => epoch === '' || records.get(r.index)?.epoch !== epoch);
  if (unproven.length === 0) return undefined;
  const wrong = await ctx.heavy(async () => wrongInS3(ctx, stream, unproven, records));
  if (wrong.length === 0) return undefined;
  for (const r of wrong) await ctx.store.forgetChunk(stream, r.index);
  await ensureJobs(ctx, stream, wrong, ranges.map((r) => records.get(r.index)?.sha256 ?? ''));
  logEvent(ctx.log, 'chunks.wrong-in-s3', { stream: stream.id, path: stream.path, chunks: indices(wrong) });
  return 'pending';
}

/** `1,2,3` or the first ten and `…`, for a log field. */
function indices(ranges: readonly ChunkRange[]): string {
  const list = ranges.slice(0, 10).map((r) => r.index).join(',');
  return ranges.length > 10 ? `${list},…` : list;
}
