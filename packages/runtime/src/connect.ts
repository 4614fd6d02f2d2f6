import type { Config } from '@vcu/config';
import { type Logger, logEvent, onceIn } from '@vcu/logger';
import { type Queues, createQueues } from '@vcu/queue';
import { type RedisClient, createRedis, reportOutOfMemory } from '@vcu/redis';
import { type StreamStore, createStreamStore } from '@vcu/state';

export interface Connected {
  readonly redis: RedisClient;
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
export function connect({ config, logger, name, retriesPerCommand }: { config: Config; logger: Logger; name: string; retriesPerCommand?: number }): Connected {
  const connectionWarning = onceIn(60_000);
  const outOfMemory = reportOutOfMemory(logger);
  const redis = createRedis({ redis: config.redis, name, log: logger, ...(retriesPerCommand === undefined ? {} : { retriesPerCommand }) });
  const queues = createQueues({
    connection: redis,
    prefix: config.redis.keyPrefix,
    onError: (err, queue) => outOfMemory(err) || (connectionWarning(err.message) && logEvent(logger, 'queue.error', { queue, err })),
    keepCompletedJobs: config.keepCompletedJobs,
  });
  const store = createStreamStore({ redis, prefix: config.redis.keyPrefix });
  const probeWrite = () => redis.set(store.keys.health(), String(Date.now()), 'PX', 60_000);
  return { redis, queues, store, connectionWarning, outOfMemory, probeWrite };
}
