// The bench's scale scenario in small: finished streams seeded through the real StreamStore as vcu
// leaves them (testkit's StreamSeeder) read back as vcu would read them, and the worker's finalize
// sweep reports (`finalize.swept`) that it looked at the live streams only, not the finished ones.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { RedisServer, StreamSeeder } from '@vcu/testkit';
import { Harness } from './harness.js';

const CHUNK = 64 * 1024;
const FINISHED = 300;
const LIVE = 3;

void describe('streams seeded as vcu leaves them, and the finalize sweep over them', () => {
  let server: RedisServer;
  let h: Harness;
  let seeder: StreamSeeder;
  let client: Redis;
  const specs = Array.from({ length: FINISHED }, (_, i) => i);

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
    await seeder.seedFinished(specs.map((i) => seeder.finished(i)));
    const gone = specs.filter((i) => seeder.finished(i).goneAgoMs !== undefined);
    assert.equal(gone.length, FINISHED / 10);
    for (const i of specs) assert.deepEqual(await seeder.check(seeder.finished(i)), { id: seeder.finished(i).id, problems: [] });
    assert.deepEqual(await seeder.store.counts(), { total: FINISHED + LIVE, active: LIVE, aborted: 0 });
    const keys = seeder.store.keys;
    assert.equal(await h.redis.scard(keys.ready()), 0, 'the ready sweep took every stream whose chunks were all in');
    assert.equal(await h.redis.zcard(keys.gone()), gone.length);
    assert.deepEqual((await seeder.store.idle(Date.now(), 100)).sort(), [...live].sort(), 'only the live streams are unfinished');
    const newest = await seeder.store.page({ limit: LIVE + 1 });
    const ids = newest.streams.map((s) => s.id);
    assert.deepEqual([ids.slice(0, LIVE).sort(), ids[LIVE]], [[...live].sort(), seeder.finished(0).id], 'newest first: the live streams, then finished number 0');
    // a check that cannot pass on a stream vcu did not leave so
    const wrong = await seeder.check({ ...seeder.finished(1), chunks: 99 });
    assert.deepEqual(wrong.problems, [`committedChunks: ${seeder.finished(1).chunks}, expected 99`]);
  });

  void it('the finalize sweep looks at the live streams, never the finished ones, and says how long it took', async () => {
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
    assert.deepEqual(await seeder.store.counts(), { total: FINISHED + LIVE, active: LIVE, aborted: 0 }, 'the sweep changed nothing');
  });
});
