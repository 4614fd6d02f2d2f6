import { type FileFacts, type StreamMetadata, buildMetadata, chunkRanges } from '@vcu/domain';
import { absoluteIn, fsErrorCode, isFileFacts, readFacts } from '@vcu/files';
import { type Observe, createLimiter } from '@vcu/runtime';
import { type Logger, describeError } from '@vcu/logger';
import { describeContainer, probeMp4 } from '@vcu/mp4';
import { type FinalizePayload, type Queues, ensureChunkJob } from '@vcu/queue';
import type { StreamRecord, StreamStore } from '@vcu/state';
import { type Assembled, type Target, assembleObject, assembledKey, chunkKey, getObjectBytes, headObject, metadataKey, putJson } from '@vcu/storage';
import { FileChangedError, createDigestCache } from '../digests.js';

export interface FinalizeDeps {
  readonly watchDir: string;
  readonly s3Prefix: string;
  readonly streamIdleMs: number;
  readonly store: StreamStore;
  readonly queues: Pick<Queues, 'chunks'>;
  readonly target: Target;
  readonly observe: Observe;
  readonly logger: Logger;
  readonly now?: () => number;
  /** False while S3 is known to be unreachable: the sweep then waits instead of failing per stream. */
  readonly s3Up?: () => boolean;
  readonly onFailure?: (err: unknown) => void;
  /** A metadata.json was written. */
  readonly onComplete?: () => void;
  /**
   * How long a stream whose chunk jobs are all enqueued is left to the workers before finalize
   * checks that its jobs still exist (JOB_LOCK_MS: a killed worker's job is back by then too).
   */
  readonly uploadGraceMs?: number;
  /** ASSEMBLE=true: join the chunks into one object under this key template before writing metadata. */
  readonly assemble?: { readonly keyTemplate: string };
}

/** What one sweep did to one stream. */
export type StreamOutcome = 'complete' | 'pending' | 'changed' | 'aborted' | 'skipped' | 'failed';

/** Streams one sweep looks at, oldest activity first; the next sweep takes the rest. */
const SWEEP_LIMIT = 500;
/** HEAD requests in flight while verifying a stream's chunks in S3. */
const VERIFY_PARALLEL = 8;
/**
 * Streams one sweep finalizes at once. Finalizing a stream is mostly waiting (Redis, a stat, a
 * HEAD, the metadata PUT), so a sweep that took them one by one finished ~50 small files a
 * second; the sweep is still the only one running (the queue's global concurrency is 1).
 */
const SWEEP_PARALLEL = 16;

/**
 * The finalize sweep, run by the job scheduler (one at a time across all replicas). For every idle
 * stream: make sure every chunk of the file as it is now is uploaded, re-read the file and
 * re-upload ranges whose bytes changed since their upload (MP4 muxers patch early bytes when
 * they close a file), check every chunk object in S3, then write metadata.json. Anything not yet
 * true leaves the stream for the next sweep, so a failed finalize is simply retried.
 */
