import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { streamIdFor } from '@vcu/domain';
import { isFileFacts, readFacts } from '@vcu/files';
import { createQueues, enqueueChunks } from '@vcu/queue';
import { createStreamStore } from '@vcu/state';
import { Harness, randomBytes } from '../harness.js';
import { failChunkJobs } from '../jobs-util.js';

/** One page of the scheduled finalize sweep (SWEEP_LIMIT in apps/worker/src/finalize/sweep.ts). */
const PAGE = 500;
const SIZE = 1000;

void describe('the scheduled finalize sweep, with a full page of streams that cannot finish', () => {
  let h: Harness | undefined;
  after(async () => h?.close());

  void it('500 older streams stuck on failed jobs do not keep it from a newer stream only it would finalize', { timeout: 180_000 }, async () => {
    const harness = await Harness.create();
    h = harness;
    const epoch = await harness.store.epoch();
    let t = Date.now() - 3_600_000;
    const store = createStreamStore({ redis: harness.redis, prefix: harness.keyPrefix, now: () => t });
    const queues = createQueues({ connection: harness.redis, prefix: harness.keyPrefix, onError: () => undefined, keepCompletedJobs: 10 });

    /** A file of SIZE bytes, its stream as the watcher leaves it (seen, idle, planned) an hour ago. */
    const seed = async (rel: string, data: Buffer, enqueue: boolean): Promise<string> => {
      await harness.write(rel, data);
      const file = await readFacts(harness.dir, rel);
      assert.ok(isFileFacts(file));
      const id = streamIdFor(file, 0);
      t += 1;
      await store.create({ id, path: rel, dev: file.dev, ino: file.ino, birthtimeNs: file.birthtimeNs, generation: 0, chunkSize: 64 * 1024 }, { recovering: false, epoch });
      await store.observe(id, { size: file.size, mtimeNs: file.mtimeNs, idle: true });
      if (enqueue) await enqueueChunks(queues.chunks, [{ streamId: id, path: rel, ino: file.ino, index: 0, offset: 0, size: file.size, reason: 'grow' }]);
      await store.plan(id, file.size);
      return id;
    };
    const data = randomBytes(SIZE);
    let good = '';
    try {
      // a page of streams whose one chunk job failed for good (nobody retries it), the oldest
      for (let i = 0; i < PAGE; i += 1) await seed(`stuck/clip-${String(i).padStart(3, '0')}.mp4`, randomBytes(SIZE), true);
      await failChunkJobs(harness, PAGE);
      // then a newer one whose job was removed by hand: no chunk record, so no ready sweep is
      // ever asked for; only a scheduled sweep that reaches it enqueues its chunk again
      t += 60_000;
      good = await seed('good.mp4', data, false);
    } finally {
      await queues.close();
    }

    const worker = harness.start('worker');
    await worker.waitFor('worker ready');
    const metadata = await harness.waitForMetadata('good.mp4', data, 60_000);
    assert.equal(metadata.streamId, good);
    const full = worker.events('finalize.swept', (l) => l['sweep'] === 'scheduled' && l['streams'] === PAGE && l['stuck'] === PAGE);
    assert.ok(full.length >= 1, 'a scheduled sweep took a full page of stuck streams');
    assert.equal(worker.events('chunks.reenqueued', (l) => l['stream'] === good).length, 1, "the newer stream's chunk was enqueued again by a sweep");
    assert.equal((await harness.jobCounts())['failed'], PAGE, 'the stuck streams stay as they were, for an operator to retry');
  });
});
