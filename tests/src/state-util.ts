import { randomUUID } from 'node:crypto';
import { after, before } from 'node:test';
import { Redis } from 'ioredis';
import { type StreamStore, createStreamStore } from '@vcu/state';
import { REDIS_URL } from './harness.js';

/**
 * A stream store on the real Redis under a fresh key prefix, for the describe block that calls
 * this: connected before its tests, its keys deleted and the connection closed after them.
 */
export function storeOnRedis(name: string, now?: () => number): { readonly redis: Redis; readonly store: StreamStore } {
  const prefix = `vcutest-${name}-${randomUUID().slice(0, 8)}`;
  const on = {} as { redis: Redis; store: StreamStore };
  before(() => {
    on.redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 3 });
    on.store = createStreamStore({ redis: on.redis, prefix, ...(now === undefined ? {} : { now }) });
  });
  after(async () => {
    const keys = await on.redis.keys(`${prefix}:*`);
    if (keys.length > 0) await on.redis.del(...keys);
    await on.redis.quit();
  });
  return on;
}
