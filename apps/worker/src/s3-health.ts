import { type Logger, logEvent } from '@vcu/logger';
import { type Target, classifyS3Error, ensureBucket, isTransientS3Error } from '@vcu/storage';
import { describeFailure } from './runtime.js';

export interface S3HealthDeps {
  readonly target: Target;
  readonly endpoint: string;
  readonly region: string;
  readonly awsLocation: boolean;
  readonly probeEveryMs: number;
  readonly logger: Logger;
  /** S3 stopped answering: stop taking chunks (they would only burn attempts). */
  readonly onDown: () => Promise<void>;
  /** S3 answers again: take chunks again, and retry the waiting ones now rather than at their backoff. */
  readonly onUp: () => Promise<void>;
}

/**
 * Tracks whether S3 answers. The first transient failure (no connection, timeout, 5xx) marks it
 * down, logs that once in plain words, and probes the bucket until it answers; then it logs how
 * long S3 was away and resumes. Refusals (wrong credentials) are not outages and are left to the
 * job's own retries and logs.
 */
export function createS3Health(deps: S3HealthDeps) {
  const log = deps.logger.child({ module: 's3-health' });
  let downSince: number | undefined;
  let stopped = false;

  async function probe(): Promise<void> {
    while (!stopped && downSince !== undefined) {
      await new Promise((resolve) => setTimeout(resolve, deps.probeEveryMs));
      try {
        await ensureBucket(deps.target, deps.region, deps.awsLocation);
      } catch (err) {
        log.debug('S3 still unreachable', { err: describeFailure(err).err });
        continue;
      }
      const seconds = Math.round((Date.now() - downSince) / 1000);
      downSince = undefined;
      logEvent(log, 's3.up', { endpoint: deps.endpoint, downSeconds: seconds });
      await deps.onUp();
    }
  }

  return {
    get up(): boolean {
      return downSince === undefined;
    },

    /** Every failure of a job passes through here; only the S3 client's own can mean an outage. */
    report(err: unknown): void {
      if (downSince !== undefined || stopped || !isTransientS3Error(err)) return;
      downSince = Date.now();
      logEvent(log, 's3.down', {
        endpoint: deps.endpoint,
        kind: classifyS3Error(err),
        ...describeFailure(err),
      });
      // the probe must start whatever pausing did, or the worker would stay "down" for good
      void deps
        .onDown()
        .catch((e: unknown) => logEvent(log, 's3.pause-failed', { err: e }))
        .then(() => probe())
        .catch((e: unknown) => {
          downSince = undefined;
          logEvent(log, 's3.probe-stopped', { err: e });
        });
    },

    stop(): void {
      stopped = true;
    },
  };
}

export type S3Health = ReturnType<typeof createS3Health>;
