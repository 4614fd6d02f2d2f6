import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { createStreamStore } from '@vcu/state';
import { REDIS_URL } from './harness.js';

/** The stream store's batch reads and ready set, against the real Redis. */
void describe('stream store: getMany and the ready set', () => {
  const prefix = `vcutest-state-${randomUUID().slice(0, 8)}`;
  let redis: Redis;
  let t = 1_000_000;
  let store: ReturnType<typeof createStreamStore>;

  before(() => {
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 3 });
    store = createStreamStore({ redis, prefix, now: () => t });
  });
  after(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  const create = (id: string, path: string) =>
    store.create({ id, path, ino: '1', birthtimeNs: '0', generation: 0, chunkSize: 1024, recovered: false });

  void it('getMany reads several streams in one go, undefined for an unknown one', async () => {
    await create('s-a', 'a.mp4');
    await create('s-b', 'b.mp4');
    const [a, missing, b] = await store.getMany(['s-a', 'nope', 's-b']);
    assert.equal(a?.path, 'a.mp4');
    assert.equal(missing, undefined);
    assert.equal(b?.path, 'b.mp4');
    assert.deepEqual(await store.getMany([]), []);
  });

  void it('takeReady returns the ready streams that are idle, and empties the set', async () => {
    t = 2_000_000;
    await create('s-idle', 'idle.mp4'); // last activity 2_000_000
    t = 2_010_000;
    await create('s-busy', 'busy.mp4'); // last activity 2_010_000
    await store.markReady('s-idle');
    await store.markReady('s-busy');
    await store.markReady('s-idle'); // twice is once
    const idleBefore = 2_005_000;
    assert.deepEqual(await store.takeReady(idleBefore, 10), ['s-idle']);
    assert.deepEqual(await store.takeReady(idleBefore, 10), [], 'a stream not idle yet is left to the scheduled sweep');
  });
});
