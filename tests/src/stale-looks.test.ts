// Two processes look at the same file: the watcher on its events and a worker's finalize when a
// stream has been quiet. A look taken a moment before another process recorded a newer one must
// never pass for a truncation (which would abort the stream and upload the file again as a new
// one), nor shrink the size recorded below chunks already planned from it; and a chunk job planned
// from a look that Redis then lost (a failover) is still a good job while the file holds its bytes.
import assert from 'node:assert/strict';
import { appendFile, truncate } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import type { FileFacts } from '@vcu/domain';
import { Redis } from 'ioredis';
import { currentFacts } from '@vcu/files';
import { createLogger } from '@vcu/logger';
import { type Queues, createQueues, enqueueChunks } from '@vcu/queue';
import { type StreamStore, createStreamStore } from '@vcu/state';
import { type Streams, createStreams } from '@vcu/streams';
import { Harness, randomBytes } from './harness.js';
import { assertByteExact } from './kill-util.js';

const CHUNK = 64 * 1024;

void describe('looks at a file older than the one Redis recorded', () => {
  let h: Harness;
  let queues: Queues;
  let store: StreamStore;
  let streams: Streams;
  let redis: Redis;
  const look = async (rel: string): Promise<FileFacts> => {
    const facts = await currentFacts(h.dir, rel);
    assert.ok(facts !== undefined, `${rel} is a file`);
    return facts;
  };

  before(async () => {
    h = await Harness.create({ chunkSize: CHUNK });
    redis = new Redis(h.env['REDIS_URL'] ?? '', { maxRetriesPerRequest: null });
    redis.on('error', () => undefined);
    queues = createQueues({ connection: redis, prefix: h.keyPrefix, onError: () => undefined });
    store = createStreamStore({ redis, prefix: h.keyPrefix });
    streams = createStreams({ store, queues, chunkSize: CHUNK, logger: createLogger({ level: 'error', format: 'json' }) });
  });
  after(async () => {
    await queues?.close();
    redis?.disconnect();
    await h?.close();
  });

  void it('a stale look at a growing file continues its stream and leaves the recorded size alone; a real truncation still starts a new stream', async () => {
    await h.write('grow.mp4', randomBytes(2 * CHUNK));
    const older = await look('grow.mp4');
    await appendFile(h.file('grow.mp4'), randomBytes(CHUNK));
    const first = await streams.observe(await look('grow.mp4'), { idle: false, recovering: false });
    assert.equal(first?.decision, 'new');

    // the older look, as the watcher would pass it after another process recorded the newer one
    const stale = await streams.observe(older, { idle: false, recovering: false, reread: () => currentFacts(h.dir, 'grow.mp4') });
    assert.equal(stale?.decision, 'same', 'read again, the file only grew');
    assert.equal(stale.stream.id, first?.stream.id, 'one stream');
    assert.equal((await store.get(first.stream.id))?.size, 3 * CHUNK);

    // what no process reads again is kept out of the record all the same
    await store.observe(first.stream.id, { size: older.size, mtimeNs: older.mtimeNs, idle: false });
    assert.equal((await store.get(first.stream.id))?.size, 3 * CHUNK, 'a smaller size is a stale look, not recorded');

    await truncate(h.file('grow.mp4'), CHUNK);
    const cut = await streams.observe(await look('grow.mp4'), { idle: false, recovering: false, reread: () => currentFacts(h.dir, 'grow.mp4') });
    assert.equal(cut?.decision, 'truncated');
    assert.notEqual(cut.stream.id, first.stream.id);
  });

  void it('a chunk job planned past the size Redis kept (a failover lost the last look) is uploaded while the file holds its bytes', async () => {
    const data = randomBytes(3 * CHUNK + 100);
    await h.write('lag.mp4', data);
    const now = await look('lag.mp4');
    // Redis recorded one chunk's worth; the jobs for the next two survived on another node
    const seen = await streams.observe({ ...now, size: CHUNK }, { idle: false, recovering: false });
    assert.ok(seen !== undefined);
    const { id, path, ino } = seen.stream;
    await enqueueChunks(queues.chunks, [1, 2].map((index) => ({ streamId: id, path, ino, index, offset: index * CHUNK, size: CHUNK, reason: 'grow' as const })));
    await store.plan(id, 3 * CHUNK);

    const worker = h.start('worker');
    await worker.waitFor('worker ready');
    await worker.waitFor('chunk uploaded', 30_000, (l) => l['stream'] === id && l['chunk'] === 2);
    assert.deepEqual(worker.events('chunk.refused'), [], 'no job refused');
    // the watcher's next look finishes it
    await streams.observe(now, { idle: true, recovering: false });
    await assertByteExact(h, 'lag.mp4');
  });
});
