import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Harness, randomBytes, waitUntil } from '../harness.js';
import { assertReassembles } from '../faults-util.js';

const CHUNK = 64 * 1024;

void describe('A folder shared over NFS or SMB: the watcher and a worker on different hosts see another device number for the same file', () => {
  let h: Harness;
  after(async () => h.close());

  void it('the worker uploads and finalizes the file, and the watcher, back again, takes it for the same file', async () => {
    h = await Harness.create({ chunkSize: CHUNK, streamIdleMs: 500 });
    const data = randomBytes(2 * CHUNK + 100);
    const watcher = h.start('watcher');
    await watcher.waitFor('watching');
    await h.write('cam/a.mp4', data);
    await waitUntil(async () => (await h.jobCounts())['waiting'] === 3, 30_000, 'every chunk of the file is queued');
    assert.equal(await watcher.stop('SIGTERM'), 0);

    // the watcher's host numbered the share 4242; the worker's host gives it another number
    const store = h.store;
    const stream = await store.currentOf('cam/a.mp4');
    assert.ok(stream !== undefined);
    await h.redis.hset(store.keys.stream(stream.id), 'dev', '4242');

    const worker = h.start('worker');
    const metadata = await h.waitForMetadata('cam/a.mp4', data, 30_000);
    assert.equal(metadata.streamId, stream.id);
    await assertReassembles(h, metadata, data, 'cam/a.mp4');
    assert.deepEqual(worker.events('chunk.failed'), [], 'no chunk taken for another file');

    const again = h.start('watcher');
    await again.waitFor('watching');
    // its start-up scan looks at the file, and again once it is idle (STREAM_IDLE_MS): a file taken
    // for another would be superseded by then, with a new stream and a second metadata.json
    await new Promise((resolve) => setTimeout(resolve, 2000));
    assert.deepEqual(again.events('stream.superseded'), [], 'the watcher takes it for the same file');
    assert.deepEqual(worker.events('stream.superseded'), []);
    assert.equal((await store.get(stream.id))?.status, 'complete');
    assert.equal((await h.allMetadata()).length, 1, 'one file, one metadata.json');
  });
});
