import assert from 'node:assert/strict';
import { appendFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { getObjectBytes } from '@vcu/storage';
import { BUCKET, Harness, randomBytes } from './harness.js';

const MiB = 1024 * 1024;

void describe('server-side assembly (ASSEMBLE=true)', () => {
  let h: Harness;
  before(async () => {
    h = await Harness.create({ chunkSize: 5 * MiB, env: { ASSEMBLE: 'true' } });
    await h.startAll();
  });
  after(async () => h.close());

  void it('joins the chunks into one object equal to the file, recorded in metadata.json, and again on a new revision', { timeout: 120_000 }, async (t) => {
    if (!h.realS3) {
      // s3rver, the embedded server, has no UploadPartCopy: what a user of such a server sees
      await h.write('cams/unsupported.mp4', randomBytes(6 * MiB));
      const worker = h.apps.find((a) => a.name === 'worker');
      const line = await worker?.waitFor('finalize of a stream failed; the next sweep retries it', 30_000);
      assert.match(String(line?.['err']), /does not implement UploadPartCopy, which assembly needs; set ASSEMBLE=false/);
      t.skip('the embedded S3 server cannot assemble; set S3_ENDPOINT to a real S3 server to test assembly');
      return;
    }
    const first = randomBytes(12 * MiB + 321);
    await h.write('cams/joined clip.mp4', first);
    const m1 = await h.waitForMetadata('cams/joined clip.mp4', first);
    assert.equal(m1.assembled?.key, `${h.id}/${m1.streamId}/joined clip.mp4`);
    assert.equal(m1.assembled.size, first.length);
    assert.match(m1.assembled.etag, /^[0-9a-f]{32}-3$/, `a three-part multipart object: ${m1.assembled.etag}`);
    const object1 = await getObjectBytes({ client: h.s3, bucket: BUCKET }, m1.assembled.key);
    assert.ok(object1?.equals(first), 'the assembled object is the file, byte for byte');

    const more = randomBytes(3 * MiB);
    await appendFile(h.file('cams/joined clip.mp4'), more);
    const whole = Buffer.concat([first, more]);
    const m2 = await h.waitForMetadata('cams/joined clip.mp4', whole);
    assert.ok(m2.revision > m1.revision);
    assert.equal(m2.assembled?.size, whole.length);
    const object2 = await getObjectBytes({ client: h.s3, bucket: BUCKET }, m2.assembled.key);
    assert.ok(object2?.equals(whole), 'assembled again for the new revision');

    const uploads = await h.s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: `${h.id}/` }));
    assert.equal(uploads.Uploads?.length ?? 0, 0, 'no multipart upload is left behind');
  });
});