export function createFinalize(deps: FinalizeDeps) {
  const { watchDir, s3Prefix, store, queues, target, observe } = deps;
  const now = deps.now ?? Date.now;
  const log = deps.logger.child({ module: 'finalize' });
  const digests = createDigestCache(watchDir);
  const uploadGraceMs = deps.uploadGraceMs ?? 30_000;

  async function retire(stream: StreamRecord, reason: string): Promise<StreamOutcome> {
    const previous = await store.retire(stream, reason);
    if (previous === 'active') log.warn(`stream aborted: ${reason} before its upload finished`, { stream: stream.id, path: stream.path });
    return 'aborted';
  }

  async function uploadAgain(stream: StreamRecord, file: FileFacts, indices: readonly number[], shas?: readonly string[]) {
    const ranges = chunkRanges(file.size, stream.chunkSize);
    let added = 0;
    for (const index of indices) {
      const range = ranges[index];
      if (range === undefined) continue;
      const data = { streamId: stream.id, path: stream.path, ino: stream.ino, ...range, reason: 'verify' as const };
      if ((await ensureChunkJob(queues.chunks, data, shas?.[index])) === 'added') added += 1;
    }
    return added;
  }

  /** When the full checks last ran on a stream that was still uploading. */
  const checkedAt = new Map<string, number>();
  /** The file version (size:mtime) each pre-digest was started for. */
  const prepared = new Map<string, string>();

  /**
   * Every chunk of the file as last seen has its job and some are not done yet (the committed
   * prefix falls short of the size): nothing to do but wait for the workers. Thousands of small
   * files sealed at once would otherwise each cost a stat, a chunk-record read and a job lookup
   * per chunk on every sweep until uploaded. Every `uploadGraceMs` the full checks run all the
   * same, which re-add a job that was lost or removed by hand.
   */
  function uploading(stream: StreamRecord): boolean {
    if (stream.plannedBytes !== stream.size || stream.committedBytes >= stream.size) {
      checkedAt.delete(stream.id);
      return false;
    }
    const since = Math.max(Number(stream.updatedAt) || 0, checkedAt.get(stream.id) ?? 0);
    if (now() - since < uploadGraceMs) return true;
    if (checkedAt.size > 100_000) checkedAt.clear();
    checkedAt.set(stream.id, now());
    return false;
  }

  /**
   * Hashes a file of several chunks while its last chunks upload, so that finalize need not wait
   * for a read once they are in: started once per file version, computed once (digests.ts).
   */
  function prepareDigest(stream: StreamRecord): void {
    const version = `${stream.size}:${stream.mtimeNs}`;
    if (stream.size <= stream.chunkSize || prepared.get(stream.id) === version) return;
    if (prepared.size > 10_000) prepared.clear();
    prepared.set(stream.id, version);
    const start = async (): Promise<void> => {
      const facts = await readFacts(watchDir, stream.path);
      if (!isFileFacts(facts) || facts.size !== stream.size || facts.mtimeNs !== stream.mtimeNs) return;
      await digests.get(stream, facts, await store.chunks(stream.id));
    };
    start().catch(() => undefined);
  }

  /** `stream` was read for the whole sweep at once, so it may be a moment old; see the sweep. */
  async function finalizeStream(id: string, stream: StreamRecord | undefined): Promise<StreamOutcome> {
    if (stream === undefined || stream.status !== 'active') return 'skipped';
    if (uploading(stream)) {
      prepareDigest(stream);
      return 'pending';
    }
    const records = await store.chunks(id);

    let facts;
    try {
      facts = await readFacts(watchDir, stream.path);
    } catch (err) {
      const code = fsErrorCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return retire(stream, 'file deleted');
      throw err;
    }
    if (!isFileFacts(facts)) return retire(stream, facts.skip);
    if (facts.ino !== stream.ino || facts.birthtimeNs !== stream.birthtimeNs || facts.size !== stream.size || facts.mtimeNs !== stream.mtimeNs) {
      // the file moved on and the watcher has not said so (yet): record it the same way it would
      await observe(facts, { idle: false, recovering: false });
      return 'changed';
    }

    const ranges = chunkRanges(facts.size, stream.chunkSize);
    const missing = ranges.filter((r) => records.get(r.index)?.size !== r.size).map((r) => r.index);
    if (missing.length > 0) {
      const added = await uploadAgain(stream, facts, missing);
      if (added > 0) log.debug('chunks enqueued for an idle stream', { stream: id, path: stream.path, added, missing: missing.length });
      // a file of one chunk needs no digest pass: its upload's hash is the file's
      if (ranges.length > 1) digests.get(stream, facts, records).catch(() => undefined);
      return 'pending';
    }

    let digest;
    try {
      digest = await digests.get(stream, facts, records);
    } catch (err) {
      if (err instanceof FileChangedError) return 'changed';
      throw err;
    }
    const changed = ranges
      .filter((r) => {
        const record = records.get(r.index);
        const hash = digest.chunks[r.index];
        return hash === undefined ? !digests.settled(record, facts) : record?.sha256 !== hash;
      })
      .map((r) => r.index);
    if (changed.length > 0) {
      // the records keep the old digests, so the worker sees the bytes differ and uploads them
      const added = await uploadAgain(stream, facts, changed, digest.chunks.map((h) => h ?? ''));
      // said when the uploads are enqueued, not again on every sweep until they are done
      if (added > 0) {
        log.info('bytes changed after they were uploaded; uploading those chunks again', {
          stream: id,
          path: stream.path,
          chunks: changed.length > 10 ? `${changed.slice(0, 10).join(',')},…` : changed.join(','),
          added,
        });
      }
      return 'pending';
    }

    const wrong: number[] = [];
    for (let i = 0; i < ranges.length; i += VERIFY_PARALLEL) {
      const batch = ranges.slice(i, i + VERIFY_PARALLEL);
      const heads = await Promise.all(batch.map((r) => headObject(target, chunkKey(s3Prefix, id, r.index))));
      batch.forEach((r, j) => {
        const head = heads[j];
        if (head === undefined || head.size !== r.size || head.sha256 !== records.get(r.index)?.sha256) wrong.push(r.index);
      });
    }
    if (wrong.length > 0) {
      for (const index of wrong) await store.forgetChunk(stream, index);
      await uploadAgain(stream, facts, wrong, ranges.map((r) => records.get(r.index)?.sha256 ?? ''));
      log.warn('chunk objects in S3 differ from what was recorded; uploading them again', { stream: id, path: stream.path, chunks: wrong.join(',') });
      return 'pending';
    }

    let revision = stream.revision + 1;
    if (stream.recovered && stream.revision === 0) {
      // state was rebuilt after Redis lost it: continue the revisions already in S3, and leave
      // a metadata.json that already describes exactly this file as it is
      const previous = await readMetadata(metadataKey(s3Prefix, id));
      if (previous !== undefined) {
        const sameAssembly = deps.assemble === undefined || previous.assembled !== undefined;
        if (previous.sha256 === digest.sha256 && previous.source.size === facts.size && previous.chunkSize === stream.chunkSize && sameAssembly) {
          const state = await store.complete(stream, previous.revision, digest.sha256);
          log.info('stream complete: the metadata.json already in S3 describes this file', { stream: id, path: stream.path, revision: previous.revision });
          return state === 'complete' ? 'complete' : 'pending';
        }
        revision = previous.revision + 1;
      }
    }
    let assembled: Assembled | undefined;
    if (deps.assemble !== undefined) {
      const key = assembledKey(deps.assemble.keyTemplate, { prefix: s3Prefix, streamId: id, path: stream.path });
      const started = Date.now();
      assembled = await assembleObject(target, {
        key,
        parts: ranges.map((r) => ({ key: chunkKey(s3Prefix, id, r.index), size: r.size })),
        contentType: /\.(mp4|m4v|mov)$/i.test(stream.path) ? 'video/mp4' : 'application/octet-stream',
      });
      log.info('assembled one object from the chunks in S3', { stream: id, path: stream.path, key, bytes: assembled.size, ms: Date.now() - started });
    }
    const probe = await probeMp4(absoluteIn(watchDir, stream.path)).catch((err: unknown) => ({ mp4: null, reason: `cannot read the file: ${describeError(err)}` }));
    const metadata = buildMetadata({
      streamId: id,
      revision,
      path: stream.path,
      size: facts.size,
      mtimeMs: Number(BigInt(facts.mtimeNs) / 1_000_000n),
      chunkSize: stream.chunkSize,
      chunks: ranges.map((r) => ({ ...r, sha256: records.get(r.index)?.sha256 ?? '' })),
      keyOf: (index) => chunkKey(s3Prefix, id, index),
      sha256: digest.sha256,
      container: describeContainer(digest.head),
      createdAtMs: stream.createdAt,
      completedAtMs: now(),
      assembled,
      mp4: probe,
    });
    await putJson(target, metadataKey(s3Prefix, id), metadata);
    deps.onComplete?.();
    const state = await store.complete(stream, revision, digest.sha256);
    if (state === 'complete') {
      digests.forget(id);
      prepared.delete(id);
    }
    log.info(state === 'complete' ? 'stream complete: metadata.json written' : 'metadata.json written; the file changed meanwhile, so another revision follows', {
      stream: id,
      path: stream.path,
      bytes: facts.size,
      chunks: ranges.length,
      revision,
    });
    return state === 'complete' ? 'complete' : 'pending';
  }

  async function readMetadata(key: string): Promise<StreamMetadata | undefined> {
    const body = await getObjectBytes(target, key);
    if (body === undefined) return undefined;
    try {
      return JSON.parse(body.toString('utf8')) as StreamMetadata;
    } catch {
      return undefined;
    }
  }

  /**
   * One sweep: the scheduler's takes every idle stream (oldest activity first, up to
   * SWEEP_LIMIT); a `ready` sweep only those whose last chunk a worker just recorded. The streams
   * are read in one pipeline and finalized SWEEP_PARALLEL at a time. A stream record a moment old
   * can only make a stream look less finished than it is (it waits for the next sweep): metadata is
   * written only after the file, the chunk records and S3 are checked afresh, and store.complete
   * refuses a stream that changed meanwhile.
   */
  return async function finalize(job?: { readonly data: FinalizePayload }): Promise<Record<StreamOutcome, number>> {
    const counts: Record<StreamOutcome, number> = { complete: 0, pending: 0, changed: 0, aborted: 0, skipped: 0, failed: 0 };
    if (deps.s3Up?.() === false) return counts;
    const before = now() - deps.streamIdleMs;
    const ids = job?.data.ready === true ? await store.takeReady(before, SWEEP_LIMIT) : await store.idle(before, SWEEP_LIMIT);
    const streams = await store.getMany(ids);
    const limit = createLimiter(SWEEP_PARALLEL);
    await Promise.all(
      ids.map((id, i) =>
        limit(async () => {
          try {
            counts[await finalizeStream(id, streams[i])] += 1;
          } catch (err) {
            counts.failed += 1;
            deps.onFailure?.(err);
            log.warn('finalize of a stream failed; the next sweep retries it', { stream: id, err });
          }
        }),
      ),
    );
    return counts;
  };
}
