import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Harness, randomBytes } from '../harness.js';
import { RedisServer } from '@vcu/testkit';
import { assertFilesReassemble } from '../faults-util.js';
import { startAppending } from '../kill-util.js';

const CHUNK = 64 * 1024;

void describe('Redis restarted empty (its data lost) mid-upload', () => {
  let redis: RedisServer;
  let h: Harness;
  before(async () => {
    redis = await RedisServer.start({ persistent: false });
    h = await Harness.create({ redisUrl: redis.url, chunkSize: CHUNK, streamIdleMs: 1000 });
  });
  after(async () => {
    await h.close();
    await redis.destroy();
  });

  void it('rebuilds state from the files and S3: every file byte-exact, one metadata.json per stream, finished chunks not uploaded again', { timeout: 180_000 }, async () => {
    const { watcher, worker } = await h.startAll();
    const done = randomBytes(8 * CHUNK + 100);
    await h.write('done.mp4', done);
    const m1 = await h.waitForMetadata('done.mp4', done);
    const big = randomBytes(60 * CHUNK);
    await h.write('big.mp4', big);
    const live = await startAppending(h, 'live.mp4', 40 * 1024, 200);
    await worker.waitFor('chunk uploaded', 30_000, (l) => l['path'] === 'live.mp4');
    const uploadsBefore = new Set(worker.find('chunk uploaded').map((l) => `${String(l['path'])}#${String(l['chunk'])}`));

    await redis.stop('SIGKILL');
    await redis.start();
    const liveAtLoss = live.written();
    await watcher.waitFor(/^Redis has lost vcu's state/, 30_000);
    await watcher.waitFor('rescan finished; uploads continue', 30_000);
    // the recording goes on after the loss: a chunk written since is uploaded before the recorder stops
    const firstNew = Math.floor(liveAtLoss / CHUNK) + 1;
    await worker.waitFor('chunk uploaded', 30_000, (l) => l['path'] === 'live.mp4' && Number(l['chunk']) >= firstNew);
    const liveBytes = await live.stop();

    await assertFilesReassemble(
      h,
      [
        ['done.mp4', done],
        ['big.mp4', big],
        ['live.mp4', liveBytes],
      ],
      90_000,
    );

    const all = await h.allMetadata();
    for (const name of ['done.mp4', 'big.mp4', 'live.mp4']) {
      assert.equal(all.filter((m) => m.source.path === name).length, 1, `one metadata.json (one stream) for ${name}`);
    }
    const doneNow = all.find((m) => m.source.path === 'done.mp4');
    assert.equal(doneNow?.streamId, m1.streamId, 'the rebuilt stream has the same id');
    assert.equal(doneNow?.revision, m1.revision, 'metadata that already described the file was left alone');

    const uploads = worker.find('chunk uploaded').map((l) => `${String(l['path'])}#${String(l['chunk'])}`);
    const again = uploads.filter((key, i) => uploads.indexOf(key) !== i && uploadsBefore.has(key));
    const doneAgain = uploads.filter((key) => key.startsWith('done.mp4#')).length;
    assert.equal(doneAgain, 9, 'each chunk of the finished file was uploaded exactly once');
    assert.deepEqual(again.filter((k) => !k.startsWith('live.mp4#')), [], 'chunks finished before the loss were not uploaded again');
    assert.ok(worker.events('chunk.skipped', (l) => String(l['why']).startsWith('already in S3 with these bytes')).length >= 9, 'S3 was checked instead');
  });
});
