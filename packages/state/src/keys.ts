/**
 * Every Redis key vcu's state uses, in one place. All live under `<p>:`, next to BullMQ's own
 * `<p>:<queue>:…` keys. The apps pass `config.redis.keyPrefix` as `<p>`: `{REDIS_PREFIX}`, a Redis
 * Cluster hash tag (see redisKeyPrefix in @vcu/config), so every key below and every BullMQ key
 * lives in one slot and each script (scripts.ts) and MULTI may touch any of them together.
 *
 * | key                         | type       | holds                                              |
 * |-----------------------------|------------|----------------------------------------------------|
 * | `<p>:stream:<id>`           | hash       | one file version: path, inode, sizes, status, …    |
 * | `<p>:stream:<id>:chunks`    | hash       | chunk index → JSON {@link ChunkRecord}             |
 * | `<p>:streams:all`           | sorted set | every stream Redis keeps, by creation (newest last): listing pages |
 * | `<p>:streams:active`        | sorted set | ids of streams not yet complete, by last activity  |
 * | `<p>:streams:gone`          | sorted set | ids of streams whose file left, by when: forgotten FORGET_AFTER_MS later |
 * | `<p>:streams:aborted`       | sorted set | ids of aborted streams, by when (counts for the dashboard) |
 * | `<p>:streams:deletable`     | sorted set | complete streams whose file AFTER_UPLOAD=delete removes, by when |
 * | `<p>:streams:ready`         | set        | ids whose last chunk was just recorded: finalize them now |
 * | `<p>:path:<relative path>`  | string     | the current stream id of that path                 |
 * | `<p>:epoch`                 | string     | random id set once; its loss means Redis lost data |
 * | `<p>:health`                | string     | written by health checks: does Redis accept writes |
 * | `<p>:presence-cursor`       | string     | where finalize's look at kept files stopped: `<createdAt>.<id>` in `streams:all` |
 * | `<p>:finalize-sweep-skip`   | string     | how many idle streams the next scheduled sweep passes over (absent: none) |
 */
export interface Keys {
  stream(id: string): string;
  chunks(id: string): string;
  all(): string;
  active(): string;
  gone(): string;
  aborted(): string;
  deletable(): string;
  ready(): string;
  path(relativePath: string): string;
  epoch(): string;
  health(): string;
  presenceCursor(): string;
  sweepSkip(): string;
}

export function makeKeys(prefix: string): Keys {
  return {
    stream: (id) => `${prefix}:stream:${id}`,
    chunks: (id) => `${prefix}:stream:${id}:chunks`,
    all: () => `${prefix}:streams:all`,
    active: () => `${prefix}:streams:active`,
    gone: () => `${prefix}:streams:gone`,
    aborted: () => `${prefix}:streams:aborted`,
    deletable: () => `${prefix}:streams:deletable`,
    ready: () => `${prefix}:streams:ready`,
    path: (relativePath) => `${prefix}:path:${relativePath}`,
    epoch: () => `${prefix}:epoch`,
    health: () => `${prefix}:health`,
    presenceCursor: () => `${prefix}:presence-cursor`,
    sweepSkip: () => `${prefix}:finalize-sweep-skip`,
  };
}
