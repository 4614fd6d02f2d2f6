import assert from 'node:assert/strict';
import { rename } from 'node:fs/promises';
import { after, describe, it } from 'node:test';
import { Queue } from 'bullmq';
import { Harness, randomBytes, sha256, waitUntil } from '../harness.js';

const CHUNK = 64 * 1024;
const FILE = 'cams/job-removed.mp4';

void describe('a chunk job removed by hand (Bull Board "remove")', () => {
  let h: Harness | undefined;
  after(async () => h?.close());

  void it('finalize finds the stream stuck short of its size after JOB_LOCK_MS, enqueues the chunk again, and the file ends byte-exact', async () => {
    h = await Harness.create({ chunkSize: CHUNK, streamIdleMs: 500, env: { JOB_LOCK_MS: '2000' } });
    const harness = h;
    const watcher = harness.start('watcher');
    await watcher.waitFor('watching');
    const data = randomBytes(5 * CHUNK + 999);
    await harness.write('cams/.incoming', data);
    await rename(harness.file('cams/.incoming'), harness.file(FILE));

    // no worker yet: every chunk job waits in the queue; take chunk 2's away
    const queue = new Queue('chunks', { connection: harness.redis, prefix: harness.keyPrefix });
    try {
      // every chunk job is enqueued (the tail once the file is idle): then chunk 2's goes
      let counts: Record<string, number> = {};
      await waitUntil(async () => (counts = await queue.getJobCounts())['waiting'] === 6, 60_000, `all six chunk jobs are enqueued (${JSON.stringify(counts)})`).catch((err: unknown) => {
        throw new Error(`${String(err)}: ${JSON.stringify(counts)}\n${watcher.tail()}`);
      });
      const job = (await queue.getWaiting()).find((j) => (j.data as { index: number }).index === 2);
      assert.ok(job !== undefined, 'chunk 2 has a waiting job');
      await job.remove();
      assert.equal((await queue.getWaiting()).length, 5);
    } finally {
      await queue.close();
    }

    const worker = harness.start('worker');
    await worker.waitFor('worker ready');
    const metadata = await harness.waitForMetadata(FILE, data, 30_000);
    assert.equal(metadata.sha256, sha256(data));
    assert.equal(metadata.chunks.length, 6);
    assert.ok((await harness.reassemble(metadata)).equals(data), 'the chunks in S3 are the file, byte for byte');
    const again = worker.find('chunk uploaded', (l) => l['chunk'] === 2);
    assert.equal(again.length, 1, 'chunk 2 was uploaded once, after finalize enqueued it again');
  });
});
