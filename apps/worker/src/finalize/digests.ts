import type { FileFacts } from '@vcu/domain';
import { absoluteIn, isFileFacts, readFacts } from '@vcu/files';
import { createLimiter } from '@vcu/runtime';
import type { ChunkRecord, StreamRecord } from '@vcu/state';
import { type FileDigest, digestFile, readHead } from './read.js';

/**
 * A file's mtime is set from a coarse clock, and on network filesystems by another host: a chunk
 * read more than this long after the file's last modification cannot have changed since.
 */
const SETTLED_MARGIN_MS = 2000;
/** Digests kept per worker process (each a few hundred bytes): more than a sweep's streams. */
const CACHE_LIMIT = 1024;
/**
 * Whole files read and hashed at once. Finalize starts a digest for every big stream whose last
 * chunks are uploading; a sweep of hundreds of them must not read hundreds of files at once.
 */
const DIGESTS_PARALLEL = 2;

/** The file changed while it was being hashed: the stream is not idle after all. */
export class FileChangedError extends Error {
  override name = 'FileChangedError';
}

interface Entry {
  readonly size: number;
  readonly mtimeNs: string;
  readonly digest: Promise<FileDigest>;
}

/**
 * Whole-file digests for finalize, computed once per file version and reused across sweeps.
 * Finalize starts one while a stream's last chunks are still uploading, so the read overlaps
 * the uploads. Chunk ranges are hashed again only where they could have changed after the
 * worker read them (the file was modified after, or shortly before, that read); the rest are
 * known from the upload itself. The whole-file SHA-256 always takes one full pass.
 */
export function createDigestCache(watchDir: string, now: () => number = Date.now) {
  const cache = new Map<string, Entry>();
  const hashing = createLimiter(DIGESTS_PARALLEL);

  const mtimeMs = (facts: FileFacts): number => Number(BigInt(facts.mtimeNs) / 1_000_000n);

  /** The record's bytes were read after the file's last change, so they are the file's bytes. */
  function settled(record: ChunkRecord | undefined, facts: FileFacts): boolean {
    return record?.readAt !== undefined && record.readAt > mtimeMs(facts) + SETTLED_MARGIN_MS;
  }

  function needsHash(records: ReadonlyMap<number, ChunkRecord>, facts: FileFacts, startedAt: number) {
    // a chunk not read yet will be read after startedAt: settled if the file was quiet long before
    const quiet = startedAt > mtimeMs(facts) + SETTLED_MARGIN_MS;
    return (index: number): boolean => {
      const record = records.get(index);
      return record === undefined ? !quiet : !settled(record, facts);
    };
  }

  async function compute(stream: StreamRecord, facts: FileFacts, hash: (index: number) => boolean): Promise<FileDigest> {
    const digest = await hashing(() => digestFile(absoluteIn(watchDir, stream.path), stream.chunkSize, facts.size, hash));
    const after = await readFacts(watchDir, stream.path).catch(() => undefined);
    if (digest.size !== facts.size || after === undefined || !isFileFacts(after) || after.mtimeNs !== facts.mtimeNs || after.size !== facts.size) {
      throw new FileChangedError(`${stream.path} changed while it was hashed`);
    }
    return digest;
  }

  return {
    settled,

    /** The digest of this file version, with every chunk hash `records` cannot vouch for. */
    async get(stream: StreamRecord, facts: FileFacts, records: ReadonlyMap<number, ChunkRecord>): Promise<FileDigest> {
      // a file of one chunk, read after its last change: its upload's hash is the file's hash,
      // and only the first bytes (the MP4 box header) need reading
      const only = records.get(0);
      if (facts.size <= stream.chunkSize && only?.size === facts.size && settled(only, facts)) {
        const head = await readHead(absoluteIn(watchDir, stream.path));
        return { chunks: [only.sha256], sha256: only.sha256, head, size: facts.size };
      }
      const cached = cache.get(stream.id);
      if (cached !== undefined && cached.size === facts.size && cached.mtimeNs === facts.mtimeNs) {
        try {
          const digest = await cached.digest;
          const needed = needsHash(records, facts, now());
          if (digest.chunks.every((hash, index) => hash !== undefined || !needed(index))) return digest;
        } catch {
          // fall through: compute afresh
        }
      }
      const digest = compute(stream, facts, needsHash(records, facts, now()));
      cache.delete(stream.id);
      cache.set(stream.id, { size: facts.size, mtimeNs: facts.mtimeNs, digest });
      if (cache.size > CACHE_LIMIT) {
        const oldest = cache.keys().next().value;
        if (oldest !== undefined) cache.delete(oldest);
      }
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
