/** The records the stream store keeps in Redis, and how a stream hash is read back. */

/** `active` until metadata.json describes the whole file; `aborted` when its file went away. */
export type StreamStatus = 'active' | 'complete' | 'aborted';

/** One version of one file, as kept in `<p>:stream:<id>`. */
export interface StreamRecord {
  readonly id: string;
  /** Relative to WATCH_DIR, `/`-separated. */
  readonly path: string;
  /** Device of the file ('' for streams recorded before vcu kept it). */
  readonly dev: string;
  readonly ino: string;
  readonly birthtimeNs: string;
  /** Bumped when the same inode is truncated: each truncation is a new version. */
  readonly generation: number;
  readonly chunkSize: number;
  /** Size and mtime the watcher last saw. */
  readonly size: number;
  readonly mtimeNs: string;
  /** End of the last byte range enqueued as a chunk job. */
  readonly plannedBytes: number;
  /** The watcher saw `size` as final (idle or sealed): the tail chunk may be planned. */
  readonly idle: boolean;
  readonly committedChunks: number;
  readonly committedBytes: number;
  readonly status: StreamStatus;
  /** Revision of the last metadata.json written; 0 before the first. */
  readonly revision: number;
  /** Created while rescanning files Redis had no record of: chunks may already be in S3. */
  readonly recovered: boolean;
  readonly reason: string | undefined;
  readonly createdAt: number;
  /** Last change of the file as seen, or of the stream's state (ms). */
  readonly updatedAt: number;
  readonly completedAt: number | undefined;
  /** AFTER_UPLOAD=delete moved the file aside under this name (in its folder) to delete it. */
  readonly deletingAs: string | undefined;
}

/** What a worker recorded after S3 confirmed a chunk object. */
export interface ChunkRecord {
  readonly size: number;
  readonly sha256: string;
  readonly etag: string;
  readonly uploadedAt: string;
  /** When the worker started reading these bytes (ms): a file last modified before that cannot have changed them since. */
  readonly readAt?: number;
  /**
   * The file's change time (ns) when the worker opened it to read these bytes: still the same at
   * finalize, nothing changed the file since (a write, or a modification time set back, moves it).
   */
  readonly readCtimeNs?: string;
  /** The epoch marker when the record was made (set by RECORD_CHUNK); '' when Redis had none, or when it replaced a record of other bytes (unproven: see RECORD_CHUNK). */
  readonly epoch?: string;
}

/**
 * The chunk records a metadata.json describes (a complete stream's records are dropped from
 * Redis; its metadata.json keeps them). They carry no etag nor epoch: whoever relies on them
 * checks the objects in S3.
 */
export function recordsFromMetadata(metadata: {
  readonly completedAt: string;
  readonly chunks: readonly { readonly index: number; readonly size: number; readonly sha256: string }[];
}): Map<number, ChunkRecord> {
  return new Map(metadata.chunks.map((c) => [c.index, { size: c.size, sha256: c.sha256, etag: '', uploadedAt: metadata.completedAt, epoch: '' }]));
}

/**
 * Records Redis dropped when the stream completed are still missing: it was described before
 * (revision 1 or more) and its committed prefix has a chunk without a record. A reopened stream
 * (its file grew, was rewritten or chmod-ed) is in that state until its records come back from
 * its metadata.json, even once chunks uploaded since have records of their own.
 */
export function lacksDroppedRecords(stream: Pick<StreamRecord, 'revision' | 'committedChunks'>, records: ReadonlyMap<number, unknown>): boolean {
  if (stream.revision === 0) return false;
  for (let index = 0; index < stream.committedChunks; index += 1) if (!records.has(index)) return true;
  return false;
}

export type NewStream = Pick<StreamRecord, 'id' | 'path' | 'dev' | 'ino' | 'birthtimeNs' | 'generation' | 'chunkSize'>;

/**
 * What the creator of a stream knows about Redis's state. `recovering`: the stream may already
 * have chunks in S3 (a start-up scan or a rescan after a loss). `epoch`: the epoch marker the
 * caller last saw ({@link StreamStore.epoch}); a different one in Redis means Redis lost its
 * data since, and the stream is created as recovered. Omitted: nothing is checked.
 */
export interface Provenance {
  readonly recovering: boolean;
  readonly epoch?: string | undefined;
}

/** One look at a stream's file: its size and times, and whether it is idle (see OBSERVE_STREAM). */
export interface Sighting {
  readonly size: number;
  readonly mtimeNs: string;
  /** The file's change time (ns); '' or undefined when unknown. */
  readonly ctimeNs?: string | undefined;
  readonly idle: boolean;
}

/** A chunk recorded: the stream as it is right after, enough to plan its next chunks. */
export interface Recorded {
  readonly committed: number;
  /** The whole planned file is committed: the stream joined the ready set. */
  readonly ready: boolean;
  readonly committedBytes: number;
  readonly plannedBytes: number;
  readonly size: number;
  readonly idle: boolean;
  readonly status: StreamStatus;
}

/**
 * A stream hash as a record. A complete stream's hash is packed (COMPLETE_STREAM, scripts.ts):
 * its revision, chunk size and times are in `done`, and what follows from its size is derived here.
 */
export function parseStream(id: string, h: Record<string, string>): StreamRecord | undefined {
  if (h['status'] === undefined) return undefined;
  const num = (key: string): number => Number(h[key] ?? '0');
  const packed = unpackDone(h['done']);
  const chunkSize = packed?.chunkSize ?? num('chunkSize');
  const size = num('size');
  const completedAt = packed?.completedAt ?? (h['completedAt'] === undefined ? undefined : num('completedAt'));
  return {
    id,
    path: h['path'] ?? '',
    dev: h['dev'] ?? '',
    ino: h['ino'] ?? '',
    birthtimeNs: h['birthtimeNs'] ?? '0',
    generation: num('generation'),
    chunkSize,
    size,
    mtimeNs: h['mtimeNs'] ?? '',
    plannedBytes: packed === undefined ? num('plannedBytes') : size,
    idle: h['idle'] === '1',
    committedChunks: packed === undefined || chunkSize <= 0 ? num('committedChunks') : Math.ceil(size / chunkSize),
    committedBytes: packed === undefined ? num('committedBytes') : size,
    status: h['status'] as StreamStatus,
    revision: packed?.revision ?? num('revision'),
    recovered: h['recovered'] === '1',
    reason: h['reason'],
    createdAt: packed?.createdAt ?? num('createdAt'),
    updatedAt: packed?.completedAt ?? num('updatedAt'),
    completedAt,
    deletingAs: h['deletingAs'],
  };
}

/** The `done` field of a complete stream's packed hash: "<revision> <chunkSize> <createdAt> <completedAt - createdAt>". */
function unpackDone(done: string | undefined): { revision: number; chunkSize: number; createdAt: number; completedAt: number } | undefined {
  const match = done === undefined ? null : /^(\d+) (\d+) (\d+) (\d+)$/.exec(done);
  if (match === null) return undefined;
  const createdAt = Number(match[3]);
  return { revision: Number(match[1]), chunkSize: Number(match[2]), createdAt, completedAt: createdAt + Number(match[4]) };
}
