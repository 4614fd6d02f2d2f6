import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { Queue } from 'bullmq';
import { headObject } from '@vcu/storage';
import { type AppProcess, freePort } from '@vcu/testkit';
import { assertFilesReassemble } from '../faults-util.js';
import { BUCKET, Harness, randomBytes, waitUntil } from '../harness.js';

const CHUNK = 64 * 1024;
const PASSWORD = 'forged-job-dashboard-pw';

/**
 * Row 4 of the security review: a dashboard user adds chunk jobs by hand through Bull Board's API
 * (the way its "add job" button does), made up to overwrite a finished stream's chunks with other
 * bytes. The worker trusts the stream's record in Redis, not the job.
 */
void describe('a chunk job forged through the dashboard never touches S3', () => {
  let h: Harness;
  let worker: AppProcess;
  let url = '';
  before(async () => {
    h = await Harness.create({ chunkSize: CHUNK });
    ({ worker } = await h.startAll());
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const dashboard = h.start('dashboard', { DASHBOARD_PORT: String(port), DASHBOARD_PASSWORD: PASSWORD });
    await dashboard.waitFor('dashboard ready');
  });
  after(async () => h.close());

  /** What Bull Board's own "add job" sends: same-origin JSON with the user's credentials. */
  async function addJob(data: Record<string, unknown>): Promise<void> {
    const res = await fetch(`${url}/queues/api/queues/chunks/add`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}`,
        origin: url,
        'sec-fetch-site': 'same-origin',
        'content-type': 'application/json',
      },
      body: JSON.stringify({ name: 'upload-chunk', data, options: {} }),
    });
    assert.equal(res.status, 200, await res.text());
  }

  void it('refuses made-up offsets, sizes and chunks of a finished stream, fails them without retries, and leaves its objects as they were', async () => {
    const data = randomBytes(3 * CHUNK + 500);
    await h.write('done.mp4', data);
    const metadata = await h.waitForMetadata('done.mp4', data);
    const first = metadata.chunks[0];
    assert.ok(first !== undefined);
    const before = await headObject({ client: h.s3, bucket: BUCKET }, first.key);
    const ino = String((await stat(h.file('done.mp4'))).ino);
    const real = { streamId: metadata.streamId, path: 'done.mp4', ino, reason: 'grow' };

    // chunk 0's object with bytes from elsewhere in the file; a size past a chunk; a chunk of the
    // finished stream exactly as planned (nothing to upload); a path that is not the stream's
    const forged = [
      { ...real, index: 0, offset: CHUNK, size: 1000 },
      { ...real, index: 0, offset: 0, size: 10 * CHUNK },
      { ...real, index: 1, offset: CHUNK, size: CHUNK },
      { ...real, path: 'elsewhere.mp4', index: 2, offset: 2 * CHUNK, size: CHUNK },
    ];
    for (const job of forged) await addJob(job);
    await waitUntil(() => worker.events('chunk.refused').length === forged.length, 30_000, 'every forged job is refused');
    for (const line of worker.events('chunk.refused')) {
      assert.equal(line.level, 'error');
      assert.match(String(line['err']), /chunk job refused: /);
    }
    assert.equal(worker.events('chunk.retrying').length, 0, 'a refused job is not retried');

    const queue = new Queue('chunks', { connection: h.redis, prefix: h.keyPrefix });
    try {
      const failed = await queue.getFailed(0, -1);
      assert.equal(failed.length, forged.length, 'each forged job failed');
      assert.ok(failed.every((job) => job.attemptsMade === 1), 'once each');
    } finally {
      await queue.close();
    }
    const after = await headObject({ client: h.s3, bucket: BUCKET }, first.key);
    assert.equal(after?.etag, before?.etag, "chunk 0's object is the one uploaded first");
    const verified = await h.cli('verify', 'done.mp4');
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);

    const later = randomBytes(2 * CHUNK + 1);
    await h.write('later.mp4', later);
    await assertFilesReassemble(h, [['done.mp4', data], ['later.mp4', later]]);
  });
});
