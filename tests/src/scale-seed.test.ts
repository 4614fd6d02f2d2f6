// The bench's scale scenario in small: finished streams seeded through the real StreamStore as vcu
// leaves them (testkit's StreamSeeder) read back as vcu would read them, and the worker's finalize
// sweep reports (`finalize.swept`) that it looked at the live streams only, not the finished ones.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { type FinishedSpec, RedisServer, StreamSeeder } from '@vcu/testkit';
import { Harness, waitUntil } from './harness.js';

const CHUNK = 64 * 1024;
const FINISHED = 300;
const LIVE = 3;

void describe('streams seeded as vcu leaves them, and the finalize sweep over them', () => {
  let server: RedisServer;
  let h: Harness;
  let seeder: StreamSeeder;
  let client: Redis;
  let specs: FinishedSpec[] = [];

  before(async () => {
    server = await RedisServer.start({ persistent: false });
    // JOB_LOCK_MS: the live streams' uploads stay within their grace: each sweep finds them pending
    h = await Harness.create({ chunkSize: CHUNK, redisUrl: server.url, streamIdleMs: 10, finalizeEveryMs: 100, env: { JOB_LOCK_MS: '600000' } });
    client = new Redis(server.url, { maxRetriesPerRequest: 3 });
    client.on('error', () => undefined);
    seeder = new StreamSeeder(client, h.keyPrefix, CHUNK);
  });
  after(async () => {
    client.disconnect();
    await h.close();
    await server.destroy();
  });

  void it('seeds finished streams through the store that read back as vcu leaves them: complete, no chunk records, gone ones in streams:gone', async () => {
    const live = await seeder.seedLive(LIVE, h.dir);
    // the files of those still there are made in WATCH_DIR: finalize looks at them
    specs = await seeder.withFiles(Array.from({ length: FINISHED }, (_, i) => seeder.finished(i)), h.dir);
    await seeder.seedFinished(specs);
    const gone = specs.filter((spec) => spec.goneAgoMs !== undefined);
    assert.equal(gone.length, FINISHED / 10);
    for (const spec of specs) assert.deepEqual(await seeder.check(spec), { id: spec.id, problems: [] });
    assert.deepEqual(await seeder.store.counts(), { total: FINISHED + LIVE, active: LIVE, aborted: 0 });
    const keys = seeder.store.keys;
    assert.equal(await h.redis.scard(keys.ready()), 0, 'the ready sweep took every stream whose chunks were all in');
    assert.equal(await h.redis.zcard(keys.gone()), gone.length);
    assert.deepEqual((await seeder.store.idle(Date.now(), 100)).sort(), [...live].sort(), 'only the live streams are unfinished');
    const newest = await seeder.store.page({ limit: LIVE + 1 });
    const ids = newest.streams.map((s) => s.id);
    assert.deepEqual([ids.slice(0, LIVE).sort(), ids[LIVE]], [[...live].sort(), specs[0]?.id], 'newest first: the live streams, then finished number 0');
    // a check that cannot pass on a stream vcu did not leave so
    const one = specs[1] ?? assert.fail();
    const wrong = await seeder.check({ ...one, chunks: 99 });
    assert.deepEqual(wrong.problems, [`committedChunks: ${one.chunks}, expected 99`]);
  });

  void it('the finalize sweep finalizes the live streams only, looks at a fixed batch of kept files in turn, and says how long it took', async () => {
    const worker = h.start('worker');
    await worker.waitForEvent('worker.ready', 30_000);
    const swept = await worker.waitForEvent('finalize.swept', 30_000, (l) => l['sweep'] === 'scheduled');
    assert.equal(swept.level, 'debug');
    assert.equal(swept['streams'], LIVE, JSON.stringify(swept));
    assert.equal(swept['pending'], LIVE, 'live streams are still uploading');
    assert.equal(swept['gone'], 0, 'no gone stream is due (they left in the last half hour; FORGET_AFTER_MS is an hour)');
    assert.equal(swept['deletable'], 0);
    assert.equal(typeof swept['ms'], 'number');
    assert.ok((swept['ms'] as number) >= 0 && (swept['ms'] as number) < 30_000, String(swept['ms']));
    // a fixed batch of the index per sweep (100, less those already gone), in turn: the batches
    // see every stream not gone once, then start again from the oldest; every kept file is there,
    // so no stream is retired
    const scheduled = () => worker.events('finalize.swept', (l) => l['sweep'] === 'scheduled').map((l) => Number(l['present']));
    await waitUntil(() => scheduled().length >= 6, 30_000, 'six scheduled sweeps');
    const batches = scheduled();
    assert.ok(batches.every((n) => n > 0 && n <= 100), `batches: ${batches.join(', ')}`);
    let seen = 0;
    let next = 0;
    while (seen < FINISHED + LIVE - FINISHED / 10) seen += batches[next++] ?? NaN;
    assert.equal(seen, FINISHED + LIVE - FINISHED / 10, `the batches ${batches.join(', ')} cover the index once`);
    assert.equal(batches[next], batches[0], 'then it starts again from the oldest');
    assert.equal(worker.events('streams.reconciled').length, 0, 'no stream whose file is there is retired');
    assert.equal(await h.redis.zcard(seeder.store.keys.gone()), FINISHED / 10);
    assert.deepEqual(await seeder.store.counts(), { total: FINISHED + LIVE, active: LIVE, aborted: 0 }, 'the sweep changed nothing');
  });
});
