import type { Redis } from 'ioredis';
import { describeError } from '@vcu/logger';

export interface HealthReport {
  readonly ok: boolean;
  /** `up`, or why not. */
  readonly redis: string;
  /** `up`, `not checked` (no S3 in this process), or why not. */
  readonly s3: string;
}

export interface HealthCheck {
  check(): Promise<HealthReport>;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Is Redis answering (PING), and is the bucket reachable (`probeS3`, e.g. a HEAD of the bucket)?
 * Each answer says why not. Results are reused for `cacheMs`, so frequent probes and scrapes cost
 * one check. The S3 probe is passed in, so a process without S3 (the watcher) never loads the SDK.
 */
export function createHealthCheck({
  redis,
  probeS3,
  timeoutMs = 3000,
  cacheMs = 2000,
}: {
  redis: Redis;
  probeS3?: () => Promise<unknown>;
  timeoutMs?: number;
  cacheMs?: number;
}): HealthCheck {
  let cached: { at: number; report: Promise<HealthReport> } | undefined;

  async function run(): Promise<HealthReport> {
    const [redisState, s3State] = await Promise.all([
      redis.status !== 'ready'
        ? Promise.resolve(`not connected (${redis.status})`)
        : withTimeout(redis.ping(), timeoutMs, 'Redis').then(
            () => 'up',
            (err: unknown) => describeError(err),
          ),
      probeS3 === undefined
        ? Promise.resolve('not checked')
        : withTimeout(probeS3(), timeoutMs, 'S3').then(
            () => 'up',
            (err: unknown) => describeError(err),
          ),
    ]);
    return { ok: redisState === 'up' && (s3State === 'up' || s3State === 'not checked'), redis: redisState, s3: s3State };
  }

  return {
    check() {
      const now = Date.now();
      if (cached === undefined || now - cached.at > cacheMs) cached = { at: now, report: run() };
      return cached.report;
    },
  };
}
