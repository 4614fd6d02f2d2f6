// What the bench reads from Redis: a run's keys, memory used, and keys grouped by shape.
import type { Redis } from 'ioredis';

/** Keys under `prefix:` (SCAN; `prefix` is the key prefix, `{REDIS_PREFIX}`); deleted with UNLINK when `remove`. */
export async function scanRedis(redis: Redis, prefix: string, remove = false): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (remove && batch.length > 0) await redis.unlink(...batch);
    else keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}

export async function redisUsedMemory(redis: Redis): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? NaN);
}

export interface KeyShape {
  readonly shape: string;
  readonly type: string;
  readonly count: number;
  readonly avgBytes: number;
  readonly bytes: number;
}

/** A key after the prefix, with stream ids, numbers and paths replaced. */
function shapeOf(key: string, prefix: string): string {
  return key
    .slice(prefix.length + 1)
    .replace(/^path:.*/, 'path:<path>')
    .replace(/[0-9a-f]{16,}/g, '<id>')
    .replace(/\b\d+\b/g, '<n>');
}

/** Redis keys grouped by shape, with MEMORY USAGE measured on a sample of each group. */
export async function redisKeyShapes(redis: Redis, prefix: string, keys: readonly string[]): Promise<KeyShape[]> {
  const groups = new Map<string, string[]>();
  for (const key of keys) {
    const shape = shapeOf(key, prefix);
    const members = groups.get(shape);
    if (members === undefined) groups.set(shape, [key]);
    else members.push(key);
  }
  const shapes: KeyShape[] = [];
  for (const [shape, members] of groups) {
    const sample = members.slice(0, 50);
    const pipeline = redis.pipeline();
    for (const k of sample) pipeline.memory('USAGE', k);
    const sizes = ((await pipeline.exec()) ?? []).map(([, v]) => Number(v ?? 0));
    const avg = sizes.reduce((a, b) => a + b, 0) / Math.max(1, sizes.length);
    const type = await redis.type(members[0] ?? '');
    shapes.push({ shape, type, count: members.length, avgBytes: avg, bytes: avg * members.length });
  }
  return shapes.sort((a, b) => b.bytes - a.bytes);
}
