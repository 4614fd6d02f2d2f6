import assert from 'node:assert/strict';
import { chmod, stat } from 'node:fs/promises';
import { describe, it } from 'node:test';
import type { StreamMetadata } from '@vcu/domain';
import { assertReassembles, metadataObject, rewriteInPlace, syncedAndChmodded } from '../faults-util.js';
import { Harness, randomBytes } from '../harness.js';

const CHUNK = 64 * 1024;

/**
 * vcu tells a finished file changed by its size and modification time, and by its change time,
 * which a rewrite moves even when the modification time is set back (`rsync --inplace -t`).
 */
void describe('a finished file whose change time moved while no watcher ran', () => {
  void it('rewritten in place with its size and mtime put back: a new revision of its bytes; one only chmod-ed is read again and keeps its revision', async () => {
    const h = await Harness.create({ chunkSize: CHUNK });
    try {
      const { watcher, worker } = await h.startAll();
      const { rel, v1, mtime, m1, c1 } = await syncedAndChmodded(h, { synced: 3 * CHUNK + 17, chmodded: CHUNK + 9 });
      const c1Object = await metadataObject(h, c1.streamId);

      // no watcher sees the new mtime the rewrite shows for a moment: only the change time tells
      await watcher.stop();
      await chmod(h.file('chmodded.mp4'), 0o640);
      const v2 = Buffer.from(v1);
      randomBytes(100).copy(v2, 2 * CHUNK + 50); // chunk 2 only
      await rewriteInPlace(h.file(rel), v2, mtime);
      assert.equal((await stat(h.file(rel))).mtimeMs, mtime.getTime(), 'size and mtime are as uploaded');

      h.start('watcher');
      const m2: StreamMetadata = await h.waitForMetadata(rel, v2);
      assert.equal(m2.streamId, m1.streamId, 'the same file: the same stream');
      assert.equal(m2.revision, m1.revision + 1, 'a new revision');
      await assertReassembles(h, m2, v2, `${rel} revision 2`);
      assert.deepEqual(
        m2.chunks.map((c) => c.sha256 === m1.chunks[c.index]?.sha256),
        [true, true, false, true],
        'only the rewritten chunk differs',
      );

      await worker.waitForEvent('stream.already-described', 30_000, (l) => l['path'] === 'chmodded.mp4');
      assert.ok((await metadataObject(h, c1.streamId))?.equals(c1Object ?? Buffer.alloc(0)), 'its metadata.json is left as it was');
    } finally {
      await h.close();
    }
  });

  void it('with the watcher running, a chmod of a finished file (which OS events often do not report) is found by the rescan and read again, and keeps its revision', async () => {
    const h = await Harness.create({ chunkSize: CHUNK, env: { WATCH_RESCAN_MS: '1000' } });
    try {
      const { worker } = await h.startAll();
      const data = randomBytes(2 * CHUNK + 3);
      await h.write('live.mp4', data);
      const m1 = await h.waitForMetadata('live.mp4', data);
      const before = await metadataObject(h, m1.streamId);
      await chmod(h.file('live.mp4'), 0o640);
      await worker.waitForEvent('stream.already-described', 30_000, (l) => l['path'] === 'live.mp4');
      assert.ok((await metadataObject(h, m1.streamId))?.equals(before ?? Buffer.alloc(0)), 'its metadata.json is left as it was');
    } finally {
      await h.close();
    }
  });
});
