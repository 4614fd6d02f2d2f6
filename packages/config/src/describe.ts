import type { Config } from './config.js';
import { formatBytes } from './parse.js';
import { redactUrl } from './redact.js';

/** The settings worth a start-up log line, with every secret left out or redacted. */
export function describeConfig(config: Config): Record<string, unknown> {
  return {
    redis: redactUrl(config.redis.url),
    redisPrefix: config.redis.prefix,
    s3: config.s3.endpoint === undefined ? 'AWS S3' : redactUrl(config.s3.endpoint),
    bucket: config.s3.bucket,
    s3Prefix: config.s3.prefix,
    watchDir: config.watch.dir,
    patterns: config.watch.patterns,
    chunkSize: formatBytes(config.chunkSize),
    streamIdleMs: config.streamIdleMs,
    finalizeEveryMs: config.finalizeEveryMs,
    concurrency: config.worker.concurrency,
  };
}
