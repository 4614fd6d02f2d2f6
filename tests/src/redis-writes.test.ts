import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { Cluster, Redis } from 'ioredis';
import { createRedis } from '@vcu/redis';
import { RedisCluster } from '@vcu/testkit';
import { REDIS_URL } from './harness.js';

type Sent = { writes: number; commands: number };

/** Counts what the connection's current socket hands the kernel: one write per _write or _writev. */
function countWrites(socket: Writable): Sent {
  const sent = { writes: 0, commands: 0 };
  const spy = socket as Writable & { _write: (...args: unknown[]) => void; _writev: (chunks: unknown[], done: unknown) => void };
  const write = spy._write.bind(spy);
  const writev = spy._writev.bind(spy);
  spy._write = (...args) => {
    sent.writes += 1;
    sent.commands += 1;
    write(...args);
  };
  spy._writev = (chunks, done) => {
    sent.writes += 1;
    sent.commands += chunks.length;
    writev(chunks, done);
  };
  return sent;
}

/**
 * The apps' Redis connections (createRedis) send the commands of one turn of the event loop in
 * one write (@vcu/redis coalesce.ts), on the real Redis: the replies still answer their own
 * commands in order, and a reconnected connection does the same on its new socket.
 */
void describe('a Redis connection sends one turn of commands in one write', () => {
  let redis: Redis;
  const key = `vcu-test:coalesce:${randomUUID()}`;
  const silent = { log: () => undefined };

  before(async () => {
    redis = createRedis({ redis: { url: REDIS_URL, topology: { kind: 'single' } }, name: 'vcu-test-coalesce', log: silent }) as Redis;
    if (redis.status !== 'ready') await once(redis, 'ready');
  });
  after(async () => {
    await redis.del(key);
    redis.disconnect();
  });

  async function pushInOneTurn(from: number, count: number): Promise<{ replies: number[]; sent: Sent }> {
    const sent = countWrites(redis.stream);
    const replies = await Promise.all(Array.from({ length: count }, (_, i) => redis.rpush(key, String(from + i))));
    return { replies, sent };
  }

  void it('50 commands leave in one write and each gets its own reply', async () => {
    const { replies, sent } = await pushInOneTurn(0, 50);
    assert.deepEqual(sent, { writes: 1, commands: 50 });
    assert.deepEqual(replies, Array.from({ length: 50 }, (_, i) => i + 1));
    assert.deepEqual(await redis.lrange(key, 0, -1), Array.from({ length: 50 }, (_, i) => String(i)));
  });

  void it('and so after a reconnect, on the new socket', async () => {
    const old = redis.stream;
    redis.disconnect(true);
    await once(redis, 'ready');
    assert.notEqual(redis.stream, old);
    const { replies, sent } = await pushInOneTurn(50, 20);
    assert.deepEqual(sent, { writes: 1, commands: 20 });
    assert.deepEqual(replies, Array.from({ length: 20 }, (_, i) => 51 + i));
  });
});

void describe('a Redis Cluster connection sends one turn of commands in one write to each node', () => {
  let servers: RedisCluster;
  let cluster: Cluster;
  const key = `{vcu-test}:coalesce:${randomUUID()}`;
  const silent = { log: () => undefined };

  before(async () => {
    servers = await RedisCluster.start({ masters: 3, replicasEach: 0 });
    const nodes = servers.nodes.map(({ port }) => ({ host: '127.0.0.1', port }));
    cluster = createRedis({ redis: { url: 'redis://127.0.0.1', topology: { kind: 'cluster', nodes } }, name: 'vcu-test-coalesce', log: silent }) as Cluster;
    if (cluster.status !== 'ready') await once(cluster, 'ready');
  });
  after(async () => {
    cluster?.disconnect();
    await servers?.destroy();
  });

  void it("the commands for one slot leave in one write to the slot's primary", async () => {
    await cluster.del(key); // connects the slot's primary
    const primaries = cluster.nodes('master').filter((node) => node.status === 'ready');
    const sent = primaries.map((node) => countWrites(node.stream));
    const replies = await Promise.all(Array.from({ length: 30 }, (_, i) => cluster.rpush(key, String(i))));
    assert.deepEqual(replies, Array.from({ length: 30 }, (_, i) => i + 1));
    assert.deepEqual(
      sent.filter((s) => s.commands > 0),
      [{ writes: 1, commands: 30 }],
    );
  });
});
