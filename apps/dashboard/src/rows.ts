import { chunkRanges } from '@vcu/domain';
import { printable } from '@vcu/files';
import type { ChunkRecord } from '@vcu/state';
import { metadataKey } from '@vcu/storage';
import { CHUNK_STATES, type ChunkRow, type ChunkState, type StreamDetail, type StreamRow, type StreamState } from './web/api.js';
import type { ListedStream } from './streams-data.js';

/** A chunk job that failed for good (BullMQ's failed set), by its payload. */
export interface FailedChunk {
  readonly index: number;
  readonly size: number;
}

/** The chunks of a stream shown in its detail view; the counts cover all of them. */
export const CHUNK_ROWS = 1000;

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * A stream's state on the page: its status, but an unfinished stream with a failed chunk job
 * past its committed prefix is `failed` (stuck until the job is retried). A failed job of a chunk
 * inside the prefix is an old one: that chunk was uploaded since.
 */
export function stateOf(stream: { readonly status: string; readonly committedChunks: number }, failed: readonly FailedChunk[] = []): StreamState {
  if (stream.status === 'complete' || stream.status === 'aborted') return stream.status;
  return failed.some((f) => f.index >= stream.committedChunks) ? 'failed' : 'active';
}

/** A row of `GET /api/streams`; `path` as vcu holds it, `name` fit to show. */
export function streamRow(stream: ListedStream, failed: readonly FailedChunk[] | undefined, bytesPerSecond: number | null): StreamRow {
  const size = Math.max(stream.size, 0);
  return {
    id: stream.id,
    path: stream.path,
    name: printable(stream.path),
    status: stream.status,
    state: stateOf(stream, failed),
    size,
    committedBytes: stream.committedBytes,
    chunksDone: stream.chunksDone,
    chunksTotal: size > 0 && stream.chunkSize > 0 ? Math.ceil(size / stream.chunkSize) : 0,
    revision: stream.revision,
    ...(stream.reason === undefined ? {} : { reason: stream.reason }),
    createdAt: iso(stream.createdAt),
    updatedAt: iso(stream.updatedAt),
    completedAt: stream.completedAt === undefined ? null : iso(stream.completedAt),
    bytesPerSecond,
  };
}

/** What one chunk is doing (see {@link ChunkState}). */
function chunkState(range: { index: number; offset: number; size: number }, record: ChunkRecord | undefined, failed: readonly FailedChunk[], plannedBytes: number): ChunkState {
  if (record?.size === range.size) return 'uploaded';
  if (failed.some((f) => f.index === range.index && f.size === range.size)) return 'failed';
  if (record !== undefined) return 'changed';
  return range.offset < plannedBytes ? 'queued' : 'not-planned';
}

export interface DetailInput {
  readonly stream: ListedStream;
  readonly records: ReadonlyMap<number, ChunkRecord>;
  readonly failed: readonly FailedChunk[];
  readonly bytesPerSecond: number | null;
  /** S3_PREFIX, for the metadata.json key. */
  readonly prefix: string;
  readonly now: number;
}

/** `GET /api/streams/:id`: the stream, its first chunks and counts of all, where its metadata.json is. */
export function streamDetail({ stream, records, failed, bytesPerSecond, prefix, now }: DetailInput): StreamDetail {
  const chunkCounts = Object.fromEntries(CHUNK_STATES.map((s) => [s, 0])) as Record<ChunkState, number>;
  const chunks: ChunkRow[] = [];
  const ranges = stream.chunkSize > 0 ? chunkRanges(Math.max(stream.size, 0), stream.chunkSize) : [];
  for (const range of ranges) {
    const record = records.get(range.index);
    const state = chunkState(range, record, failed, stream.plannedBytes);
    chunkCounts[state] += 1;
    if (chunks.length < CHUNK_ROWS) chunks.push({ ...range, state, sha256: record?.sha256 ?? null, uploadedAt: record?.uploadedAt ?? null });
  }
  return {
    stream: streamRow(stream, failed, bytesPerSecond),
    chunks,
    chunksShown: chunks.length,
    chunkCounts,
    metadata: stream.revision > 0 ? { key: metadataKey(prefix, stream.id), url: `/api/streams/${stream.id}/metadata.json` } : null,
    now: iso(now),
  };
}
