import type { Logger } from '@vcu/logger';
import type { Queues } from '@vcu/queue';
import type { StreamStore } from '@vcu/state';
import type { Target } from '@vcu/storage';
import type { Streams } from '@vcu/streams';
import type { DigestCache } from './digests.js';

export interface FinalizeDeps {
  readonly watchDir: string;
  readonly s3Prefix: string;
  readonly streamIdleMs: number;
  readonly store: StreamStore;
  readonly queues: Pick<Queues, 'chunks'>;
  readonly target: Target;
  readonly streams: Pick<Streams, 'observe' | 'advance' | 'retire'>;
  readonly logger: Logger;
  readonly now?: () => number;
  /** False while S3 is known to be unreachable: the sweep then waits instead of failing per stream. */
  readonly s3Up?: () => boolean;
  readonly onFailure?: (err: unknown) => void;
  /** A metadata.json was written. */
  readonly onComplete?: () => void;
  /**
   * How long a stream whose chunk jobs are enqueued is left to the workers before finalize
   * checks that its jobs still exist (JOB_LOCK_MS: a killed worker's job is back by then too).
   */
  readonly uploadGraceMs?: number;
  /** ASSEMBLE=true: join the chunks into one object under this key template before writing metadata. */
  readonly assemble?: { readonly keyTemplate: string };
  /** How long Redis keeps a finished stream whose file left WATCH_DIR (FORGET_AFTER_MS). */
  readonly forgetAfterMs: number;
  /**
   * AFTER_UPLOAD and DELETE_AFTER_MS; `seesWriters`: whether /proc shows every process that writes
   * to a file (SEAL_WHEN_CLOSED decides, as for the watcher): a file open for writing is not deleted.
   */
  readonly afterUpload?: { readonly mode: 'keep' | 'delete'; readonly deleteAfterMs: number; readonly seesWriters: boolean };
}

/** What every finalize step works with: the dependencies, one logger, the digest cache, the clock. */
export interface FinalizeContext extends FinalizeDeps {
  readonly log: Logger;
  readonly digests: DigestCache;
  readonly now: () => number;
  /**
   * True the first time a key is seen in a while (ten minutes): a line about a stream that stays
   * stuck, or a permanent error, is logged once a while, not on every sweep.
   */
  readonly firstInAWhile: (key: string) => boolean;
  /**
   * Runs the heavy part of a stream's finalize (HEADs of chunks recorded before Redis lost data,
   * an assembly's part copies, the MP4 probe) within the sweep's bound for them (HEAVY_PARALLEL),
   * however many streams it finalizes at once.
   */
  readonly heavy: <T>(work: () => Promise<T>) => Promise<T>;
}

/** What one sweep did to one stream. */
export type StreamOutcome = 'complete' | 'pending' | 'changed' | 'aborted' | 'stuck' | 'skipped' | 'failed';
