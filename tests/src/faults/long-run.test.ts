import assert from 'node:assert/strict';
import { appendFile, rename, unlink } from 'node:fs/promises';
import { afterEach, describe, it } from 'node:test';
import type { Cluster, Redis } from 'ioredis';
import { assertFilesReassemble } from '../faults-util.js';
import { Harness, randomBytes, waitUntil } from '../harness.js';
import { RedisServer, freePort } from '@vcu/testkit';

const CHUNK = 64 * 1024;

/** Bytes Redis uses for a key (MEMORY USAGE), 0 when it does not exist. */
async function usage(redis: Redis | Cluster, key: string): Promise<number> {
  return Number((await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0);
}

/**
 * What one finished stream costs Redis here (MEMORY USAGE): its hash, its path key and its share
 * of the streams:all index. Not counted: the keyspace's own tables (~50 B a key at scale), and
 * the index is a small listpack here where at 50,000 it is a skiplist (~120 B an entry): the
 * bench's scale scenario measures the whole used_memory growth per stream at that size
 * (BENCHMARKS.md, "Scale: finished streams kept"), which is what issue 13's 600 B is judged on.
 */
async function finishedStreamBytes(redis: Redis | Cluster, keyOf: (what: string) => string, id: string, rel: string): Promise<number> {
  const share = (await usage(redis, keyOf('streams:all'))) / (await redis.zcard(keyOf('streams:all')));
  return (await usage(redis, keyOf(`stream:${id}`))) + (await usage(redis, keyOf(`path:${rel}`))) + share;
}

/**
 * Run for months: Redis holds what is live. A finished stream keeps a small record while its file
 * is there and is forgotten FORGET_AFTER_MS after its file left; finished jobs are bounded by
 * count; a Redis that is full says so and every file goes up once it accepts writes again.
 */
void describe('Redis holds what is live', () => {
  let cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    cleanups = [];
  });

  void it('a finished stream keeps a small record while its file is there, and nothing once it has left for FORGET_AFTER_MS, even while no watcher runs; finished jobs stay bounded', async () => {
    const h = await Harness.create({ chunkSize: CHUNK, env: { FORGET_AFTER_MS: '1500', KEEP_COMPLETED_JOBS: '5' } });
    cleanups.push(() => h.close());
    const { watcher } = await h.startAll();
    const files = Array.from({ length: 12 }, (_, i) => [`cams/clip-${i}.mp4`, randomBytes(2 * CHUNK + 10 * i)] as const);
    for (const [rel, data] of files) await h.write(rel, data);
    const metadata = await assertFilesReassemble(h, files);
    const prefix = h.keyPrefix;
    const keyOf = (what: string) => `${prefix}:${what}`;

    for (const [rel, m] of metadata) {
      await waitUntil(async () => (await h.redis.hget(keyOf(`stream:${m.streamId}`), 'status')) === 'complete', 10_000, `${rel} complete`);
      assert.equal(await h.redis.exists(keyOf(`stream:${m.streamId}:chunks`)), 0, `${rel}: its chunk records went to metadata.json`);
      // its packed hash (~300 B with the tests' longer prefix; ~400 B unpacked) + its path key
      // (~120 B) + its share of a small index (~40 B): the whole of it at scale, with the tables a
      // key costs, is the bench's (<= 600 B at 50,000)
      const bytes = await finishedStreamBytes(h.redis, keyOf, m.streamId, rel);
      assert.ok(bytes <= 500, `${rel}: ${Math.round(bytes)} bytes of Redis for a finished stream (its hash, path key and index share)`);
    }
    await waitUntil(async () => (await h.jobCounts())['completed'] === 5, 10_000, 'KEEP_COMPLETED_JOBS finished jobs are kept');

    // half the files leave (a camera's rotation): their streams are forgotten, the rest stay
    const gone = files.slice(0, 6).map(([rel]) => metadata.get(rel)?.streamId ?? '');
    for (const [rel] of files.slice(0, 6)) await unlink(h.file(rel));
    await waitUntil(async () => (await Promise.all(gone.map((id) => h.redis.exists(keyOf(`stream:${id}`))))).every((n) => n === 0), 20_000, 'the streams of removed files are forgotten');
    assert.equal(await h.redis.zcard(keyOf('streams:all')), 6, 'the index holds the six streams whose file is there');
    for (const [rel] of files.slice(0, 6)) assert.equal(await h.redis.exists(keyOf(`path:${rel}`)), 0);
    const listed = await h.cli('status');
    assert.equal(listed.code, 0);
    assert.match(listed.stdout, /6 streams: 0 active, 6 complete/);

    // a kept stream still notices an append: a new revision, its old chunks not uploaded again
    const [rel, data] = files[11] ?? assert.fail();
    const more = randomBytes(CHUNK);
    await appendFile(h.file(rel), more);
    const grown = await h.waitForMetadata(rel, Buffer.concat([data, more]));
    assert.equal(grown.revision, 2);
    const worker = h.apps.find((a) => a.name === 'worker');
    for (const chunk of [0, 1]) {
      assert.equal(worker?.events('chunk.uploaded', (l) => l['path'] === rel && l['chunk'] === chunk).length, 1, `chunk ${chunk} went up once`);
    }

    // while no watcher runs, a file is deleted and another replaced by a new file: the worker's
    // housekeeping notices (a batch of kept files per sweep), and Redis forgets both streams
    await watcher.stop();
    const deleted = files[6] ?? assert.fail();
    const replaced = files[7] ?? assert.fail();
    const left = [deleted[0], replaced[0]].map((r) => metadata.get(r)?.streamId ?? '');
    await unlink(h.file(deleted[0]));
    const renewed = randomBytes(CHUNK + 7);
    await h.write(`${replaced[0]}.new`, renewed);
    await rename(h.file(`${replaced[0]}.new`), h.file(replaced[0]));
    await waitUntil(async () => (await Promise.all(left.map((id) => h.redis.exists(keyOf(`stream:${id}`))))).every((n) => n === 0), 20_000, 'the streams whose file left while no watcher ran are forgotten');
    assert.equal(watcher.running, false, 'no watcher ran meanwhile');
    assert.ok((worker?.events('streams.reconciled').length ?? 0) >= 1, 'the worker retired them');
    assert.equal(await h.redis.zcard(keyOf('streams:all')), 4, 'the four streams whose file is still the same stay');
    // a watcher started again uploads the new file as a new stream
    h.start('watcher');
    const next = await h.waitForMetadata(replaced[0], renewed);
    assert.notEqual(next.streamId, left[1]);
  });

  void it('Redis out of memory: said plainly (once a minute), /healthz says Redis is down, and every file waiting goes up once Redis accepts writes again', async () => {
    const redis = await RedisServer.start({ persistent: false });
    const port = await freePort();
    const h = await Harness.create({ chunkSize: CHUNK, redisUrl: redis.url });
    cleanups.push(async () => {
      await h.close();
      await redis.destroy();
    });
    await h.start('worker').waitForEvent('worker.ready');
    const watcher = h.start('watcher', { METRICS_PORT: String(port) });
    await watcher.waitForEvent('watcher.ready');
    const admin = h.redis;
    const first = randomBytes(CHUNK + 1);
    await h.write('before.mp4', first);
    await h.waitForMetadata('before.mp4', first);

    const used = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))?.[1] ?? 0);
    await admin.config('SET', 'maxmemory', String(used + 32 * 1024));
    const files = Array.from({ length: 40 }, (_, i) => [`full/f${i}.mp4`, randomBytes(CHUNK + 100 * i)] as const);
    for (const [rel, data] of files) await h.write(rel, data);
    await watcher.waitForEvent('redis.out-of-memory', 30_000);
    await waitUntil(async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 503, 20_000, 'the watcher says it is unhealthy');
    const health = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as Record<string, unknown>;
    assert.equal(health['redis'], 'down');
    const reason = await watcher.waitForEvent('health.part-down', 10_000, (l) => l['part'] === 'redis');
    assert.match(String(reason['reason']), /OOM/, 'the log says why');

    await admin.config('SET', 'maxmemory', '0');
    await assertFilesReassemble(h, files, 90_000);
    for (const app of h.apps) {
      assert.ok(app.events('redis.out-of-memory').length <= 2, `${app.name} said it once a minute, not per failure`);
      assert.ok(app.running, `${app.name} kept running`);
    }
  });
});
