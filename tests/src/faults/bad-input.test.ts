import assert from 'node:assert/strict';
import { appendFile, chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { createS3Client } from '@vcu/storage';
import { BUCKET, Harness, randomBytes, sha256, sleep } from '../harness.js';
import { RedisServer } from '@vcu/testkit';
import { allLines, assertReassembles, canAdministerRgw, ensureRgwUser, linesAt } from '../faults-util.js';

const CHUNK = 64 * 1024;

void describe('Bad input, each with a clear message and the process still serving other files', () => {
  let cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    const pending = cleanups.reverse();
    cleanups = [];
    for (const cleanup of pending) await cleanup();
  });

  void it('skips an empty file, an unreadable file, a directory and a symlink out of WATCH_DIR, each once with its reason, uploads the good files beside them byte-exact, and the unreadable one once it is readable', async () => {
    // root reads mode-000 files: the apps run without that power, so "unreadable" means something
    const h = await Harness.create({ chunkSize: CHUNK, unprivileged: true });
    cleanups.push(() => h.close());
    const outside = await mkdtemp(path.join(os.tmpdir(), 'vcu-outside-'));
    cleanups.push(() => rm(outside, { recursive: true, force: true }));
    const outsideData = randomBytes(3 * CHUNK + 5);
    await writeFile(path.join(outside, 'target.mp4'), outsideData, { mode: 0o644 });
    const { watcher, worker } = await h.startAll();

    const longName = `${'é'.repeat(118)}.mp4`;
    assert.equal(Buffer.byteLength(longName), 240, 'the long name is 240 bytes');
    const good = new Map<string, Buffer>([
      ['ordinary.mp4', randomBytes(2 * CHUNK + 123)],
      [longName, randomBytes(CHUNK + 999)],
      [`ünïcödé/カメラ 映像/${'ü'.repeat(120)}.mp4`, randomBytes(3 * CHUNK - 7)],
      ['Ελληνικά/папка/видео №1 – ñ.mp4', randomBytes(5000)],
      ['later/after-the-bad-ones.mp4', randomBytes(CHUNK + 1)],
    ]);
    const unreadableData = randomBytes(2 * CHUNK + 1);
    // each bad path and the exact reason the watcher must give for it
    const bad: [string, string][] = [
      ['empty.mp4', 'empty file'],
      ['unreadable.mp4', 'unreadable (permission denied)'],
      ['x.mp4', 'a directory, not a file'],
      ['link.mp4', 'symlink (not followed)'],
    ];
    const badPaths = new Set(bad.map(([rel]) => rel));

    for (const [rel, data] of good) if (!rel.startsWith('later/')) await h.write(rel, data);
    await writeFile(h.file('empty.mp4'), Buffer.alloc(0));
    // created unreadable: the watcher never sees it readable
    await writeFile(h.file('unreadable.mp4'), unreadableData, { mode: 0o000 });
    await chmod(h.file('unreadable.mp4'), 0o000);
    await mkdir(h.file('x.mp4'));
    await symlink(path.join(outside, 'target.mp4'), h.file('link.mp4'));
    await mkdir(h.file('locked'), { mode: 0o000 });
    cleanups.push(() => chmod(h.file('locked'), 0o755)); // so that a non-root run can delete it
    for (const [rel, data] of good) if (rel.startsWith('later/')) await h.write(rel, data);

    for (const [rel, data] of good) {
      const metadata = await h.waitForMetadata(rel, data, 30_000);
      await assertReassembles(h, metadata, data, rel);
    }
    for (const [rel, reason] of bad) {
      const line = await watcher.waitForEvent('file.skipped', 15_000, (l) => l['path'] === rel && l['reason'] === reason);
      assert.equal(line.level, 'info', `${rel}: a skip is not an error`);
    }
    const locked = await watcher.waitForEvent('directory.unreadable', 15_000);
    assert.equal(locked['path'], 'locked');
    // let more events, idle timers and finalize sweeps pass: nothing about the bad paths may change
    await sleep(2000);

    for (const [rel] of bad) {
      const skips = watcher.events('file.skipped', (l) => l['path'] === rel);
      assert.equal(skips.length, 1, `${rel} is reported once, not on every event: ${JSON.stringify(skips)}`);
      assert.equal(watcher.events('stream.started', (l) => l['path'] === rel).length, 0, `no stream was started for ${rel}`);
      assert.equal(worker.find(/.*/, (l) => l['path'] === rel).length, 0, `the worker never handled ${rel}`);
    }
    const metadata = await h.allMetadata();
    for (const m of metadata) assert.ok(!badPaths.has(m.source.path), `nothing is uploaded for ${m.source.path}`);
    const shas = new Set(metadata.map((m) => m.sha256));
    assert.ok(!shas.has(sha256(outsideData)), 'the file outside WATCH_DIR was not uploaded under any name');
    assert.ok(!shas.has(sha256(unreadableData)), 'the unreadable file was not uploaded under any name');
    assert.deepEqual(metadata.map((m) => m.source.path).sort(), [...good.keys()].sort(), 'exactly the good files have metadata');

    assert.ok(watcher.running && worker.running, 'neither app exited');

    // once its owner makes it readable, the skipped file is seen again and uploaded, and so are
    // its later changes
    await chmod(h.file('unreadable.mp4'), 0o644);
    const readable = await h.waitForMetadata('unreadable.mp4', unreadableData, 30_000);
    await assertReassembles(h, readable, unreadableData, 'unreadable.mp4 made readable');
    const more = randomBytes(CHUNK + 10);
    await appendFile(h.file('unreadable.mp4'), more);
    const grown = await h.waitForMetadata('unreadable.mp4', Buffer.concat([unreadableData, more]), 30_000);
    assert.equal(grown.streamId, readable.streamId, 'growth continues its stream');
    await assertReassembles(h, grown, Buffer.concat([unreadableData, more]), 'unreadable.mp4 grown');

    assert.ok(watcher.running && worker.running, 'neither app exited');
    const errors = linesAt(h.apps, 'error');
    assert.deepEqual(
      errors.filter((l) => typeof l['path'] === 'string' && good.has(l['path'])),
      [],
      'no error-level line concerns a good file',
    );
    assert.deepEqual(errors, [], 'bad input is skipped with a reason, not reported as an error');
  });

  void it('wrong S3 credentials: the worker says it cannot use the bucket because S3 refused the credentials, keeps running, and never prints the secret', async (t) => {
    const secret = 'definitely-wrong-secret';
    const h = await Harness.create();
    if (!h.realS3) {
      await h.close();
      return t.skip('the embedded s3rver accepts any credentials; set S3_ENDPOINT to test a real server');
    }
    cleanups.push(() => h.close());
    const worker = h.start('worker', { S3_SECRET_KEY: secret });

    const line = await worker.waitForEvent('bucket.unusable', 20_000);
    assert.equal(line.level, 'error');
    assert.equal(line['bucket'], BUCKET);
    assert.equal(line['s3'], 'S3 refused the credentials or permissions');
    assert.equal(line['status'], 403);

    await sleep(4000);
    assert.ok(worker.running, `the worker is still running:\n${worker.tail()}`);
    assert.ok(worker.events('bucket.unusable').length >= 2, 'it keeps trying instead of giving up');
    assert.equal(worker.find('worker ready').length, 0, 'it does not claim to be ready');
    const output = [...worker.raw, ...worker.lines.map((l) => JSON.stringify(l))].join('\n');
    assert.ok(output.length > 0);
    assert.ok(!output.includes(secret), 'the secret appears nowhere in its output');
  });

  void it('a bucket owned by another S3 user: the worker logs an error naming the bucket and keeps running', async (t) => {
    if (!(await canAdministerRgw())) {
      t.skip('needs Ceph RGW');
      return;
    }
    const otherBucket = 'vcu-test-owned-by-other';
    await ensureRgwUser('vcu-other', 'vcuother', 'vcuothersecret');
    const other = createS3Client({
      endpoint: process.env['S3_ENDPOINT'],
      region: process.env['S3_REGION'] ?? 'us-east-1',
      accessKeyId: 'vcuother',
      secretAccessKey: 'vcuothersecret',
      forcePathStyle: true,
      connectTimeoutMs: 5000,
      requestTimeoutMs: 30_000,
    });
    try {
      await other.send(new CreateBucketCommand({ Bucket: otherBucket }));
    } catch (err) {
      if ((err as { name?: unknown }).name !== 'BucketAlreadyOwnedByYou') throw err;
    } finally {
      other.destroy();
    }

    const h = await Harness.create({ env: { S3_BUCKET: otherBucket } });
    cleanups.push(() => h.close());
    const worker = h.start('worker');
    const line = await worker.waitForEvent('bucket.unusable', 20_000);
    assert.equal(line.level, 'error');
    assert.equal(line['bucket'], otherBucket);
    assert.match(String(line['s3']), /^S3 refused/, 'it says S3 refused the request');

    await sleep(3000);
    assert.ok(worker.running, `the worker is still running:\n${worker.tail()}`);
    assert.equal(worker.find('worker ready').length, 0, 'it does not claim to be ready');
    assert.equal(worker.events('bucket.ready').length, 0, 'it does not claim the bucket is usable');
  });

  void it('Redis unreachable at start: both apps wait, saying so once, then connect and upload when it answers', async () => {
    // a private Redis, stopped at once: its port is known and nobody listens on it
    const redis = await RedisServer.start({ persistent: false });
    await redis.stop('SIGKILL');
    let redisUp = false;
    const h = await Harness.create({ redisUrl: redis.url, chunkSize: CHUNK });
    cleanups.push(async () => {
      if (!redisUp) await redis.start();
      await h.close();
      await redis.destroy();
    });

    const watcher = h.start('watcher');
    const worker = h.start('worker');
    const unreachable = 'Redis unreachable; retrying until it answers';
    for (const app of [watcher, worker]) {
      const line = await app.waitFor(unreachable, 15_000);
      assert.equal(line.level, 'warn');
    }
    await sleep(3000);
    assert.ok(watcher.running, `the watcher is still running:\n${watcher.tail()}`);
    assert.ok(worker.running, `the worker is still running:\n${worker.tail()}`);
    assert.equal(watcher.find(unreachable).length, 1, 'the watcher says it once, not on every retry');
    assert.equal(worker.find(unreachable).length, 1, 'the worker says it once, not on every retry');
    assert.equal(watcher.find('watching').length, 0, 'the watcher does not start watching without Redis');
    assert.equal(worker.find('worker ready').length, 0, 'the worker does not claim to be ready without Redis');

    await redis.start();
    redisUp = true;
    await watcher.waitFor('connected to Redis', 20_000);
    await watcher.waitFor('watching', 20_000);
    await worker.waitFor('connected to Redis', 20_000);
    await worker.waitFor('worker ready', 20_000);

    const data = randomBytes(3 * CHUNK + 77);
    await h.write('after-redis.mp4', data);
    const metadata = await h.waitForMetadata('after-redis.mp4', data, 30_000);
    await assertReassembles(h, metadata, data, 'after-redis.mp4');
    assert.ok(watcher.running && worker.running, 'both apps are the same processes that started without Redis');
    assert.deepEqual(
      allLines(h.apps).filter((l) => l.level === 'error'),
      [],
      'waiting for Redis is not an error',
    );
  });
});
