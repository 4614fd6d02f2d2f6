import type { Config } from '@vcu/config';
import { type Logger, logEvent, onceIn } from '@vcu/logger';
import { type Queues, createQueues } from '@vcu/queue';
import { createRedis, reportOutOfMemory } from '@vcu/redis';
import { type StreamStore, createStreamStore } from '@vcu/state';
import type { Redis } from 'ioredis';

export interface Connected {
  readonly redis: Redis;
  readonly queues: Queues;
  readonly store: StreamStore;
  /** True for the first report of each distinct connection failure in a minute: log those only. */
  readonly connectionWarning: (text: string) => boolean;
  /** Says "Redis is out of memory" (once a minute) when an error is its OOM reply; returns whether it was. */
  readonly outOfMemory: (err: unknown) => boolean;
  /** A small write for health checks: Redis out of memory answers PING but refuses writes. */
  readonly probeWrite: () => Promise<unknown>;
}

/**
 * Every app's Redis side: one connection that waits out outages, both queues on it (their errors
 * observed, repeats of the same failure said once a minute), and the stream store.
 */
export function connect({ config, logger, name }: { config: Config; logger: Logger; name: string }): Connected {
  const connectionWarning = onceIn(60_000);
  const outOfMemory = reportOutOfMemory(logger);
  const redis = createRedis({ url: config.redis.url, name, log: logger });
  const queues = createQueues({
    connection: redis,
    prefix: config.redis.prefix,
    onError: (err, queue) => outOfMemory(err) || (connectionWarning(err.message) && logEvent(logger, 'queue.error', { queue, err })),
    keepCompletedJobs: config.keepCompletedJobs,
  });
  const store = createStreamStore({ redis, prefix: config.redis.prefix });
  const probeWrite = () => redis.set(store.keys.health(), String(Date.now()), 'PX', 60_000);
  return { redis, queues, store, connectionWarning, outOfMemory, probeWrite };
}
