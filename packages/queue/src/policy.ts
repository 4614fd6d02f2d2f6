import type { JobsOptions } from 'bullmq';
import type { JobName } from './jobs.js';

/** Backoff type registered by {@link backoffStrategy}; BullMQ calls it with the attempts made. */
export const CAPPED_BACKOFF = 'capped-jitter';

export interface RetryPolicy {
  readonly attempts: number;
  /** First retry delay; doubles per attempt up to {@link RetryPolicy.maxDelayMs}. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Completed jobs kept (the most recent; KEEP_COMPLETED_JOBS for chunks): while kept, re-adding the same id is a no-op. */
  readonly keepCompleted: { readonly count: number };
  /** Failed jobs kept until handled (retried or removed), up to this many. */
  readonly keepFailed: { readonly count: number };
}

/**
 * Retry policy is data. Chunk uploads retry for days with a capped, jittered backoff, so no
 * outage of S3 or the volume can push a job to the failed set; only permanent errors
 * (UnrecoverableError: file gone, replaced, unreadable) end a job early.
 */
export const RETRY_POLICY: { readonly [N in JobName]: RetryPolicy } = {
  'upload-chunk': {
    attempts: 20_000,
    baseDelayMs: 500,
    maxDelayMs: 30_000,
    keepCompleted: { count: 1000 },
    keepFailed: { count: 100_000 },
  },
  finalize: {
    attempts: 1,
    baseDelayMs: 1000,
    maxDelayMs: 1000,
    keepCompleted: { count: 100 },
    keepFailed: { count: 1000 },
  },
};

/** A job's options from its policy; `keepCompleted` overrides how many finished jobs are kept (KEEP_COMPLETED_JOBS). */
export function jobOptions(name: JobName, keepCompleted?: number): JobsOptions {
  const policy = RETRY_POLICY[name];
  return {
    attempts: policy.attempts,
    backoff: { type: CAPPED_BACKOFF },
    removeOnComplete: { count: keepCompleted ?? policy.keepCompleted.count },
    removeOnFail: policy.keepFailed,
  };
}

/** Exponential from `baseDelayMs`, capped at `maxDelayMs`, with ±25 % jitter so retries spread out. */
export function retryDelayMs(name: JobName, attemptsMade: number, random: () => number = Math.random): number {
  const policy = RETRY_POLICY[name];
  const exponent = Math.min(Math.max(attemptsMade - 1, 0), 30);
  const delay = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** exponent);
  return Math.round(delay * (0.75 + random() * 0.5));
}

/** For `new Worker(…, { settings: { backoffStrategy } })`. */
export function backoffStrategy(name: JobName) {
  return (attemptsMade: number): number => retryDelayMs(name, attemptsMade);
}
