import { type FileFacts, type StreamMetadata, buildMetadata, chunkRanges, mtimeMsOf } from '@vcu/domain';
import { type FileDigest, absoluteIn, nameToBytes, withRegularFile } from '@vcu/files';
import { describeError, logEvent } from '@vcu/logger';
import { describeContainer, probeMp4 } from '@vcu/mp4';
import { type StreamRecord, recordsFromMetadata } from '@vcu/state';
import { type Assembled, MetadataUnreadableError, assembleObject, assembledKey, chunkKey, metadataKey, putJson, readMetadata } from '@vcu/storage';
import { readHead } from '../read.js';
import type { Records } from './checks.js';
import type { FinalizeContext, StreamOutcome } from './context.js';

/** The metadata.json already in S3 for this stream, if any (undefined when absent or not JSON). */
async function previousMetadata(ctx: FinalizeContext, streamId: string): Promise<StreamMetadata | undefined> {
  try {
    return await readMetadata(ctx.target, ctx.s3Prefix, streamId);
  } catch (err) {
    if (err instanceof MetadataUnreadableError) return undefined;
    throw err;
  }
}

/**
 * The chunk records of a reopened stream: dropped when it completed, they are read back from its
 * metadata.json in S3 (without an epoch, so their objects are checked with a HEAD). Returns
 * whether any came back.
 */
export async function restoreRecords(ctx: FinalizeContext, stream: StreamRecord): Promise<boolean> {
  const previous = await previousMetadata(ctx, stream.id);
  if (previous === undefined) return false;
  return (await ctx.store.restoreChunks(stream.id, recordsFromMetadata(previous))) > 0;
}

/**
 * The revision the next metadata.json gets. A stream whose state was rebuilt (Redis lost data or
 * failed over) continues the revisions already in S3; and when the metadata.json there already
 * describes exactly this file, nothing is written: `{ described }` names its revision.
 */
export async function chooseRevision(ctx: FinalizeContext, stream: StreamRecord, facts: FileFacts, digest: FileDigest): Promise<number | { readonly described: number }> {
  if (!stream.recovered) return stream.revision + 1;
  const previous = await previousMetadata(ctx, stream.id);
  if (previous === undefined) return stream.revision + 1;
  const sameAssembly = ctx.assemble === undefined || previous.assembled !== undefined;
  const same = previous.sha256 === digest.sha256 && previous.source.size === facts.size && previous.chunkSize === stream.chunkSize;
  if (same && sameAssembly && previous.revision >= stream.revision) return { described: previous.revision };
  return Math.max(previous.revision, stream.revision) + 1;
}

/** ASSEMBLE=true: one playable object joined from the chunks inside S3 (no bytes sent again). */
export async function assemble(ctx: FinalizeContext, stream: StreamRecord, facts: FileFacts): Promise<Assembled | undefined> {
  if (ctx.assemble === undefined) return undefined;
  const key = assembledKey(ctx.assemble.keyTemplate, { prefix: ctx.s3Prefix, streamId: stream.id, path: stream.path });
  const started = ctx.now();
  const assembled = await ctx.heavy(async () =>
    assembleObject(ctx.target, {
      key,
      parts: chunkRanges(facts.size, stream.chunkSize).map((r) => ({ key: chunkKey(ctx.s3Prefix, stream.id, r.index), size: r.size })),
      contentType: /\.(mp4|m4v|mov)$/i.test(stream.path) ? 'video/mp4' : 'application/octet-stream',
    }),
  );
  logEvent(ctx.log, 'stream.assembled', { stream: stream.id, path: stream.path, key, bytes: assembled.size, ms: ctx.now() - started });
  return assembled;
}

/**
 * metadata.json for the file as it is: the chunks as recorded, the digest, and what the file's
 * first box and its MP4 boxes say (read from the stream's own file, opened once).
 */
export async function describe(
  ctx: FinalizeContext,
  { stream, facts, records, digest, revision, assembled }: { stream: StreamRecord; facts: FileFacts; records: Records; digest: FileDigest; revision: number; assembled: Assembled | undefined },
): Promise<StreamMetadata> {
  const { container, mp4 } = await ctx
    .heavy(async () =>
      withRegularFile(absoluteIn(ctx.watchDir, stream.path), { expected: stream, root: ctx.watchDir }, async ({ handle }) => ({
        container: describeContainer(await readHead(handle)),
        mp4: await probeMp4(handle),
      })),
    )
    .catch((err: unknown) => ({ container: describeContainer(Buffer.alloc(0)), mp4: { mp4: null, reason: `cannot read the file: ${describeError(err)}` } }));
  return buildMetadata({
    streamId: stream.id,
    revision,
    pathBytes: nameToBytes(stream.path),
    size: facts.size,
    mtimeMs: mtimeMsOf(facts),
    chunkSize: stream.chunkSize,
    chunks: chunkRanges(facts.size, stream.chunkSize).map((r) => ({ ...r, sha256: records.get(r.index)?.sha256 ?? '' })),
    keyOf: (index) => chunkKey(ctx.s3Prefix, stream.id, index),
    sha256: digest.sha256,
    container,
    createdAtMs: stream.createdAt,
    completedAtMs: ctx.now(),
    assembled,
    mp4,
  });
}

/** Writes metadata.json and marks the stream complete, unless its file changed meanwhile (another revision follows). */
export async function publish(ctx: FinalizeContext, stream: StreamRecord, facts: FileFacts, metadata: StreamMetadata): Promise<StreamOutcome> {
  await putJson(ctx.target, metadataKey(ctx.s3Prefix, stream.id), metadata);
  ctx.onComplete?.();
  const state = await ctx.store.complete(stream, metadata.revision, completion(ctx, facts));
  if (state === 'complete') ctx.digests.forget(stream.id);
  const fields = { stream: stream.id, path: stream.path, bytes: metadata.source.size, chunks: metadata.chunks.length, revision: metadata.revision };
  logEvent(ctx.log, state === 'complete' ? 'stream.complete' : 'metadata.superseded', fields);
  return state === 'complete' ? 'complete' : 'pending';
}

/** The metadata.json already in S3 (of `revision`) describes the file: the stream is complete without writing. */
export async function completeAsDescribed(ctx: FinalizeContext, stream: StreamRecord, facts: FileFacts, revision: number): Promise<StreamOutcome> {
  const state = await ctx.store.complete(stream, revision, completion(ctx, facts));
  logEvent(ctx.log, 'stream.already-described', { stream: stream.id, path: stream.path, revision });
  return state === 'complete' ? 'complete' : 'pending';
}

/**
 * What a stream completed now keeps: with AFTER_UPLOAD=delete, when its file may be deleted; and
 * the file's change time as `facts` (read before the file was) give it, which a later look compares.
 */
function completion(ctx: FinalizeContext, facts: FileFacts): { deleteAt?: number | undefined; ctimeNs?: string | undefined } {
  return { deleteAt: ctx.afterUpload?.mode === 'delete' ? ctx.now() + ctx.afterUpload.deleteAfterMs : undefined, ctimeNs: facts.ctimeNs };
}
