import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { Queue, UnrecoverableError, Worker } from 'bullmq';
import type { StreamMetadata } from '@vcu/domain';
import { BUCKET, Harness, randomBytes } from './harness.js';

const CHUNK = 64 * 1024;

void describe('the vcu command', () => {
  let h: Harness;
  let data: Buffer;
  let metadata: StreamMetadata;
  const vcu = (...args: string[]) => h.cli(...args);

  before(async () => {
    h = await Harness.create({ chunkSize: CHUNK });
    await h.startAll();
    data = randomBytes(4 * CHUNK + 999);
    await h.write('clips/for cli.mp4', data);
    metadata = await h.waitForMetadata('clips/for cli.mp4', data);
  });
  after(async () => h.close());

  void it('status lists the stream with its progress', async () => {
    const { code, stdout } = await vcu('status');
    assert.equal(code, 0);
    const line = stdout.split('\n').find((l) => l.includes(metadata.streamId));
    assert.ok(line, stdout);
    assert.match(line, /^complete\s+\[#{20}\] 100%\s+5\/5\s+.*clips\/for cli\.mp4$/);
  });

  void it('restore rebuilds the file byte-exact, by stream id and by path', async () => {
    for (const arg of [metadata.streamId, 'clips/for cli.mp4']) {
      const out = path.join(os.tmpdir(), `vcu-restore-${h.id}-${arg.length}.mp4`);
      const { code, stdout } = await vcu('restore', arg, out);
      assert.equal(code, 0, stdout);
      assert.ok((await readFile(out)).equals(data), `restored from ${arg} is byte-exact`);
      await rm(out);
    }
  });

  void it('verify passes, then fails once a chunk object is corrupted in S3; restore then refuses', async () => {
    const ok = await vcu('verify', 'clips/for cli.mp4');
    assert.equal(ok.code, 0, ok.stdout);
    assert.match(ok.stdout, /^OK stream [0-9a-f]{24} .*local file: matches$/m);

    const victim = metadata.chunks[2];
    assert.ok(victim);
    const corrupted = Buffer.from(data.subarray(victim.offset, victim.offset + victim.size));
    corrupted[100] = (corrupted[100] ?? 0) ^ 0xff;
    await h.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: victim.key, Body: corrupted }));

    const bad = await vcu('verify', metadata.streamId);
    assert.equal(bad.code, 1, bad.stdout);
    assert.match(bad.stdout, /^FAIL chunk 2: SHA-256 in S3 differs from metadata.json$/m);
    assert.match(bad.stdout, /^FAILED stream/m);

    const out = path.join(os.tmpdir(), `vcu-restore-${h.id}-bad.mp4`);
    const refused = await vcu('restore', metadata.streamId, out);
    assert.equal(refused.code, 1);
    await assert.rejects(readFile(out), 'nothing is written when a chunk is wrong');
  });

  void it('retry-failed moves failed jobs back to the queue', async () => {
    const prefix = h.keyPrefix;
    const queue = new Queue('finalize', { connection: h.redis, prefix });
    // a job that fails for good, on a queue no vcu worker of this test consumes by name
    const connection = new Redis(h.env['REDIS_URL'] ?? '', { maxRetriesPerRequest: null });
    const failing = new Worker('finalize', () => Promise.reject(new UnrecoverableError('made to fail')), {
      connection,
      prefix,
      autorun: false,
    });
    try {
      await h.apps.find((a) => a.name === 'worker')?.stop('SIGTERM');
      // only the job this test makes should fail: stop the sweep's scheduler first
      await queue.removeJobScheduler('finalize');
      await queue.drain(true);
      await queue.add('finalize', {}, { jobId: 'made-to-fail' });
      const done = new Promise((resolve) => failing.once('failed', resolve));
      void failing.run();
      await done;
      await failing.close(); // nothing consumes the queue now: the retried job stays waiting
      assert.equal((await queue.getJobCounts('failed')).failed, 1);
      const { code, stdout } = await vcu('retry-failed');
      assert.equal(code, 0);
      assert.match(stdout, /retried 1 failed job/);
      const counts = await queue.getJobCounts('failed', 'waiting');
      assert.equal(counts['failed'], 0);
      assert.equal(counts['waiting'], 1, 'the job waits to run again');
    } finally {
      await failing.close();
      await queue.close();
      connection.disconnect();
    }
  });

  void it('errors are one clear line with a non-zero exit', async () => {
    const unknown = await vcu('verify', 'no/such/file.mp4');
    assert.equal(unknown.code, 2);
    assert.equal(unknown.stderr.trim().split('\n').length, 1, unknown.stderr);
    assert.match(unknown.stderr, /^vcu: no stream is known for "no\/such\/file\.mp4"/);
    const wrong = await vcu('frobnicate');
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /^vcu: unknown command "frobnicate"/);
  });
});
