import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { type Target, ensureBucket, getObjectBytes, putChunk } from '@vcu/storage';
import { BUCKET, Harness, randomBytes } from './harness.js';

const digest = (algorithm: 'md5' | 'sha256', data: Buffer): string => createHash(algorithm).update(data).digest('hex');

/** putChunk against the real S3 server: the server itself refuses a body that is not the one hashed. */
void describe('putChunk', () => {
  let h: Harness;
  let target: Target;
  before(async () => {
    h = await Harness.create();
    target = { client: h.s3, bucket: BUCKET };
    await ensureBucket(target, 'us-east-1', false);
  });
  after(async () => h.close());

  void it('stores the body with its SHA-256 as user metadata', async () => {
    const body = randomBytes(256 * 1024 + 7);
    const key = `${h.id}/put/plain.bin`;
    const etag = await putChunk(target, { key, body, sha256: digest('sha256', body) });
    assert.notEqual(etag, '');
    assert.ok((await getObjectBytes(target, key))?.equals(body));
    const head = await h.s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    assert.equal(head.Metadata?.['sha256'], digest('sha256', body));
  });

  void it('is refused by the server when the body is not the one whose SHA-256 was signed', async (t) => {
    if (!h.realS3) {
      t.skip('the embedded s3rver does not check payload hashes (vcu sets S3_CONTENT_MD5=true for it); set S3_ENDPOINT to test a real server');
      return;
    }
    const body = randomBytes(64 * 1024);
    const damaged = Buffer.from(body);
    damaged[1000] = (damaged[1000] ?? 0) ^ 0xff;
    const key = `${h.id}/put/damaged.bin`;
    await assert.rejects(putChunk(target, { key, body: damaged, sha256: digest('sha256', body) }), (err: Error) => {
      assert.match(err.name, /XAmzContentSHA256Mismatch|BadDigest|SignatureDoesNotMatch/);
      return true;
    });
    assert.equal(await h.objectExists(key), false, 'nothing was stored under the key');
  });

  void it('signs each of many concurrent puts with its own hash (the client resolves its middleware once)', async (t) => {
    if (!h.realS3) {
      t.skip('the embedded s3rver does not check payload hashes; set S3_ENDPOINT to test a real server');
      return;
    }
    const bodies = Array.from({ length: 24 }, (_, i) => randomBytes(16 * 1024 + i));
    const damagedAt = 11;
    const results = await Promise.allSettled(
      bodies.map((body, i) => {
        const sent = i === damagedAt ? Buffer.concat([body.subarray(0, -1), Buffer.from([(body.at(-1) ?? 0) ^ 0xff])]) : body;
        return putChunk(target, { key: `${h.id}/put/many-${i}.bin`, body: sent, sha256: digest('sha256', body) });
      }),
    );
    assert.deepEqual(
      results.map((r) => r.status),
      bodies.map((_, i) => (i === damagedAt ? 'rejected' : 'fulfilled')),
    );
    for (const [i, body] of bodies.entries()) {
      if (i !== damagedAt) assert.ok((await getObjectBytes(target, `${h.id}/put/many-${i}.bin`))?.equals(body), `object ${i}`);
    }
  });

  void it('drops a request body once the request settled: the client keeps the first command of each class', async () => {
    const body = randomBytes(32 * 1024);
    const key = `${h.id}/put/released.bin`;
    const command = new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body });
    await h.s3.send(command);
    assert.equal(command.input.Body, undefined);
    assert.ok((await getObjectBytes(target, key))?.equals(body));
    const refused = new PutObjectCommand({ Bucket: `${BUCKET}-no-such-bucket-${h.id}`.toLowerCase(), Key: key, Body: body });
    await assert.rejects(h.s3.send(refused));
    assert.equal(refused.input.Body, undefined, 'after a failure too');
  });

  void it('with md5 (S3_CONTENT_MD5) sends Content-MD5: a body that does not match it is never recorded as stored', async () => {
    const body = randomBytes(64 * 1024);
    const key = `${h.id}/put/md5.bin`;
    assert.equal(await putChunk(target, { key, body, sha256: digest('sha256', body), md5: digest('md5', body) }), digest('md5', body));
    const other = randomBytes(64 * 1024);
    // the SHA-256 is right for what is sent; only the MD5 is not: the server (BadDigest) or the ETag check refuses it
    await assert.rejects(putChunk(target, { key: `${h.id}/put/md5-wrong.bin`, body: other, sha256: digest('sha256', other), md5: digest('md5', body) }));
  });
});
