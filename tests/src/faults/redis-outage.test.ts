import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Harness, randomBytes, sleep } from '../harness.js';
import { RedisServer } from '@vcu/testkit';
import { assertFilesReassemble } from '../faults-util.js';
import { startAppending } from '../kill-util.js';

const CHUNK = 64 * 1024;

void describe('Redis stopped for 30 s mid-upload, then restarted with its data', () => {
  let redis: RedisServer;
  let h: Harness;
  before(async () => {
    redis = await RedisServer.start({ persistent: true });
    h = await Harness.create({ redisUrl: redis.url, chunkSize: CHUNK, streamIdleMs: 1500 });
  });
  after(async () => {
    await h.close();
    await redis.destroy();
  });

  void it('keeps every process up; they reconnect and every file completes', { timeout: 180_000 }, async () => {
    const { watcher, worker } = await h.startAll();
    const first = randomBytes(20 * CHUNK + 3);
    await h.write('first.mp4', first);
    const live = await startAppending(h, 'live.mp4', 40 * 1024, 200);
    await worker.waitFor('chunk uploaded', 30_000, (l) => l['path'] === 'live.mp4');

    await redis.stop('SIGTERM');
    await sleep(2000);
    const during = randomBytes(7 * CHUNK + 11);
    await h.write('during.mp4', during);
    await sleep(28_000);
    assert.ok(watcher.running && worker.running, 'nothing crashed while Redis was away');
    await redis.start();
    await worker.waitFor('Redis connection restored', 30_000);
    await watcher.waitFor('Redis connection restored', 30_000);
    await sleep(2000);
    const liveBytes = await live.stop();

    await assertFilesReassemble(
      h,
      [
        ['first.mp4', first],
        ['during.mp4', during],
        ['live.mp4', liveBytes],
      ],
      90_000,
    );
    assert.ok(watcher.running && worker.running, 'both apps are still the same processes');
    assert.ok(watcher.find('Redis connection lost; retrying until it is back').length >= 1);
    assert.equal((await h.jobCounts()).failed, 0);
  });
});
