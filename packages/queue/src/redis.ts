import { Redis } from 'ioredis';

export interface RedisOptions {
  readonly url: string;
  /** Shown in `CLIENT LIST` and in our logs. */
  readonly name: string;
  readonly log: {
    warn(message: string, meta?: Record<string, unknown>): unknown;
    info(message: string, meta?: Record<string, unknown>): unknown;
  };
}

/**
 * A Redis connection that waits out outages instead of failing commands
 * (`maxRetriesPerRequest: null`, as BullMQ workers require), reconnects forever with a capped
 * delay, and says once when Redis goes away and once when it is back, not on every retry.
 */
export function createRedis({ url, name, log }: RedisOptions): Redis {
  const redis = new Redis(url, {
    connectionName: name,
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    retryStrategy: (times) => Math.min(200 * times, 5000),
    lazyConnect: false,
  });
  let down = false;
  let everReady = false;
  redis.on('error', (err: Error) => {
    if (down) return;
    down = true;
    log.warn(everReady ? 'Redis connection lost; retrying until it is back' : 'Redis unreachable; retrying until it answers', {
      connection: name,
      err: err.message,
    });
  });
  redis.on('ready', () => {
    if (down || !everReady) log.info(everReady ? 'Redis connection restored' : 'connected to Redis', { connection: name });
    down = false;
    everReady = true;
  });
  return redis;
}

/**
 * Warns when Redis may evict keys under memory pressure: an evicted job or checkpoint is lost
 * work. Managed Redis services may forbid CONFIG; then there is nothing to check.
 */
export async function warnIfRedisEvicts(redis: Redis, log: RedisOptions['log']): Promise<void> {
  try {
    const reply = (await redis.config('GET', 'maxmemory-policy'));
    const policy = Array.isArray(reply) ? String(reply[1]) : undefined;
    if (policy !== undefined && policy !== 'noeviction') {
      log.warn(`Redis maxmemory-policy is ${policy}: under memory pressure Redis would delete jobs and checkpoints. Set maxmemory-policy noeviction`, {
        policy,
      });
    }
  } catch {
    // CONFIG is disabled on some managed services
  }
}
