/**
 * The dashboard's JSON API, one contract for the server (apps/dashboard/src) and the streams page
 * (src/web, run in the browser): the types, and the states in the order the page lists them.
 */

/**
 * What a stream is doing, as the page shows it: its status in Redis, except that an unfinished
 * stream waiting on a chunk whose job failed for good (BullMQ's failed set) is `failed`: stuck
 * until someone retries the job (Bull Board, or `vcu retry-failed`).
 */
export type StreamState = 'active' | 'complete' | 'aborted' | 'failed';

export const STREAM_STATES: readonly StreamState[] = ['active', 'complete', 'aborted', 'failed'];

/** What a `failed` stream waits for, said where it is shown. */
export const FAILED_HINT = 'a chunk job failed for good: retry it in Bull Board (/queues) or with `vcu retry-failed`';

/** One stream: a row of `GET /api/streams` and of the streams page. */
export interface StreamRow {
  readonly id: string;
  /** Relative to WATCH_DIR, as vcu holds it: a byte that is not UTF-8 is U+0000 and two hex digits. */
  readonly path: string;
  /** `path` fit to show: control characters and bytes that are not UTF-8 written as `\n`, `\xNN`. */
  readonly name: string;
  /** The status in Redis: active, complete or aborted. */
  readonly status: string;
  readonly state: StreamState;
  /** Bytes of the file as the watcher last saw it. */
  readonly size: number;
  /** Bytes uploaded and recorded from the start of the file without a gap. */
  readonly committedBytes: number;
  readonly chunksDone: number;
  readonly chunksTotal: number;
  /** Revision of the last metadata.json written; 0 before the first. */
  readonly revision: number;
  /** Why it was aborted. */
  readonly reason?: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly completedAt: string | null;
  /** Committed bytes per second over the last {@link Throughput.rateWindowMs}; null when unknown (not sampled long enough). */
  readonly bytesPerSecond: number | null;
}

/** `GET /api/streams?limit=&cursor=`: newest first. */
export interface StreamPage {
  readonly streams: readonly StreamRow[];
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  readonly next: string | null;
  /** The server's clock (ISO-8601), so ages do not depend on the browser's. */
  readonly now: string;
}

/**
 * A chunk of a stream: `uploaded` (recorded with its current size), `changed` (recorded, but the
 * file grew or changed since: a new upload is due), `queued` (its job is waiting or running),
 * `failed` (its job failed for good), `not-planned` (no job yet: the file is not that long yet,
 * or the chunk is beyond the planning window).
 */
export type ChunkState = 'uploaded' | 'changed' | 'queued' | 'failed' | 'not-planned';

export const CHUNK_STATES: readonly ChunkState[] = ['uploaded', 'changed', 'queued', 'failed', 'not-planned'];

export interface ChunkRow {
  readonly index: number;
  readonly offset: number;
  /** Bytes of the chunk as the file is now. */
  readonly size: number;
  readonly state: ChunkState;
  /** Of the recorded upload; null when none. */
  readonly sha256: string | null;
  readonly uploadedAt: string | null;
}

/** `GET /api/streams/:id`. */
export interface StreamDetail {
  readonly stream: StreamRow;
  /** The first {@link chunksShown} chunks, in order. */
  readonly chunks: readonly ChunkRow[];
  readonly chunksShown: number;
  /** Chunks per state, over every chunk of the stream. */
  readonly chunkCounts: Readonly<Record<ChunkState, number>>;
  /** Where its metadata.json is; null before the first is written. */
  readonly metadata: { readonly key: string; readonly url: string } | null;
  readonly now: string;
}

/** A point of the throughput chart: committed bytes per second from one sample (`from`) to the next (`at`). */
export interface ThroughputPoint {
  readonly from: string;
  readonly at: string;
  readonly bytesPerSecond: number;
}

export interface Throughput {
  /** How often the dashboard samples (ms). */
  readonly everyMs: number;
  /** How far back the points go (ms), at most. */
  readonly keepMs: number;
  /** The span a stream's `bytesPerSecond` is averaged over (ms). */
  readonly rateWindowMs: number;
  /** Oldest first. */
  readonly points: readonly ThroughputPoint[];
}

/** `GET /api/summary`. */
export interface Summary {
  /** Streams per state, as of the last sample; zeros before the first. */
  readonly counts: Readonly<Record<StreamState, number>>;
  /** False when there were more streams than one sample reads (LIST_WINDOW): the counts are of those it read. */
  readonly countsComplete: boolean;
  readonly sampledAt: string | null;
  readonly throughput: Throughput;
  readonly now: string;
}
