import { type Job, UnrecoverableError } from 'bullmq';
import type { Config } from '@vcu/config';
import { type Logger, describeError, logEvent } from '@vcu/logger';
import type { JobMap, JobName } from '@vcu/queue';
import { type Target, classifyS3Error, ensureBucket, httpStatusOf, isS3ClientError } from '@vcu/storage';

/** One handler per job name; a missing one fails to compile. */
export type Handlers = { readonly [N in JobName]: (job: Job<JobMap[N]>) => Promise<unknown> };

const S3_HINTS: Record<ReturnType<typeof classifyS3Error>, string> = {
  unreachable: 'S3 unreachable',
  server: 'S3 server error',
  'not-found': 'not found in S3',
  denied: 'S3 refused the credentials or permissions',
  refused: 'S3 refused the request',
};

/** S3 errors that say the request itself can never succeed, however often it is sent. */
const PERMANENT_S3 = new Set(['EntityTooLarge', 'EntityTooSmall', 'InvalidArgument', 'KeyTooLongError', 'MetadataTooLarge', 'InvalidDigest']);

/**
 * True for a failure no retry can mend: the job says so (UnrecoverableError), S3 refused the
 * request as impossible, or Node refused an argument or a size (a RangeError, an ERR_* code). A
 * job meeting one fails once with the reason instead of retrying 20,000 times. Outages, timeouts
 * and refused credentials are not permanent: they end when someone acts.
 */
export function isPermanentFailure(err: unknown): boolean {
  if (err instanceof UnrecoverableError) return true;
  if (isS3ClientError(err)) return PERMANENT_S3.has(String((err as { name?: unknown }).name));
  if (err instanceof RangeError || err instanceof TypeError) return true;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_') && !code.startsWith('ERR_STREAM_PREMATURE');
}

/** The log fields of a failure: the error in one line and, for S3 errors, what kind it was. */
export function describeFailure(err: unknown): Record<string, unknown> {
  const isSdk = isS3ClientError(err);
  return {
    err: describeError(err),
    ...(isSdk ? { s3: S3_HINTS[classifyS3Error(err)], status: httpStatusOf(err) } : {}),
  };
}

/**
 * Waits until the bucket exists (creating it when missing). A wrong credential or an
 * unreachable server is logged clearly and tried again every few seconds, not crash-looped.
 */
export async function waitForBucket({ target, config, logger }: { target: Target; config: Config; logger: Logger }): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      const created = await ensureBucket(target, config.s3.region, config.s3.endpoint === undefined);
      logEvent(logger, 'bucket.ready', { bucket: target.bucket, created });
      return;
    } catch (err) {
      const delay = Math.min(1000 * attempt, 10_000);
      logEvent(logger, 'bucket.unusable', {
        retryInMs: delay,
        bucket: target.bucket,
        endpoint: config.s3.endpoint ?? 'AWS S3',
        ...describeFailure(err),
      });
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

