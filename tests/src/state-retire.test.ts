import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { storeOnRedis } from './state-util.js';

/** What retiring a complete stream leaves of its AFTER_UPLOAD=delete plan, against the real Redis. */
void describe('stream store: retiring a complete stream and AFTER_UPLOAD=delete', () => {
  const t = 5_000_000;
  const on = storeOnRedis('retire', () => t);

  /** A complete stream of one 100-byte chunk whose file is due for deletion at `t + 1000`. */
  async function completeWithDeletion(id: string): Promise<void> {
    await on.store.create({ id, path: `${id}.mp4`, dev: '1', ino: '1', birthtimeNs: '0', generation: 0, chunkSize: 1024 }, { recovering: false });
    await on.store.observe(id, { size: 100, mtimeNs: '1', idle: true });
    await on.store.plan(id, 100);
    await on.store.recordChunk({ id, chunkSize: 1024 }, 0, { size: 100, sha256: 'x'.repeat(64), etag: 'e', uploadedAt: new Date(t).toISOString() });
    const stream = await on.store.get(id);
    assert.ok(stream);
    assert.equal(await on.store.complete(stream, 1, { deleteAt: t + 1000 }), 'complete');
  }
  const due = async (id: string) => (await on.redis.zscore(on.store.keys.deletable(), id)) !== null;

  void it('an emptied file leaves the deletable set: nothing of its stream is left to delete', async () => {
    await completeWithDeletion('emptied');
    assert.equal(await due('emptied'), true);
    assert.equal(await on.store.retire({ id: 'emptied', path: 'emptied.mp4' }, 'truncated'), 'complete');
    assert.equal(await due('emptied'), false);
    await on.store.deletionAt('emptied', t + 2000); // a sweep that read it before: "look again later"
    assert.equal(await due('emptied'), false, 'a look later does not put it back');
    assert.equal((await on.store.get('emptied'))?.reason, 'truncated', 'still marked for the next generation');
  });

  void it('a file already moved aside stays in it, and so does one gone or replaced: the very file may come back', async () => {
    await completeWithDeletion('aside');
    await on.store.deletionAt('aside', t + 500, '.vcu-deleting-aside');
    await on.store.retire({ id: 'aside', path: 'aside.mp4' }, 'truncated');
    assert.equal(await due('aside'), true, 'the deletion under way ends as it would');
    for (const [id, reason] of [['gone', 'file deleted'], ['other', 'replaced']] as const) {
      await completeWithDeletion(id);
      await on.store.retire({ id, path: `${id}.mp4` }, reason);
      assert.equal(await due(id), true, reason);
    }
  });
});
