import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { type Queues, createQueues, enqueueChunks } from '@vcu/queue';
import { REDIS_URL } from './harness.js';

/** `count` chunk jobs of one stream, from chunk `from`. */
function chunksOf(stream: string, from: number, count: number) {
  return Array.from({ length: count }, (_, i) => ({ streamId: stream, path: `${stream}.mp4`, ino: '1', index: from + i, offset: (from + i) * 1024, size: 1024, reason: 'grow' as const }));
}

/**
 * The chunk jobs every caller enqueues in one turn of the event loop go to Redis in one addBulk
 * (@vcu/queue queues.ts addInTurn), on the real Redis: each caller resolves once its jobs are
 * there, and a failed turn is sent again caller by caller.
 */
void describe('chunk jobs enqueued in one turn go in one addBulk', () => {
  let connection: Redis;
  let queues: Queues;
  let calls: number[];

  before(() => {
    connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    queues = createQueues({ connection, prefix: `vcu-test-enqueue-${randomUUID()}`, onError: () => undefined });
    const addBulk = queues.chunks.addBulk.bind(queues.chunks);
    queues.chunks.addBulk = (jobs) => {
      calls.push(jobs.length);
      return addBulk(jobs);
    };
  });
  after(async () => {
    await queues.chunks.obliterate({ force: true });
    await queues.close();
    connection.disconnect();
  });

  void it('three files in one turn: one call, and every job is in Redis when each caller resolves', async () => {
    calls = [];
    await Promise.all(['a', 'b', 'c'].map(async (stream) => {
      await enqueueChunks(queues.chunks, chunksOf(stream, 0, 2));
      assert.equal((await queues.chunks.getJobs(['waiting'])).filter((job) => job.data.streamId === stream).length, 2, `${stream}'s jobs are there`);
    }));
    assert.deepEqual(calls, [6]);
    await enqueueChunks(queues.chunks, chunksOf('a', 2, 1));
    assert.deepEqual(calls, [6, 1], 'a later turn makes its own call');
    assert.equal(await queues.chunks.getWaitingCount(), 7);
  });

  void it('a turn of more than 500 jobs is sent 500 at a time', async () => {
    calls = [];
    await Promise.all([enqueueChunks(queues.chunks, chunksOf('d', 0, 400)), enqueueChunks(queues.chunks, chunksOf('e', 0, 300))]);
    assert.deepEqual(calls, [500, 200]);
    assert.equal(await queues.chunks.getWaitingCount(), 707);
  });

  void it("a failed turn is sent again caller by caller: one caller's refused job does not fail another", async () => {
    calls = [];
    const counting = queues.chunks.addBulk.bind(queues.chunks);
    queues.chunks.addBulk = (jobs) => (jobs.some((job) => job.data.streamId === 'bad') ? Promise.reject(new Error('refused')) : counting(jobs));
    const outcomes = await Promise.allSettled([enqueueChunks(queues.chunks, chunksOf('f', 0, 1)), enqueueChunks(queues.chunks, chunksOf('bad', 0, 1))]);
    queues.chunks.addBulk = counting;
    assert.deepEqual(outcomes.map((o) => o.status), ['fulfilled', 'rejected']);
    assert.equal(await queues.chunks.getWaitingCount(), 708, "f's job went in");
  });
});
