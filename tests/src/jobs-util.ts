import { UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { Harness } from './harness.js';
import { waitUntil } from './harness.js';

/**
 * Takes the next waiting chunk job (FIFO: the lowest index the watcher enqueued first) and fails it
 * for good, as a permanent error would: the job lands in BullMQ's failed set and its stream is
 * stuck until someone retries it. Run it before any worker starts. Returns the job's payload.
 */
export async function failNextChunkJob(h: Harness): Promise<{ streamId: string; index: number }> {
  const [failed] = await failChunkJobs(h, 1);
  if (failed === undefined) throw new Error('no chunk job was failed');
  return failed;
}

/** Fails the next `count` waiting chunk jobs for good (see failNextChunkJob); returns their payloads. */
export async function failChunkJobs(h: Harness, count: number): Promise<{ streamId: string; index: number }[]> {
  const prefix = h.keyPrefix;
  await waitUntil(async () => ((await h.jobCounts('chunks'))['waiting'] ?? 0) >= count, 30_000, `${count} chunk jobs wait`);
  const connection = new Redis(h.env['REDIS_URL'] ?? '', { maxRetriesPerRequest: null });
  connection.on('error', () => undefined);
  const worker = new Worker('chunks', null, { connection, prefix, autorun: false });
  const errors: Error[] = [];
  worker.on('error', (err) => errors.push(err));
  const failed: { streamId: string; index: number }[] = [];
  try {
    const token = 'vcu-test';
    while (failed.length < count) {
      const job = (await worker.getNextJob(token)) as { data: { streamId: string; index: number }; moveToFailed(err: Error, token: string): Promise<unknown> } | undefined;
      if (job === undefined) throw new Error(`no chunk job to fail: ${errors.map(String).join('; ')}`);
      await job.moveToFailed(new UnrecoverableError('failed for good by the test'), token);
      failed.push({ streamId: job.data.streamId, index: job.data.index });
    }
    return failed;
  } finally {
    await worker.close();
    connection.disconnect();
  }
}
