import { isUtf8 } from 'node:buffer';
import type { ChunkRange } from './plan.js';

/** What the first bytes of a file say about its container. */
export interface Container {
  readonly recognisedMp4: boolean;
  /** The type of the first ISO-BMFF box, or null when the first 8 bytes are not a box header. */
  readonly firstBox: string | null;
}

/** metadata.json, schema version 1: the contract consumers rely on. */
export interface StreamMetadata {
  readonly schemaVersion: 1;
  readonly streamId: string;
  readonly revision: number;
  readonly source: {
    /**
     * Relative to WATCH_DIR, `/`-separated, as text: a name that is not valid UTF-8 has each of
     * its invalid sequences shown as U+FFFD (lossy; `pathBytes` then holds the name).
     */
    readonly path: string;
    /**
     * Base64 of the path's raw bytes (relative to WATCH_DIR), only when they are not valid UTF-8:
     * the lossless name. Added within schema version 1; absent for every UTF-8 name.
     */
    readonly pathBytes?: string;
    readonly size: number;
    readonly modifiedAt: string;
  };
  readonly chunkSize: number;
  readonly chunks: readonly {
    readonly index: number;
    readonly key: string;
    readonly offset: number;
    readonly size: number;
    readonly sha256: string;
  }[];
  /** SHA-256 (hex) of the whole file. */
  readonly sha256: string;
  /** Whether the bytes look like an ISO-BMFF/MP4 file (an `ftyp`, `moov`, `mdat`… box first). */
  readonly container: Container;
  /** Facts read from the file with mp4box; null when it is not a readable MP4, with the reason in mp4Reason. */
  readonly mp4: unknown;
  readonly mp4Reason?: string;
  /** The one object S3 joined from the chunks (ASSEMBLE=true), verified to have the file's size. */
  readonly assembled?: { readonly key: string; readonly size: number; readonly etag: string };
  readonly createdAt: string;
  readonly completedAt: string;
}

export interface MetadataInput {
  readonly streamId: string;
  readonly revision: number;
  /** The path relative to WATCH_DIR as the file system has it: raw bytes, not necessarily UTF-8. */
  readonly pathBytes: Uint8Array;
  readonly size: number;
  readonly mtimeMs: number;
  readonly chunkSize: number;
  readonly chunks: readonly (ChunkRange & { readonly sha256: string })[];
  readonly keyOf: (index: number) => string;
  readonly sha256: string;
  /** Whether the bytes look like an MP4 (from @vcu/mp4's describeContainer). */
  readonly container: Container;
  readonly createdAtMs: number;
  readonly completedAtMs: number;
  readonly assembled?: StreamMetadata['assembled'];
  /** From @vcu/mp4's probe: the facts, or null and why. */
  readonly mp4: { readonly mp4: unknown; readonly reason?: string | undefined };
}

function describeSource(input: MetadataInput): StreamMetadata['source'] {
  const bytes = Buffer.from(input.pathBytes);
  return {
    path: bytes.toString('utf8'),
    ...(isUtf8(bytes) ? {} : { pathBytes: bytes.toString('base64') }),
    size: input.size,
    modifiedAt: new Date(input.mtimeMs).toISOString(),
  };
}

/** Builds metadata.json from a verified stream. Pure: every fact is passed in. */
export function buildMetadata(input: MetadataInput): StreamMetadata {
  return {
    schemaVersion: 1,
    streamId: input.streamId,
    revision: input.revision,
    source: describeSource(input),
    chunkSize: input.chunkSize,
    chunks: input.chunks.map((c) => ({
      index: c.index,
      key: input.keyOf(c.index),
      offset: c.offset,
      size: c.size,
      sha256: c.sha256,
    })),
    sha256: input.sha256,
    container: input.container,
    mp4: input.mp4.mp4,
    ...(input.mp4.reason === undefined ? {} : { mp4Reason: input.mp4.reason }),
    ...(input.assembled === undefined ? {} : { assembled: input.assembled }),
    createdAt: new Date(input.createdAtMs).toISOString(),
    completedAt: new Date(input.completedAtMs).toISOString(),
  };
}
