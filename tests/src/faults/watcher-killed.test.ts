import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Harness, waitUntil } from '../harness.js';
import { assertByteExact, countBy, startAppending, uploadedChunks } from '../kill-util.js';

const CHUNK = 64 * 1024;
const STEP = 40 * 1024;
const EVERY_MS = 150;
const FILES = ['cam1/growing-a.mp4', 'cam2/growing-b.mp4'];

void describe('the watcher killed while files grow', () => {
  let h: Harness | undefined;
  after(async () => h?.close());

  void it('The watcher killed with SIGKILL while files grow, then restarted: uploads continue from Redis; no finished chunk is uploaded again', async () => {
    // appends every 150 ms never leave a file unchanged for STREAM_IDLE_MS while it is written
    h = await Harness.create({ chunkSize: CHUNK, streamIdleMs: 1500 });
    const harness = h;
    const started = await harness.startAll();
    const worker = started.worker;
    let watcher = started.watcher;
    const writers = await Promise.all(FILES.map((rel) => startAppending(harness, rel, STEP, EVERY_MS)));

    // several chunks of each file are in S3 before the watcher dies
    for (const rel of FILES) {
      await worker.waitFor('chunk uploaded', 20_000, (l) => l['path'] === rel && Number(l['committed']) >= 4);
    }
    assert.equal(await watcher.stop('SIGKILL'), null, 'the watcher died from SIGKILL (no exit code)');
    const sizesAtKill = writers.map((w) => w.written());
    // the files grow by more than two chunks while no watcher runs
    await waitUntil(() => writers.every((w, i) => w.written() >= (sizesAtKill[i] ?? 0) + 2 * CHUNK), 20_000, 'the files grew while no watcher ran');

    watcher = harness.start('watcher');
    await watcher.waitFor('watching');
    // the restarted watcher enqueued what was written while it was away: a chunk past the size at the kill is uploaded
    for (const [i, rel] of FILES.entries()) {
      const firstNew = Math.floor((sizesAtKill[i] ?? 0) / CHUNK) + 1;
      await worker.waitFor('chunk uploaded', 30_000, (l) => l['path'] === rel && Number(l['chunk']) >= firstNew);
    }
    await waitUntil(() => writers.every((w) => w.written() >= 11 * CHUNK), 20_000, 'each file holds more than ten chunks');
    const finals = await Promise.all(writers.map((w) => w.stop()));

    for (const [i, rel] of FILES.entries()) {
      const expected = finals[i];
      assert.ok(expected !== undefined);
      assert.ok((await harness.readLocal(rel)).equals(expected), `${rel}: the local file holds what the writer appended`);
      const metadata = await assertByteExact(harness, rel);
      assert.ok(metadata.chunks.length >= 10, `${rel}: several chunks (${metadata.chunks.length})`);

      // the restarted watcher continued the same stream from Redis
      const streams = new Set(worker.find('chunk uploaded', (l) => l['path'] === rel).map((l) => String(l['stream'])));
      assert.deepEqual([...streams], [metadata.streamId], `${rel}: one stream across the watcher restart`);

      // every chunk 0..n-1 went to S3 exactly once: none of the finished ones again after the restart
      const counts = countBy(uploadedChunks(harness.apps, rel));
      for (let chunk = 0; chunk < metadata.chunks.length; chunk += 1) {
        assert.equal(counts.get(chunk), 1, `${rel}: chunk ${chunk} uploaded exactly once (${JSON.stringify([...counts])})`);
      }
      assert.equal(counts.size, metadata.chunks.length, `${rel}: no upload of a chunk beyond the file's end`);
    }
    assert.deepEqual(watcher.find('stream started'), [], 'the restarted watcher found every stream in Redis and started none');
    const jobs = await harness.jobCounts();
    assert.equal(jobs['failed'] ?? 0, 0, `no chunk job failed: ${JSON.stringify(jobs)}`);
  });
});
