import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { createStreamStore } from '@vcu/state';
import { REDIS_URL } from './harness.js';

/** What retiring a complete stream leaves of its AFTER_UPLOAD=delete plan, against the real Redis. */
void describe('stream store: retiring a complete stream and AFTER_UPLOAD=delete', () => {
  const prefix = `vcutest-retire-${randomUUID().slice(0, 8)}`;
  let redis: Redis;
  let store: ReturnType<typeof createStreamStore>;
  const t = 5_000_000;

  before(() => {
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 3 });
    store = createStreamStore({ redis, prefix, now: () => t });
  });
  after(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  /** A complete stream of one 100-byte chunk whose file is due for deletion at `t + 1000`. */
  async function completeWithDeletion(id: string): Promise<void> {
    await store.create({ id, path: `${id}.mp4`, dev: '1', ino: '1', birthtimeNs: '0', generation: 0, chunkSize: 1024 }, { recovering: false });
    await store.observe(id, { size: 100, mtimeNs: '1', idle: true });
    await store.plan(id, 100);
    await store.recordChunk({ id, chunkSize: 1024 }, 0, { size: 100, sha256: 'x'.repeat(64), etag: 'e', uploadedAt: new Date(t).toISOString() });
    const stream = await store.get(id);
    assert.ok(stream);
    assert.equal(await store.complete(stream, 1, t + 1000), 'complete');
  }
  const due = async (id: string) => (await redis.zscore(store.keys.deletable(), id)) !== null;

  void it('an emptied file leaves the deletable set: nothing of its stream is left to delete', async () => {
    await completeWithDeletion('emptied');
    assert.equal(await due('emptied'), true);
    assert.equal(await store.retire({ id: 'emptied', path: 'emptied.mp4' }, 'truncated'), 'complete');
    assert.equal(await due('emptied'), false);
    assert.equal((await store.get('emptied'))?.reason, 'truncated', 'still marked for the next generation');
  });

  void it('a file already moved aside stays in it, and so does one gone or replaced: the very file may come back', async () => {
    await completeWithDeletion('aside');
    await store.deletionAt('aside', t + 500, '.vcu-deleting-aside');
    await store.retire({ id: 'aside', path: 'aside.mp4' }, 'truncated');
    assert.equal(await due('aside'), true, 'the deletion under way ends as it would');
    for (const [id, reason] of [['gone', 'file deleted'], ['other', 'replaced']] as const) {
      await completeWithDeletion(id);
      await store.retire({ id, path: `${id}.mp4` }, reason);
      assert.equal(await due(id), true, reason);
    }
  });
});
