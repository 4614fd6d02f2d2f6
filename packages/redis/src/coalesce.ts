import type { Writable } from 'node:stream';
import { Cluster, type Redis } from 'ioredis';

/** Sockets already coalescing: a reconnect's `connect` must not wrap the same socket twice. */
const coalescing = new WeakSet<Writable>();

/**
 * Commands a connection sends in one turn of the event loop leave in one write.
 *
 * ioredis writes each command to its socket as it is sent: a system call apiece, and on loopback
 * TCP in a VM one that also wakes Redis, about 50 µs of CPU. A CPU profile of the many-small-files
 * bench put these writes at nearly a third of the watcher's busy time and ~7% of the worker's,
 * where several files' commands are sent in the same turn (replies arrive together and their
 * callers go on together). The socket is corked at its first write of a turn and uncorked when the turn's
 * I/O callbacks and their promises have run (`setImmediate`): the kernel gets one `writev`.
 *
 * Nothing else changes: the same commands, in the same order, on the same connection, and replies
 * read as before; each command leaves at most one turn later. This is not ioredis's
 * `enableAutoPipelining`, which regroups commands into MULTI-less pipelines per key slot and is
 * not supported with BullMQ's connections. The connections BullMQ makes itself as copies of one
 * (a worker's blocking wait for jobs) are left as they are: they send little.
 */
export function coalesceWrites(client: Redis | Cluster): void {
  if (client instanceof Cluster) {
    client.on('+node', (node: Redis) => coalesceWrites(node));
    return;
  }
  // ioredis makes a new socket at every (re)connect, and has it when it says `connect`
  client.on('connect', () => corkEachTurn(client.stream));
}

/** Corks `socket` at its first write of a turn of the event loop, and uncorks it at the turn's end. */
export function corkEachTurn(socket: Writable): void {
  if (coalescing.has(socket)) return;
  coalescing.add(socket);
  const write = socket.write.bind(socket);
  let corked = false;
  const uncork = (): void => {
    corked = false;
    socket.uncork();
  };
  socket.write = ((...args: unknown[]): boolean => {
    if (!corked) {
      corked = true;
      socket.cork();
      setImmediate(uncork);
    }
    return Reflect.apply(write, socket, args) as boolean;
  }) as Writable['write'];
}
