/**
 * Every Redis key vcu's state uses, in one place. All live under `<prefix>:` (REDIS_PREFIX),
 * next to BullMQ's own `<prefix>:<queue>:…` keys.
 *
 * | key                         | type       | holds                                              |
 * |-----------------------------|------------|----------------------------------------------------|
 * | `<p>:stream:<id>`           | hash       | one file version: path, inode, sizes, status, …    |
 * | `<p>:stream:<id>:chunks`    | hash       | chunk index → JSON {@link ChunkRecord}             |
 * | `<p>:streams:active`        | sorted set | ids of streams not yet complete, by last activity  |
 * | `<p>:streams:ready`         | set        | ids whose last chunk was just recorded: finalize them now |
 * | `<p>:path:<relative path>`  | string     | the current stream id of that path                 |
 * | `<p>:epoch`                 | string     | random id set once; its loss means Redis lost data |
 */
export interface Keys {
  stream(id: string): string;
  chunks(id: string): string;
  active(): string;
  ready(): string;
  path(relativePath: string): string;
  epoch(): string;
}

export function makeKeys(prefix: string): Keys {
  return {
    stream: (id) => `${prefix}:stream:${id}`,
    chunks: (id) => `${prefix}:stream:${id}:chunks`,
    active: () => `${prefix}:streams:active`,
    ready: () => `${prefix}:streams:ready`,
    path: (relativePath) => `${prefix}:path:${relativePath}`,
    epoch: () => `${prefix}:epoch`,
  };
}
