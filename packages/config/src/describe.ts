import type { Config, RedisTopology } from './config.js';
import { formatBytes } from './parse.js';
import { redactUrl } from './redact.js';

/** The settings worth a start-up log line, with every secret left out or redacted. */
export function describeConfig(config: Config): Record<string, unknown> {
  return {
    redis: redactUrl(config.redis.url),
    ...describeTopology(config.redis.topology),
    redisKeyPrefix: config.redis.keyPrefix,
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

function describeTopology(topology: RedisTopology): Record<string, string> {
  const list = (servers: readonly { host: string; port: number }[]): string => servers.map((s) => `${s.host}:${s.port}`).join(',');
  if (topology.kind === 'sentinel') return { redisSentinels: list(topology.sentinels), redisSentinelName: topology.name };
  if (topology.kind === 'cluster') return { redisClusterNodes: list(topology.nodes) };
  return {};
}
