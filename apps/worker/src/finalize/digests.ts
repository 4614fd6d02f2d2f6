import { type FileFacts, changedMsOf, mtimeMsOf } from '@vcu/domain';
import { type FileDigest, FileReplacedError, NotRegularFileError, absoluteIn, digestFile, fileVersion, isFileFacts, readFacts, withRegularFile } from '@vcu/files';
import { LruMap, createLimiter } from '@vcu/runtime';
import type { ChunkRecord, StreamRecord } from '@vcu/state';

/**
 * A file's mtime is set from a coarse clock, and on network filesystems by another host: a chunk
 * read more than this long after the file's last modification cannot have changed since.
 */
const SETTLED_MARGIN_MS = 2000;
/** Digests kept per worker process (each a few hundred bytes), least recently used dropped first. */
const CACHE_LIMIT = 1024;
/**
 * Whole files read and hashed at once. Finalize starts a digest for every big stream whose last
 * chunks are uploading; a sweep of hundreds of them must not read hundreds of files at once.
 */
const DIGESTS_PARALLEL = 2;

/** The file changed (or is no longer the same file) while it was being hashed: the stream is not idle after all. */
export class FileChangedError extends Error {
  override name = 'FileChangedError';
}

interface Entry {
  /** The file version it was computed for (fileVersion). */
  readonly version: string;
  readonly digest: Promise<FileDigest>;
}

/**
 * The record's bytes were read after the file's last change, so they are the file's bytes: read
 * more than SETTLED_MARGIN_MS after its modification time, and nothing changed the file since
 * (its change time is the one seen when it was opened for that read). The change time catches a
 * rewrite whose mtime was then set back (`rsync --inplace -t`); compared with the one seen at the
 * read, not with the clock, it lets a file that was only linked or renamed in keep its shortcut.
 * A record without it (restored from metadata.json) needs the change time itself to be old.
 */
export function settled(record: ChunkRecord | undefined, facts: FileFacts): boolean {
  if (record?.readAt === undefined || record.readAt <= mtimeMsOf(facts) + SETTLED_MARGIN_MS) return false;
  const clockRule = record.readAt > changedMsOf(facts) + SETTLED_MARGIN_MS;
  if (record.readCtimeNs === undefined || facts.ctimeNs === undefined) return clockRule;
  // a file system that keeps whole seconds (ext3, some NFS and FUSE servers) shows no change made
  // within the second of the last one: there the change time must also be old
  const fine = BigInt(facts.ctimeNs) % 1_000_000_000n !== 0n;
  return record.readCtimeNs === facts.ctimeNs && (fine || clockRule);
}

/** Which chunk ranges a digest must hash itself: those no upload can vouch for. */
function needsHash(records: ReadonlyMap<number, ChunkRecord>, facts: FileFacts, startedAt: number) {
  // a chunk not read yet will be read after startedAt: settled if the file was quiet long before
  // (by its mtime: a change after startedAt, mtime set back or not, moves the change time, and
  // the digest of the earlier version (fileVersion) is not used then)
  const quiet = startedAt > mtimeMsOf(facts) + SETTLED_MARGIN_MS;
  return (index: number): boolean => {
    const record = records.get(index);
    return record === undefined ? !quiet : !settled(record, facts);
  };
}

/**
 * Whole-file digests for finalize, computed once per file version and reused across sweeps.
 * Finalize starts one while a stream's last chunks are still uploading, so the read overlaps
 * the uploads. Chunk ranges are hashed again only where they could have changed after the
 * worker read them (the file was modified after, or shortly before, that read); the rest are
 * known from the upload itself. The whole-file SHA-256 always takes one full pass.
 */
export function createDigestCache(watchDir: string, now: () => number = Date.now) {
  const cache = new LruMap<string, Entry>(CACHE_LIMIT);
  const hashing = createLimiter(DIGESTS_PARALLEL);

  async function compute(stream: StreamRecord, facts: FileFacts, hash: (index: number) => boolean): Promise<FileDigest> {
    const digest = await hashing(() =>
      withRegularFile(absoluteIn(watchDir, stream.path), { expected: stream, root: watchDir }, ({ handle }) => digestFile(handle, stream.chunkSize, facts.size, hash)).catch((err: unknown) => {
        if (err instanceof NotRegularFileError || err instanceof FileReplacedError) throw new FileChangedError(err.message);
        throw err;
      }),
    );
    const after = await readFacts(watchDir, stream.path).catch(() => undefined);
    if (digest.size !== facts.size || after === undefined || !isFileFacts(after) || fileVersion(after) !== fileVersion(facts)) {
      throw new FileChangedError(`${stream.path} changed while it was hashed`);
    }
    return digest;
  }

  async function cached(stream: StreamRecord, facts: FileFacts, records: ReadonlyMap<number, ChunkRecord>): Promise<FileDigest | undefined> {
    const entry = cache.get(stream.id);
    if (entry?.version !== fileVersion(facts)) return undefined;
    try {
      const digest = await entry.digest;
      const needed = needsHash(records, facts, now());
      return digest.chunks.every((hash, index) => hash !== undefined || !needed(index)) ? digest : undefined;
    } catch {
      return undefined; // computed afresh
    }
  }

  return {
    /** The digest of this file version, with every chunk hash `records` cannot vouch for. */
    async get(stream: StreamRecord, facts: FileFacts, records: ReadonlyMap<number, ChunkRecord>): Promise<FileDigest> {
      const reused = await cached(stream, facts, records);
      if (reused !== undefined) return reused;
      const digest = compute(stream, facts, needsHash(records, facts, now()));
      cache.set(stream.id, { version: fileVersion(facts), digest });
      digest.catch(() => {
        if (cache.get(stream.id)?.digest === digest) cache.delete(stream.id);
      });
      return digest;
    },

    forget(id: string): void {
      cache.delete(id);
    },
  };
}

export type DigestCache = ReturnType<typeof createDigestCache>;
