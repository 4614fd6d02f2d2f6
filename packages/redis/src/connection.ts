import type { EventEmitter } from 'node:events';
import { Redis } from 'ioredis';
import { type EventName, type EventSink, logEvent } from '@vcu/logger';

export interface RedisOptions {
  readonly url: string;
  /** Shown in `CLIENT LIST` and in our logs. */
  readonly name: string;
  readonly log: EventSink;
}

/** Reconnect delay: 200 ms more after each failed attempt, at most 5 s. */
const RETRY_CAP_MS = 5000;

/**
 * A Redis connection that waits out outages instead of failing commands
 * (`maxRetriesPerRequest: null`, as BullMQ workers require) and reconnects forever with a capped
 * delay; see {@link watchConnection} for what it says meanwhile.
 */
export function createRedis({ url, name, log }: RedisOptions): Redis {
  const redis = new Redis(url, {
    connectionName: name,
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    retryStrategy: (times) => Math.min(200 * times, RETRY_CAP_MS),
    lazyConnect: false,
  });
  watchConnection(redis, { name, log });
  return redis;
}

/**
 * The code of a Redis error reply: its first word (`WRONGPASS`, `NOAUTH`, `NOPERM`, `ERR`…), as
 * Redis defines it. Undefined for anything that is not an error reply (a refused socket, a timeout).
 */
export function redisErrorCode(err: unknown): string | undefined {
  if (!(err instanceof Error) || err.name !== 'ReplyError') return undefined;
  const first = err.message.split(' ', 1)[0] ?? '';
  return /^[A-Z][A-Z_-]*$/.test(first) ? first : undefined;
}

/**
 * Replies that mean Redis answers but will not let vcu in: no outage, a setting to fix. Retrying
 * goes on (an operator may fix the password or the ACL without restarting vcu), but it is said at
 * error level as what it is, not as "unreachable".
 */
const REFUSALS: Readonly<Record<string, EventName>> = {
  WRONGPASS: 'redis.wrong-password',
  NOAUTH: 'redis.no-password',
  NOPERM: 'redis.no-permission',
};

/**
 * What a connection says: once when Redis goes away and once when it is back, not on every retry;
 * a refused password or ACL user (see {@link REFUSALS}) at error level, at most once every
 * `repeatMs` for as long as it lasts. Never the URL: it may hold the password.
 */
export function watchConnection(
  redis: Pick<EventEmitter, 'on'>,
  { name, log, repeatMs = 60_000, now = Date.now }: { name: string; log: EventSink; repeatMs?: number; now?: () => number },
): void {
  let down = false;
  let everReady = false;
  const lastRefusal = new Map<string, number>();
  redis.on('error', (err: Error) => {
    const code = redisErrorCode(err);
    const refusal = code === undefined ? undefined : REFUSALS[code];
    if (code !== undefined && refusal !== undefined) {
      down = true;
      const at = now();
      if (at - (lastRefusal.get(code) ?? -Infinity) < repeatMs) return;
      lastRefusal.set(code, at);
      logEvent(log, refusal, { connection: name, code, reply: err.message });
      return;
    }
    if (down) return;
    down = true;
    logEvent(log, everReady ? 'redis.lost' : 'redis.unreachable', { connection: name, err: err.message });
  });
  redis.on('ready', () => {
    if (down || !everReady) logEvent(log, everReady ? 'redis.restored' : 'redis.connected', { connection: name });
    down = false;
    everReady = true;
    lastRefusal.clear();
  });
}

/**
 * Warns when Redis may evict keys under memory pressure: an evicted job or checkpoint is lost
 * work. Managed Redis services may forbid CONFIG; then there is nothing to check.
 */
export async function warnIfRedisEvicts(redis: Pick<Redis, 'config'>, log: EventSink): Promise<void> {
  try {
    const reply = await redis.config('GET', 'maxmemory-policy');
    const policy = Array.isArray(reply) ? String(reply[1]) : undefined;
    if (policy !== undefined && policy !== 'noeviction') logEvent(log, 'redis.evicts', { policy });
  } catch {
    // CONFIG is disabled on some managed services
  }
}

/** Redis refused a write because it reached its maxmemory (an OOM reply, with noeviction). */
export function isOutOfMemory(err: unknown): boolean {
  return redisErrorCode(err) === 'OOM';
}

/**
 * Says "Redis is out of memory" at error level, once a minute at most, whenever an error is
 * Redis's OOM reply; returns whether it was. Every write fails then, and vcu goes on trying
 * (the watcher retries each file, BullMQ each job) until Redis accepts writes again.
 */
export function reportOutOfMemory(log: EventSink, everyMs = 60_000): (err: unknown) => boolean {
  let last = -Infinity;
  return (err) => {
    if (!isOutOfMemory(err)) return false;
    if (Date.now() - last >= everyMs) {
      last = Date.now();
      logEvent(log, 'redis.out-of-memory', { reply: err instanceof Error ? err.message : String(err) });
    }
    return true;
  };
}
