import assert from 'node:assert/strict';
import { mkdir, rename } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Queue } from 'bullmq';
import type { StreamMetadata } from '@vcu/domain';
import { type AppProcess, RedisServer } from '@vcu/testkit';
import { Harness, randomBytes, sleep } from '../harness.js';
import { assertByteExact, killTogether, startAppending, uploadedChunks, waitForDrainedChunks, waitForRecovery } from '../kill-util.js';

const CHUNK = 256 * 1024;
const COMPLETE = ['done/one.mp4', 'done/two.mp4', 'done/three.mp4'];
const GROWING = 'live/recording.mp4';

void describe('a power cut', () => {
  let server: RedisServer | undefined;
  let h: Harness | undefined;
  after(async () => {
    try {
      await h?.close();
    } finally {
      await server?.destroy();
    }
  });

  void it('Every process killed at once and restarted (a power cut): every file completes byte-exact', async () => {
    server = await RedisServer.start({ persistent: true });
    const redis = server;
    h = await Harness.create({ redisUrl: redis.url, chunkSize: CHUNK, concurrency: 2, streamIdleMs: 1500, env: { JOB_LOCK_MS: '3000' } });
    const harness = h;

    const startProcesses = async (): Promise<{ watcher: AppProcess; workers: AppProcess[] }> => {
      const workers = [harness.start('worker'), harness.start('worker')];
      await Promise.all(workers.map((w) => w.waitFor('worker ready')));
      const watcher = harness.start('watcher');
      await watcher.waitFor('watching');
      return { watcher, workers };
    };
    // the complete files are written under hidden names first and appear whole (like `mv`)
    for (let i = 0; i < COMPLETE.length; i += 1) await harness.write(`.staging/${i}`, randomBytes((60 + 10 * i) * CHUNK + 777 * (i + 1)));
    const before = await startProcesses();

    const growing = await startAppending(harness, GROWING, 100 * 1024, 150);
    const [first, second] = before.workers;
    assert.ok(first !== undefined && second !== undefined);
    await Promise.race([first, second].map((w) => w.waitFor('chunk uploaded', 20_000, (l) => l['path'] === GROWING)));
    for (const [i, rel] of COMPLETE.entries()) {
      await mkdir(path.dirname(harness.file(rel)), { recursive: true });
      await rename(harness.file(`.staging/${i}`), harness.file(rel));
    }

    // cut the power while the complete files are partly uploaded and the growing one is under way
    const uploadedBefore = (): number => COMPLETE.reduce((n, rel) => n + uploadedChunks(before.workers, rel).length, 0);
    await first.waitFor('chunk uploaded', 30_000, () => uploadedBefore() >= 25);
    await killTogether(before.watcher, ...before.workers, redis);

    await sleep(500);
    await redis.start();
    // Redis came back from its append-only file with the work that was in progress
    const queue = new Queue('chunks', { connection: harness.redis, prefix: harness.keyPrefix });
    let interrupted: string[];
    let pending: number;
    try {
      interrupted = (await queue.getActive()).map((job) => job.id ?? '');
      const counts = await queue.getJobCounts('active', 'waiting', 'prioritized', 'delayed');
      pending = Object.values(counts).reduce((a, b) => a + b, 0);
    } finally {
      await queue.close();
    }
    assert.ok(pending > 0, 'chunk jobs were still pending or running when the power went');
    assert.ok(interrupted.length > 0, 'chunk jobs were in the middle of their upload when the power went');

    const sizeAtRestart = growing.written();
    const afterCut = await startProcesses();
    // the restarted processes take up the recording where it is now: a chunk past its size at restart is uploaded
    const firstNew = Math.floor(sizeAtRestart / CHUNK) + 1;
    await Promise.race(afterCut.workers.map((w) => w.waitFor('chunk uploaded', 30_000, (l) => l['path'] === GROWING && Number(l['chunk']) >= firstNew)));
    const finalGrowing = await growing.stop();

    assert.ok((await harness.readLocal(GROWING)).equals(finalGrowing), 'the local recording holds what the writer appended');
    const metadata = new Map<string, StreamMetadata>();
    for (const rel of [...COMPLETE, GROWING]) metadata.set(rel, await assertByteExact(harness, rel, 50_000));

    // streams begun before the cut were continued from the persisted state, not started over
    const startedBefore = before.watcher.find('stream started');
    assert.ok(startedBefore.some((l) => l['path'] === GROWING), 'the growing file had a stream before the cut');
    for (const line of startedBefore) {
      const rel = String(line['path']);
      assert.equal(metadata.get(rel)?.streamId, line['stream'], `${rel}: the stream begun before the cut is the one completed`);
      assert.deepEqual(
        afterCut.watcher.find('stream started', (l) => l['path'] === rel),
        [],
        `${rel}: the restarted watcher found its stream in Redis`,
      );
    }
    // the chunk jobs the cut interrupted were taken over by the new workers (stalled-job recovery)
    await waitForRecovery(afterCut.workers, interrupted);
    const counts = await waitForDrainedChunks(harness);
    assert.equal(counts['failed'] ?? 0, 0, `no chunk job failed: ${JSON.stringify(counts)}`);
  });
});
