// A scenario's own installation on its own redis-server: a watched folder, a REDIS_PREFIX and an
// S3 prefix, and everything removed afterwards (apps stopped, the server destroyed, the objects and
// the folder deleted), whether the scenario ends or fails.
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { Redis } from 'ioredis';
import { type AppProcess, RedisServer } from '@vcu/testkit';
import type { Bench } from '../context.js';
import { deletePrefix } from '../s3.js';
import { settings } from '../settings.js';
import { log } from '../util.js';
import { stopApp } from './apps.js';

export interface PrivatePlace {
  readonly dir: string;
  readonly redisPrefix: string;
  readonly s3Prefix: string;
  readonly server: RedisServer;
  readonly redis: Redis;
}

/** Runs `body` on a fresh private place; the apps it starts go in `apps`, and are stopped after. */
export async function onPrivatePlace<T>(
  bench: Bench,
  { id, redisPrefix }: { id: string; redisPrefix: string },
  body: (place: PrivatePlace, apps: AppProcess[]) => Promise<T>,
): Promise<T> {
  const server = await RedisServer.start({ persistent: false });
  const redis = new Redis(server.url, { maxRetriesPerRequest: 3 });
  redis.on('error', (err: Error) => log(`${id} redis: ${err.message}`));
  const place: PrivatePlace = { dir: path.join(settings.data, `watch-${id}`), redisPrefix, s3Prefix: `${id}/`, server, redis };
  const apps: AppProcess[] = [];
  const cleanup = async (): Promise<void> => {
    await Promise.allSettled(apps.map((a) => stopApp(a, 5000)));
    await redis.quit().catch(() => undefined);
    await server.destroy();
    await deletePrefix(bench.client, place.s3Prefix);
    await rm(place.dir, { recursive: true, force: true });
  };
  await mkdir(place.dir, { recursive: true });
  return bench.guarded(cleanup, () => body(place, apps));
}
