import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Harness, randomBytes, s3Settings, sleep } from '../harness.js';
import { type S3Outage, createS3Outage } from '../outage.js';
import { assertFilesReassemble } from '../faults-util.js';
import { startAppending } from '../kill-util.js';

const CHUNK = 256 * 1024;
const OUTAGE_MS = 62_000;

void describe('S3 unreachable for a minute in the middle of uploads', () => {
  let h: Harness;
  let outage: S3Outage;
  before(async () => {
    outage = await createS3Outage((await s3Settings())['S3_ENDPOINT'] ?? '');
    h = await Harness.create({ chunkSize: CHUNK, streamIdleMs: 1500, env: outage.env });
  });
  after(async () => {
    await outage.close();
    await h.close();
  });

  void it('completes every file once S3 is back; no job fails because of the outage; logs say so plainly', { timeout: 240_000 }, async () => {
    const { watcher, worker } = await h.startAll();
    const before = randomBytes(16 * CHUNK + 5);
    await h.write('before.mp4', before);
    const live = await startAppending(h, 'live.mp4', 96 * 1024, 250);
    await worker.waitFor('chunk uploaded', 30_000, (l) => l['path'] === 'live.mp4');

    await outage.stop();
    const downAt = Date.now();
    await sleep(3000);
    const during = randomBytes(9 * CHUNK + 77);
    await h.write('during.mp4', during);
    await worker.waitFor(/^S3 is unreachable/, 30_000);
    await sleep(OUTAGE_MS - (Date.now() - downAt));
    assert.equal((await h.jobCounts()).failed, 0, 'no chunk job failed during the outage');

    await outage.start();
    await worker.waitForEvent('s3.up', 60_000);
    await sleep(2000);
    const liveBytes = await live.stop();

    await assertFilesReassemble(
      h,
      [
        ['before.mp4', before],
        ['during.mp4', during],
        ['live.mp4', liveBytes],
      ],
      120_000,
    );
    const counts = await h.jobCounts();
    assert.equal(counts.failed, 0, 'no chunk job ended in the failed set');
    assert.ok(watcher.running && worker.running, 'both apps stayed up');
    assert.equal(worker.find(/^S3 is unreachable/).length, 1, 'the outage is reported once, not per job');
  });
});
