import type { FileFacts } from '@vcu/domain';
import { type FileDigest, isFileFacts, readFacts } from '@vcu/files';
import { LruMap } from '@vcu/runtime';
import { type StreamRecord, lacksDroppedRecords } from '@vcu/state';
import { type Records, ensureChunks, lookAtFile, reuploadChanged, verifyInS3 } from './checks.js';
import type { FinalizeContext, StreamOutcome } from './context.js';
import { FileChangedError, settled } from './digests.js';
import { assemble, chooseRevision, completeAsDescribed, describe, publish, restoreRecords } from './publish.js';

/** Streams whose uploads finalize keeps track of, per worker process. */
const TRACKED_STREAMS = 10_000;

/**
 * A stream's finalize as a pipeline of named steps, each of which either lets the stream go on
 * or says what became of it this sweep. Metadata is written only after the file, the chunk
 * records and S3 were all checked afresh.
 *
 *   waiting for uploads → look at the file → every chunk uploaded → digest → re-upload what
 *   changed → verify in S3 → revision → assemble → describe → publish
 */
export function createStreamFinalizer(ctx: FinalizeContext) {
  const waiting = createUploadWatch(ctx);

  return async function finalizeStream(stream: StreamRecord | undefined): Promise<StreamOutcome> {
    if (stream === undefined || stream.status !== 'active') return 'skipped';
    if (waiting.stillUploading(stream)) {
      waiting.prepareDigest(stream);
      return 'pending';
    }
    const facts = await lookAtFile(ctx, stream);
    if (typeof facts === 'string') return facts;
    const records = await recordsOf(ctx, stream);
    const notAllThere = await ensureChunks(ctx, stream, facts, records);
    if (notAllThere !== undefined) {
      waiting.prepareDigest(stream);
      return notAllThere;
    }
    const digest = await digestOf(ctx, stream, facts, records);
    if (digest === 'changed') return 'changed';
    const wrong = (await reuploadChanged(ctx, stream, facts, records, digest)) ?? (await verifyInS3(ctx, stream, facts, records));
    if (wrong !== undefined) return wrong;
    const revision = await chooseRevision(ctx, stream, facts, digest);
    if (typeof revision !== 'number') return completeAsDescribed(ctx, stream, facts, revision.described);
    const assembled = await assemble(ctx, stream, facts);
    const metadata = await describe(ctx, { stream, facts, records, digest, revision, assembled });
    const outcome = await publish(ctx, stream, facts, metadata);
    if (outcome === 'complete') waiting.forget(stream.id);
    return outcome;
  };
}

/**
 * A stream's chunk records; those a reopened stream dropped come back from its metadata.json, also
 * when chunks uploaded since (a grown file's new ones) have records already: otherwise each old
 * chunk would be queued, read and checked in S3 again.
 */
async function recordsOf(ctx: FinalizeContext, stream: StreamRecord): Promise<Records> {
  const records = await ctx.store.chunks(stream.id);
  if (!lacksDroppedRecords(stream, records) || !(await restoreRecords(ctx, stream))) return records;
  return ctx.store.chunks(stream.id);
}

/**
 * The file's digest: for a file of one chunk read after its last change, its upload's hash;
 * otherwise from the digest cache (one pass over the file, reused across sweeps).
 */
async function digestOf(ctx: FinalizeContext, stream: StreamRecord, facts: FileFacts, records: Records): Promise<FileDigest | 'changed'> {
  const only = records.get(0);
  if (facts.size <= stream.chunkSize && only?.size === facts.size && settled(only, facts)) {
    return { chunks: [only.sha256], sha256: only.sha256, size: facts.size };
  }
  try {
    return await ctx.digests.get(stream, facts, records);
  } catch (err) {
    if (err instanceof FileChangedError) return 'changed';
    throw err;
  }
}

/**
 * Streams whose chunks are on their way to S3. Thousands of small files sealed at once would
 * otherwise each cost a stat, a chunk-record read and a job lookup per chunk on every sweep until
 * uploaded. Every `uploadGraceMs` the full checks run all the same, which re-add a job that was
 * lost or removed by hand. Meanwhile the digest of a file of several chunks is computed, so that
 * finalize need not wait for a read once its last chunks are in.
 */
function createUploadWatch(ctx: FinalizeContext) {
  const uploadGraceMs = ctx.uploadGraceMs ?? 30_000;
  /** When the full checks last ran on a stream that was still uploading. */
  const checkedAt = new LruMap<string, number>(TRACKED_STREAMS);
  /** The file version (size:mtime) each early digest was started for. */
  const prepared = new LruMap<string, string>(TRACKED_STREAMS);

  return {
    /** Planned chunks are not all uploaded yet, and the last full check was less than the grace ago. */
    stillUploading(stream: StreamRecord): boolean {
      if (stream.committedBytes >= stream.plannedBytes) {
        checkedAt.delete(stream.id);
        return false;
      }
      const since = Math.max(stream.updatedAt, checkedAt.get(stream.id) ?? 0);
      if (ctx.now() - since < uploadGraceMs) return true;
      checkedAt.set(stream.id, ctx.now());
      return false;
    },

    /** Starts the digest of a file of several chunks (once per file version), without waiting for it. */
    prepareDigest(stream: StreamRecord): void {
      const version = `${stream.size}:${stream.mtimeNs}`;
      if (stream.size <= stream.chunkSize || prepared.get(stream.id) === version) return;
      prepared.set(stream.id, version);
      const start = async (): Promise<void> => {
        const facts = await readFacts(ctx.watchDir, stream.path);
        if (!isFileFacts(facts) || facts.size !== stream.size || facts.mtimeNs !== stream.mtimeNs) return;
        await ctx.digests.get(stream, facts, await ctx.store.chunks(stream.id));
      };
      start().catch(() => undefined);
    },

    forget(id: string): void {
      checkedAt.delete(id);
      prepared.delete(id);
    },
  };
}
