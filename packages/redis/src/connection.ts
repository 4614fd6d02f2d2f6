import type { EventEmitter } from 'node:events';
import { Cluster, type ClusterOptions, Redis, type RedisOptions as IORedisOptions } from 'ioredis';
import type { Config } from '@vcu/config';
import { type EventName, type EventSink, logEvent } from '@vcu/logger';
import { coalesceWrites } from './coalesce.js';

/** vcu's Redis: one server or a Sentinel group (a `Redis`), or a Redis Cluster. Same commands. */
export type RedisClient = Redis | Cluster;

export interface RedisOptions {
  /** REDIS_URL and where Redis is (one server, Sentinel, Cluster): `config.redis`. */
  readonly redis: Pick<Config['redis'], 'url' | 'topology'>;
  /** Shown in `CLIENT LIST` and in our logs. */
  readonly name: string;
  readonly log: EventSink;
  /** Fail a command after this many reconnects (a CLI command); the apps wait out outages (unset). */
  readonly retriesPerCommand?: number;
}

/** Reconnect delay: 200 ms more after each failed attempt, at most 5 s. */
const RETRY_CAP_MS = 5000;
const retryDelay = (times: number): number => Math.min(200 * times, RETRY_CAP_MS);
/**
 * On a Cluster, a command still unanswered after this long fails (and is retried by its caller):
 * a command caught by a failover can otherwise wait forever, silently, and with it a BullMQ
 * worker's wait for jobs. Above BullMQ's longest blocking wait (5 s) and any single vcu command.
 */
const CLUSTER_COMMAND_TIMEOUT_MS = 15_000;
/** A blocking command without a timeout of its own ends on the client's side after this long. */
const BLOCKING_SAFETY_NET_MS = 30_000;

/**
 * What REDIS_URL says besides its host and port: the user name, password (user-info or
 * `?password=`), TLS (`rediss://`) and database. With Sentinel or Cluster these apply to every
 * server, and TLS to the sentinels too.
 */
export function credentialsOf(url: string): Pick<IORedisOptions, 'username' | 'password' | 'db' | 'tls'> {
  const parsed = new URL(url);
  const password = parsed.password !== '' ? decodeURIComponent(parsed.password) : (parsed.searchParams.get('password') ?? undefined);
  const username = parsed.username !== '' ? decodeURIComponent(parsed.username) : undefined;
  const db = Number(parsed.pathname.replace(/^\//, '') || parsed.searchParams.get('db') || '0');
  return {
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
    db: Number.isInteger(db) ? db : 0,
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/**
 * A Redis connection that waits out outages instead of failing commands
 * (`maxRetriesPerRequest: null`, as BullMQ workers require) and reconnects forever with a capped
 * delay; see {@link watchConnection} for what it says meanwhile. With Sentinel it asks the
 * sentinels for the primary whenever it (re)connects, so a failover is a reconnect to the new
 * primary without a restart; a Cluster client follows its slots as replicas are promoted.
 */
export function createRedis({ redis: where, name, log, retriesPerCommand }: RedisOptions): RedisClient {
  // no retryStrategy here: see the Cluster's nodes below
  const common: IORedisOptions = {
    connectionName: name,
    maxRetriesPerRequest: retriesPerCommand ?? null,
    enableReadyCheck: true,
    lazyConnect: false,
    // a blocking command (BullMQ's wait for the next job) lost in a failover would leave a worker
    // waiting forever, silently: it ends on the client's side a little after its own timeout
    blockingTimeout: BLOCKING_SAFETY_NET_MS,
    blockingTimeoutGrace: 1000,
  };
  const topology = where.topology;
  let client: RedisClient;
  if (topology.kind === 'single') {
    client = new Redis(where.url, { ...common, retryStrategy: retryDelay });
  } else if (topology.kind === 'sentinel') {
    const credentials = credentialsOf(where.url);
    client = new Redis({
      ...common,
      ...credentials,
      retryStrategy: retryDelay,
      sentinels: topology.sentinels.map(({ host, port }) => ({ host, port })),
      name: topology.name,
      role: 'master',
      enableTLSForSentinelMode: credentials.tls !== undefined,
      sentinelRetryStrategy: retryDelay,
      // a primary demoted to replica (a failover it survived) refuses writes with READONLY:
      // reconnect, which asks the sentinels again, and resend the command to the new primary.
      // (ioredis's failoverDetector is not used: its disconnect on +switch-master, landing while
      // the client is asking a sentinel, ends the client for good instead of reconnecting it.)
      reconnectOnError: (err) => (err.message.startsWith('READONLY') ? 2 : false),
    });
  } else {
    const { username, password, tls } = credentialsOf(where.url);
    const credentials = { ...(username === undefined ? {} : { username }), ...(password === undefined ? {} : { password }), ...(tls === undefined ? {} : { tls }) };
    const options: ClusterOptions = {
      // no retryStrategy for a node: a node that reconnected forever would hold the commands sent
      // to a dead primary forever; without one they fail over to the slot's new primary
      redisOptions: { ...common, ...credentials, commandTimeout: CLUSTER_COMMAND_TIMEOUT_MS },
      clusterRetryStrategy: retryDelay,
      enableReadyCheck: true,
      // a command meeting a failover (CLUSTERDOWN, a moved slot) waits for the cluster and retries
      retryDelayOnClusterDown: 300,
      retryDelayOnFailover: 300,
      retryDelayOnTryAgain: 300,
      maxRedirections: 64,
      slotsRefreshTimeout: 2000,
    };
    client = new Cluster(topology.nodes.map(({ host, port }) => ({ host, port })), options);
  }
  watchConnection(client, { name, log });
  coalesceWrites(client);
  return client;
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
export async function warnIfRedisEvicts(redis: Pick<RedisClient, 'config'>, log: EventSink): Promise<void> {
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
