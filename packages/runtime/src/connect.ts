import type { Config } from '@vcu/config';
import { type Logger, logEvent, onceIn } from '@vcu/logger';
import { type Queues, createQueues } from '@vcu/queue';
import { createRedis } from '@vcu/redis';
import { type StreamStore, createStreamStore } from '@vcu/state';
import type { Redis } from 'ioredis';

export interface Connected {
  readonly redis: Redis;
  readonly queues: Queues;
  readonly store: StreamStore;
  /** True for the first report of each distinct connection failure in a minute: log those only. */
  readonly connectionWarning: (text: string) => boolean;
}

/**
 * Every app's Redis side: one connection that waits out outages, both queues on it (their errors
 * observed, repeats of the same failure said once a minute), and the stream store.
 */
export function connect({ config, logger, name }: { config: Config; logger: Logger; name: string }): Connected {
  const connectionWarning = onceIn(60_000);
  const redis = createRedis({ url: config.redis.url, name, log: logger });
  const queues = createQueues({
    connection: redis,
    prefix: config.redis.prefix,
    onError: (err, queue) => connectionWarning(err.message) && logEvent(logger, 'queue.error', { queue, err }),
  });
  const store = createStreamStore({ redis, prefix: config.redis.prefix });
  return { redis, queues, store, connectionWarning };
}
