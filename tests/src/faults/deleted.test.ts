import assert from 'node:assert/strict';
import { unlink } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { Queue } from 'bullmq';
import { Harness, randomBytes, sleep } from '../harness.js';
import { allLines, assertReassembles, metadataObject } from '../faults-util.js';

const CHUNK = 1024 * 1024;
const BIG_CHUNKS = 150;

void describe('A file deleted mid-upload: its stream is marked aborted with a clear log line; its jobs end without endless retries; other files are unaffected', () => {
  let h: Harness;
  before(async () => {
    // one upload at a time and many chunks: the big file is still uploading when it is deleted
    h = await Harness.create({ chunkSize: CHUNK, concurrency: 1 });
  });
  after(async () => h.close());

  void it('aborts the stream of the deleted file, fails its jobs once for good, and still uploads the other file byte-exact', async () => {
    const { watcher, worker } = await h.startAll();
    const prefix = h.keyPrefix;
    const big = 'big.mp4';
    const small = 'small/other.mp4';
    await h.write(big, randomBytes(BIG_CHUNKS * CHUNK));
    const smallData = randomBytes(2 * CHUNK + 4321);
    await h.write(small, smallData);

    const first = await worker.waitFor('chunk uploaded', 30_000, (l) => l['path'] === big);
    await unlink(h.file(big));
    const streamId = String(first['stream']);

    const aborted = await waitForLine(() =>
      allLines(h.apps).find((l) => l.level === 'warn' && l['event'] === 'stream.aborted' && l['path'] === big),
    );
    assert.ok(aborted !== undefined, `a warn line says the stream of ${big} is aborted:\n${worker.tail()}\n${watcher.tail()}`);
    assert.equal(await h.redis.hget(`${prefix}:stream:${streamId}`, 'status'), 'aborted', 'the stream is marked aborted in Redis');
    assert.equal(await h.redis.hget(`${prefix}:stream:${streamId}`, 'reason'), 'file deleted');

    const metadata = await h.waitForMetadata(small, smallData, 45_000);
    await assertReassembles(h, metadata, smallData, small);

    // nothing keeps retrying: the queue drains and stays drained
    const busy = (c: Record<string, number>): number =>
      (c['waiting'] ?? 0) + (c['active'] ?? 0) + (c['delayed'] ?? 0) + (c['prioritized'] ?? 0) + (c['paused'] ?? 0) + (c['waiting-children'] ?? 0);
    const deadline = Date.now() + 30_000;
    let counts = await h.jobCounts();
    while (busy(counts) > 0 && Date.now() < deadline) {
      await sleep(250);
      counts = await h.jobCounts();
    }
    assert.equal(busy(counts), 0, `the chunks queue drains within 30 s: ${JSON.stringify(counts)}`);
    await sleep(3000);
    counts = await h.jobCounts();
    assert.equal(busy(counts), 0, `and stays drained (no retries, no re-enqueued chunks): ${JSON.stringify(counts)}`);

    const uploadedBig = worker.find('chunk uploaded', (l) => l['path'] === big).length;
    assert.ok(uploadedBig < BIG_CHUNKS, `the file was deleted mid-upload (${uploadedBig} of ${BIG_CHUNKS} chunks uploaded)`);

    const failedForGood = worker.events('chunk.failed', (l) => l['path'] === big);
    for (const line of failedForGood) {
      // a line names the attempt only when it is a retry
      assert.equal(line['attempt'], undefined, `a chunk of the deleted file failed on its first attempt, not after retries: ${JSON.stringify(line)}`);
    }
    assert.equal(worker.events('chunk.retrying', (l) => l['path'] === big).length, 0, 'no chunk of the deleted file was retried');
    const queue = new Queue<{ streamId: string; index: number }>('chunks', { connection: h.redis, prefix });
    try {
      const failed = await queue.getFailed(0, -1);
      assert.equal(failed.length, counts['failed'] ?? 0);
      assert.equal(failed.length, failedForGood.length, 'every failed job was logged once as failed for good');
      for (const job of failed) {
        assert.equal(job.data.streamId, streamId, `only chunks of the deleted file failed: ${JSON.stringify(job.data)}`);
        assert.equal(job.attemptsMade, 1, `chunk ${String(job.data.index)} ran once and was not retried`);
      }
    } finally {
      await queue.close();
    }

    assert.equal(await metadataObject(h, streamId), undefined, 'no metadata.json for the aborted stream');
    assert.equal((await h.allMetadata()).filter((m) => m.source.path === big).length, 0, `no metadata.json for ${big}`);
    assert.ok(watcher.running && worker.running, 'both apps keep running');
    assert.equal(worker.find(/^S3 is unreachable/).length, 0, 'a deleted file is not taken for an S3 outage');
    assert.deepEqual(
      allLines(h.apps).filter((l) => l.level === 'error' && l['path'] !== big),
      [],
      'no error-level line concerns anything but the deleted file',
    );
  });
});

async function waitForLine<T>(find: () => T | undefined, timeoutMs = 20_000): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = find();
    if (found !== undefined || Date.now() > deadline) return found;
    await sleep(100);
  }
}
