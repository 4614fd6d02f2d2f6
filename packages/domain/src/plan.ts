/** One chunk's byte range: `[offset, offset + size)`, `offset = index * chunkSize`. */
export interface ChunkRange {
  readonly index: number;
  readonly offset: number;
  readonly size: number;
}

/** Every chunk of a file of `size` bytes, the last one possibly partial. An empty file has none. */
export function chunkRanges(size: number, chunkSize: number): ChunkRange[] {
  const ranges: ChunkRange[] = [];
  for (let offset = 0, index = 0; offset < size; offset += chunkSize, index += 1) {
    ranges.push({ index, offset, size: Math.min(chunkSize, size - offset) });
  }
  return ranges;
}

export interface PlanInput {
  /** Current file size. */
  readonly size: number;
  readonly chunkSize: number;
  /** End of the byte range already enqueued for this stream. */
  readonly plannedBytes: number;
  /** The file has not changed for STREAM_IDLE_MS (or was sealed): its last, partial chunk can go too. */
  readonly idle: boolean;
  /** End of the contiguous prefix of uploaded chunks. */
  readonly committedBytes: number;
  /** Most chunks enqueued ahead of the committed prefix (see {@link PLAN_WINDOW_CHUNKS}). */
  readonly window: number;
}

export interface Plan {
  readonly chunks: ChunkRange[];
  /** The new end of what is enqueued (never less than before). */
  readonly plannedBytes: number;
}

/**
 * Chunks enqueued ahead of the committed prefix of a stream, at most. A file of any size, sparse or
 * not, costs the watcher and Redis this many jobs at a time; the rest are planned as chunks are
 * uploaded. Enough to keep many workers busy on one file (256 × 10 MiB = 2.5 GiB ahead).
 */
export const PLAN_WINDOW_CHUNKS = 256;

/**
 * Which chunks to enqueue now. Full chunks go as soon as the file is long enough; the last,
 * partial chunk only when the file is idle. Nothing is planned beyond `window` chunks past the
 * committed prefix. A chunk enqueued while partial is planned again once the file has grown past
 * it (it is a different upload with a different job id).
 */
export function planChunks({ size, chunkSize, plannedBytes, idle, committedBytes, window }: PlanInput): Plan {
  const fullEnd = Math.floor(size / chunkSize) * chunkSize;
  const windowEnd = (Math.floor(committedBytes / chunkSize) + window) * chunkSize;
  const end = Math.min(idle ? size : fullEnd, windowEnd);
  if (end <= plannedBytes) return { chunks: [], plannedBytes };
  const chunks: ChunkRange[] = [];
  for (let offset = Math.floor(plannedBytes / chunkSize) * chunkSize; offset < end; offset += chunkSize) {
    chunks.push({ index: offset / chunkSize, offset, size: Math.min(chunkSize, end - offset) });
  }
  return { chunks, plannedBytes: end };
}
