/**
 * The one typed contract for jobs: every job name, the queue it runs on and its payload.
 * Producers and consumers both type-check against {@link JobMap}.
 */

/** Upload one byte range of a watched file as one chunk object. */
export interface UploadChunkPayload {
  readonly streamId: string;
  /** Path relative to WATCH_DIR, with `/` separators. */
  readonly path: string;
  /** The file version the chunk belongs to: a different inode means the file was replaced. */
  readonly ino: string;
  readonly index: number;
  /** Always `index * chunkSize`; carried so a worker needs no lookup to read the range. */
  readonly offset: number;
  readonly size: number;
  /** Why it was enqueued: `grow` (new bytes), `verify` (finalize found changed or missing bytes). */
  readonly reason: 'grow' | 'verify';
}

/**
 * One sweep. The scheduler's (empty payload) looks at every idle stream; `ready` is a sweep a
 * worker asked for when it recorded a stream's last chunk, which takes only such streams.
 */
export interface FinalizePayload {
  readonly ready?: boolean;
}

export interface JobMap {
  'upload-chunk': UploadChunkPayload;
  finalize: FinalizePayload;
}
export type JobName = keyof JobMap;

/** Queue names (BullMQ keys are `<REDIS_PREFIX>:<queue>:…`). Finalize has its own queue so it never waits behind chunks. */
export const QUEUE_OF = {
  'upload-chunk': 'chunks',
  finalize: 'finalize',
} as const satisfies Record<JobName, string>;
export type QueueName = (typeof QUEUE_OF)[JobName];

/** The one id of the finalize job scheduler, shared by every worker replica. */
export const FINALIZE_SCHEDULER_ID = 'finalize';

/**
 * Deterministic chunk job ids make duplicate enqueues no-ops while the job is known to BullMQ:
 * a watcher restart or a second finalize sweep re-adds the same id. The size is part of the id
 * because a growing tail chunk is a different upload; `sha` tags a re-upload of changed bytes.
 */
export function chunkJobId(streamId: string, index: number, size: number, sha256?: string): string {
  const base = `${streamId}-${index}-${size}`;
  return sha256 === undefined ? base : `${base}-${sha256.slice(0, 16)}`;
}
