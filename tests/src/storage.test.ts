import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import {
  type Target,
  classifyS3Error,
  ensureBucket,
  getObjectBytes,
  httpStatusOf,
  isTransientS3Error,
  listIncompleteUploads,
  putChunk,
  putStreamedChunk,
} from '@vcu/storage';
import { BUCKET, Harness, randomBytes, testS3Client } from './harness.js';
import { TcpProxy } from './outage.js';

const digest = (algorithm: 'md5' | 'sha256', data: Buffer): string => createHash(algorithm).update(data).digest('hex');

let h: Harness;
let target: Target;
before(async () => {
  h = await Harness.create();
  target = { client: h.s3, bucket: BUCKET };
  await ensureBucket(target, 'us-east-1', false);
});
after(async () => h.close());

/** putChunk against the real S3 server: the server itself refuses a body that is not the one hashed. */
void describe('putChunk', () => {
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

/** PutObject is sent without the SDK's middleware (direct-put.ts): keys, errors, timeouts and the clock as the SDK would have them. */
void describe('putChunk: what the S3 server answers', () => {
  const put = (to: Target, key: string, body = randomBytes(4096)) => putChunk(to, { key, body, sha256: digest('sha256', body) });

  void it('a key with spaces, +, &, =, !\'()* and non-ASCII letters is stored under that very key', async () => {
    const body = randomBytes(1000);
    const key = `${h.id}/put/odd name+ü~!'()*&=.bin`;
    await put(target, key, body);
    assert.ok((await getObjectBytes(target, key))?.equals(body));
  });

  void it('an error answer has the SDK error shape: a missing bucket is "not-found", not worth retrying', async () => {
    const missing = { client: h.s3, bucket: `${BUCKET}-missing-${h.id}`.toLowerCase() };
    await assert.rejects(put(missing, 'k'), (err: Error) => {
      assert.equal(err.name, 'NoSuchBucket');
      assert.equal(httpStatusOf(err), 404);
      assert.equal(classifyS3Error(err), 'not-found');
      assert.equal(isTransientS3Error(err), false);
      return true;
    });
  });

  void it('a wrong secret key is "denied"', async (t) => {
    if (!h.realS3) return t.skip('the embedded s3rver does not check signatures');
    const client = await testS3Client(undefined, { secretAccessKey: 'not-the-secret' });
    try {
      await assert.rejects(put({ client, bucket: BUCKET }, `${h.id}/put/denied.bin`), (err: Error) => {
        assert.equal(classifyS3Error(err), 'denied', `${err.name}: ${err.message}`);
        return true;
      });
    } finally {
      client.destroy();
    }
  });

  void it('no server listening is "unreachable", an outage worth retrying', async () => {
    const proxy = await TcpProxy.start(h.env['S3_ENDPOINT'] ?? '');
    const client = await testS3Client(proxy.env['S3_ENDPOINT']);
    try {
      await proxy.stop();
      await assert.rejects(put({ client, bucket: BUCKET }, `${h.id}/put/unreachable.bin`), (err: Error) => {
        assert.equal(classifyS3Error(err), 'unreachable', `${err.name}: ${err.message}`);
        assert.equal(isTransientS3Error(err), true);
        return true;
      });
    } finally {
      client.destroy();
      await proxy.close();
    }
  });

  void it('a server that stops answering fails the put after S3_REQUEST_TIMEOUT_MS, as an outage', async () => {
    const proxy = await TcpProxy.start(h.env['S3_ENDPOINT'] ?? '');
    const client = await testS3Client(proxy.env['S3_ENDPOINT'], { requestTimeoutMs: 300 });
    try {
      await put({ client, bucket: BUCKET }, `${h.id}/put/before-hold.bin`);
      proxy.hold();
      await assert.rejects(put({ client, bucket: BUCKET }, `${h.id}/put/held.bin`), (err: Error) => {
        assert.equal(err.name, 'TimeoutError');
        assert.equal(isTransientS3Error(err), true);
        return true;
      });
    } finally {
      client.destroy();
      await proxy.close();
    }
  });

  void it('a clock an hour off: the server\'s answer corrects it and the put succeeds', async (t) => {
    if (!h.realS3) return t.skip('the embedded s3rver does not check the request time');
    const client = await testS3Client();
    try {
      client.config.systemClockOffset = -3600_000;
      const body = randomBytes(2048);
      await put({ client, bucket: BUCKET }, `${h.id}/put/skewed.bin`, body);
      assert.ok(Math.abs(client.config.systemClockOffset) < 60_000, `offset now ${client.config.systemClockOffset} ms`);
      assert.ok((await getObjectBytes(target, `${h.id}/put/skewed.bin`))?.equals(body));
    } finally {
      client.destroy();
    }
  });
});

/** putStreamedChunk against the real S3 server: a big chunk sent in parts from the caller's buffers. */
void describe('putStreamedChunk', () => {
  const MiB = 1024 * 1024;
  const partSize = 5 * MiB;
  /** A chunk (by default 3 parts, the last short) and a reader of its parts that notes which buffer each went into. */
  const chunk = (size = 2 * partSize + 12_345) => {
    const bytes = randomBytes(size);
    const buffers = [Buffer.alloc(partSize), Buffer.alloc(partSize)];
    const into: number[] = [];
    const readPart = (index: number, buffer: Buffer): Promise<void> => {
      into.push(buffers.findIndex((b) => b.buffer === buffer.buffer));
      bytes.copy(buffer, 0, index * partSize, index * partSize + buffer.length);
      return Promise.resolve();
    };
    return { bytes, buffers, into, input: { size: bytes.length, sha256: digest('sha256', bytes), partSize, buffers, readPart } };
  };
  const incomplete = (key: string) => listIncompleteUploads(target, key);
  void it('sends the parts from the two buffers in turn; S3 holds the bytes and their SHA-256 (with md5, whole parts, less than a part)', async () => {
    const cases = [
      { name: 'short-last', size: 2 * partSize + 12_345, md5: false, buffers: [0, 1, 0] },
      { name: 'md5', size: 2 * partSize + 12_345, md5: true, buffers: [0, 1, 0] },
      { name: 'whole-parts', size: 2 * partSize, md5: false, buffers: [0, 1] },
      { name: 'one-small-part', size: 1000, md5: true, buffers: [0] },
    ];
    for (const c of cases) {
      const { bytes, into, input } = chunk(c.size);
      const key = `${h.id}/streamed/${c.name}.bin`;
      assert.notEqual(await putStreamedChunk(target, { ...input, key, md5: c.md5 }), '');
      assert.deepEqual(into, c.buffers, `${c.name}: the parts went into the buffers in turn`);
      assert.ok((await getObjectBytes(target, key))?.equals(bytes), c.name);
      const head = await h.s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
      assert.equal(head.Metadata?.['sha256'], digest('sha256', bytes));
    }
  });

  void it('a part S3 refuses while the part before is still in flight: that refusal comes back, not the cancellation of the other', async () => {
    const client = await testS3Client();
    const refusal = new Error('part 2 refused');
    // part 1 is slow to be sent, part 2 is refused at once: part 1 is cancelled while the third part waits for its buffer
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const part = (args.input as { PartNumber?: number }).PartNumber;
        if (context.commandName === 'UploadPartCommand' && part === 1) await new Promise((r) => setTimeout(r, 300));
        if (context.commandName === 'UploadPartCommand' && part === 2) throw refusal;
        return next(args);
      },
      { step: 'initialize', name: 'testSlowThenRefused' },
    );
    try {
      const { input } = chunk();
      const key = `${h.id}/streamed/refused.bin`;
      await assert.rejects(putStreamedChunk({ client, bucket: BUCKET }, { ...input, key }), (err) => err === refusal);
      if (h.realS3) assert.deepEqual(await incomplete(key), [], 'the upload was aborted');
    } finally {
      client.destroy();
    }
  });

  void it('a failed read aborts the upload: the error comes back and no upload is left', async (t) => {
    if (!h.realS3) return t.skip('the embedded s3rver cannot list multipart uploads');
    const { input } = chunk();
    const key = `${h.id}/streamed/read-fails.bin`;
    const changed = new Error('the bytes changed');
    const readPart = async (index: number, buffer: Buffer) => (index === 2 ? Promise.reject(changed) : input.readPart(index, buffer));
    await assert.rejects(putStreamedChunk(target, { ...input, key, readPart }), (err) => err === changed);
    assert.deepEqual(await incomplete(key), []);
    assert.equal(await getObjectBytes(target, key), undefined, 'no object');
  });

  void it('S3 gone mid-chunk: the attempt fails, and the next one aborts what it left and puts the chunk whole', async (t) => {
    if (!h.realS3) return t.skip('the embedded s3rver cannot list multipart uploads');
    const proxy = await TcpProxy.start(h.env['S3_ENDPOINT'] ?? '');
    const client = await testS3Client(proxy.env['S3_ENDPOINT']);
    try {
      const { bytes, input } = chunk();
      const key = `${h.id}/streamed/outage.bin`;
      // the upload is created through the proxy, which goes away before the first part is sent
      const readPart = async (index: number, buffer: Buffer) => {
        if (index === 0) await proxy.stop();
        return input.readPart(index, buffer);
      };
      await assert.rejects(putStreamedChunk({ client, bucket: BUCKET }, { ...input, key, readPart }));
      assert.ok((await incomplete(key)).length >= 1, 'the failed attempt could not abort its upload: S3 was gone');
      await putStreamedChunk(target, { ...input, key });
      assert.deepEqual(await incomplete(key), [], 'the next attempt aborted it');
      assert.ok((await getObjectBytes(target, key))?.equals(bytes));
    } finally {
      client.destroy();
      await proxy.close();
    }
  });
});
