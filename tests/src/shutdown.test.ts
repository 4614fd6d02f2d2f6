import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Harness, randomBytes } from './harness.js';

const CHUNK = 1024 * 1024;

void describe('graceful shutdown', () => {
  let h: Harness;
  before(async () => {
    h = await Harness.create({ chunkSize: CHUNK, concurrency: 2 });
  });
  after(async () => h.close());

  void it('SIGTERM in the middle of uploads exits 0; after a restart every file is byte-exact', { timeout: 120_000 }, async () => {
    const { watcher, worker } = await h.startAll();
    const files = new Map([
      ['a.mp4', randomBytes(40 * CHUNK + 5)],
      ['b.mp4', randomBytes(30 * CHUNK)],
    ]);
    for (const [name, data] of files) await h.write(name, data);
    await worker.waitFor('chunk uploaded', 30_000);

    const [workerCode, watcherCode] = await Promise.all([worker.stop('SIGTERM'), watcher.stop('SIGTERM')]);
    assert.equal(workerCode, 0, worker.tail());
    assert.equal(watcherCode, 0, watcher.tail());
    assert.equal(worker.events('shutdown.started', (l) => l['signal'] === 'SIGTERM').length, 1);
    const uploadedBefore = worker.find('chunk uploaded').length;
    assert.ok(uploadedBefore < 70, 'the worker stopped before all chunks were done');

    await h.startAll();
    for (const [name, data] of files) {
      const metadata = await h.waitForMetadata(name, data, 90_000);
      assert.ok((await h.reassemble(metadata)).equals(data), `${name} is byte-exact`);
    }
  });
});
