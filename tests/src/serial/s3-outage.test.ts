import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Harness, randomBytes, sleep } from '../harness.js';
import { type S3Outage, createS3Outage } from '../outage.js';
import { GrowingFile } from '../writer.js';

const CHUNK = 256 * 1024;
const OUTAGE_MS = 62_000;

void describe('S3 unreachable for a minute in the middle of uploads', () => {
  let h: Harness;
  let outage: S3Outage;
  before(async () => {
    const probe = await Harness.create();
    const endpoint = probe.env['S3_ENDPOINT'] ?? '';
    await probe.close();
    outage = await createS3Outage(endpoint);
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
    const live = new GrowingFile(h.file('live.mp4'), 96 * 1024, 250).start();
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
    await worker.waitFor(/^S3 is reachable again after \d+s/, 60_000);
    await sleep(2000);
    const liveBytes = await live.stop();

    for (const [name, data] of [
      ['before.mp4', before],
      ['during.mp4', during],
      ['live.mp4', liveBytes],
    ] as const) {
      const metadata = await h.waitForMetadata(name, data, 120_000);
      assert.ok((await h.reassemble(metadata)).equals(data), `${name} is byte-exact in S3`);
    }
    const counts = await h.jobCounts();
    assert.equal(counts.failed, 0, 'no chunk job ended in the failed set');
    assert.ok(watcher.running && worker.running, 'both apps stayed up');
    assert.equal(worker.find(/^S3 is unreachable/).length, 1, 'the outage is reported once, not per job');
  });
});
