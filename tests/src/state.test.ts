import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { storeOnRedis } from './state-util.js';

/** The stream store's batch reads and ready set, against the real Redis. */
void describe('stream store: getMany and the ready set', () => {
  let t = 1_000_000;
  const on = storeOnRedis('state', () => t);

  const create = (id: string, path: string) =>
    on.store.create({ id, path, dev: '1', ino: '1', birthtimeNs: '0', generation: 0, chunkSize: 1024 }, { recovering: false });

  void it('getMany reads several streams in one go, undefined for an unknown one', async () => {
    await create('s-a', 'a.mp4');
    await create('s-b', 'b.mp4');
    const [a, missing, b] = await on.store.getMany(['s-a', 'nope', 's-b']);
    assert.equal(a?.path, 'a.mp4');
    assert.equal(missing, undefined);
    assert.equal(b?.path, 'b.mp4');
    assert.deepEqual(await on.store.getMany([]), []);
  });

  const record = (size: number) => ({ size, sha256: 'x'.repeat(64), etag: 'e', uploadedAt: new Date(t).toISOString() });
  /** The watcher saw the file at `size` and planned its chunks up to `planned`. */
  const seen = async (id: string, size: number, planned: number, idle = false) => {
    await on.store.observe(id, { size, mtimeNs: '1', idle });
    await on.store.plan(id, planned);
  };
  /** Committed chunks and readiness after recording a chunk. */
  const recordOf = async (id: string, index: number, size: number) => {
    const recorded = await on.store.recordChunk({ id, chunkSize: 1024 }, index, record(size));
    return typeof recorded === 'string' ? recorded : { committed: recorded.committed, ready: recorded.ready };
  };

  void it('recordChunk marks a stream ready once its whole planned file is committed, reading the stream afresh', async () => {
    t = 1_500_000;
    await create('s-grow', 'grow.mp4');
    // only full chunks planned so far (the file is still growing): never ready
    await seen('s-grow', 2500, 2048);
    assert.deepEqual(await recordOf('s-grow', 1, 1024), { committed: 0, ready: false }, 'chunk 0 is not in yet');
    assert.deepEqual(await recordOf('s-grow', 0, 1024), { committed: 2, ready: false }, 'the tail is not planned yet');
    // the watcher plans the tail (idle or sealed): the chunk that completes the file makes it ready
    await seen('s-grow', 2500, 2500, true);
    const last = await on.store.recordChunk({ id: 's-grow', chunkSize: 1024 }, 2, record(452));
    assert.deepEqual(last, { committed: 3, ready: true, committedBytes: 2500, plannedBytes: 2500, size: 2500, idle: true, status: 'active' }, 'and says where the stream is, to plan from');
    assert.deepEqual(await on.store.takeReady(t, 10), ['s-grow']);
  });

  void it('a complete stream keeps a packed hash that reads back whole, stays packed while its file is unchanged, and unpacks when it grows', async () => {
    t = 1_700_000;
    await create('s-done', 'done.mp4');
    await seen('s-done', 2500, 2500, true);
    for (const [index, size] of [[0, 1024], [1, 1024], [2, 452]] as const) await recordOf('s-done', index, size);
    assert.deepEqual(await on.store.takeReady(t, 10), ['s-done']);
    const before = await on.store.get('s-done');
    assert.ok(before);
    t = 1_700_500;
    assert.equal(await on.store.complete(before, 1), 'complete');
    const hash = await on.redis.hgetall(on.store.keys.stream('s-done'));
    assert.equal(hash['done'], '1 1024 1700000 500', 'revision, chunk size, creation, completion after it');
    assert.deepEqual(Object.keys(hash).sort(), ['birthtimeNs', 'dev', 'done', 'ino', 'mtimeNs', 'path', 'size', 'status'], 'only what tells an append or a replacement, and what is listed');
    const packed = await on.store.get('s-done');
    assert.deepEqual(packed, { ...before, status: 'complete', revision: 1, completedAt: 1_700_500, updatedAt: 1_700_500, idle: false, committedChunks: 3, committedBytes: 2500, plannedBytes: 2500 });
    assert.equal(await on.store.complete(before, 1), 'complete', 'a repeated call changes nothing');
    // the watcher sees it again, unchanged (a rescan, a restart's scan): nothing is added to it
    t = 1_701_000;
    assert.deepEqual(await on.store.observe('s-done', { size: 2500, mtimeNs: '1', idle: true }, true), { status: 'complete', reopened: false, plannedBytes: 2500, committedBytes: 2500 });
    assert.deepEqual(await on.redis.hgetall(on.store.keys.stream('s-done')), hash);
    assert.equal(await on.store.plan('s-done', 9999), 2500, 'a complete stream plans nothing more');
    // it grows: reopened with its progress as it was, to plan the new chunks from
    assert.deepEqual(await on.store.observe('s-done', { size: 3000, mtimeNs: '2', idle: false }), { status: 'active', reopened: true, plannedBytes: 2500, committedBytes: 2500 });
    const reopened = await on.store.get('s-done');
    assert.deepEqual(reopened, { ...packed, status: 'active', size: 3000, mtimeNs: '2', updatedAt: 1_701_000, recovered: true, completedAt: 1_700_500 });
    assert.equal(await on.redis.hexists(on.store.keys.stream('s-done'), 'done'), 0);
  });

  void it('a complete stream keeps the change time finalize saw, and reopens when a look sees another one', async () => {
    t = 1_800_000;
    await create('s-ctime', 'ctime.mp4');
    await seen('s-ctime', 100, 100, true);
    await recordOf('s-ctime', 0, 100);
    const before = await on.store.get('s-ctime');
    assert.ok(before);
    assert.equal(await on.store.complete(before, 1, { ctimeNs: '1000' }), 'complete');
    assert.equal(await on.redis.hget(on.store.keys.stream('s-ctime'), 'ctimeNs'), '1000');
    const unchanged = { status: 'complete', reopened: false, plannedBytes: 100, committedBytes: 100 };
    assert.deepEqual(await on.store.observe('s-ctime', { size: 100, mtimeNs: '1', ctimeNs: '1000', idle: true }), unchanged);
    assert.deepEqual(await on.store.observe('s-ctime', { size: 100, mtimeNs: '1', idle: true }), unchanged, 'a look without a change time compares none');
    // rewritten in place with its size and mtime put back, or chmod-ed: read again at finalize
    t = 1_801_000;
    assert.deepEqual(await on.store.observe('s-ctime', { size: 100, mtimeNs: '1', ctimeNs: '2000', idle: true }), { ...unchanged, status: 'active', reopened: true });
    assert.equal(await on.redis.hget(on.store.keys.stream('s-ctime'), 'ctimeNs'), '2000', 'an active stream keeps its last look\'s');
    const reopened = await on.store.get('s-ctime');
    assert.ok(reopened);
    // changed again while finalize runs (only its change time): finalize does not complete it
    t = 1_802_000;
    assert.equal((await on.store.observe('s-ctime', { size: 100, mtimeNs: '1', ctimeNs: '3000', idle: true })).reopened, false);
    assert.equal((await on.store.get('s-ctime'))?.updatedAt, 1_802_000, 'activity');
    assert.equal(await on.store.complete(reopened, 1, { ctimeNs: '2000' }), 'active', 'finalize saw the file before that change');
    const again = await on.store.get('s-ctime');
    assert.ok(again);
    assert.equal(await on.store.complete(again, 1, { ctimeNs: '3000' }), 'complete');
    assert.deepEqual(await on.store.observe('s-ctime', { size: 100, mtimeNs: '1', ctimeNs: '3000', idle: true }), unchanged);
  });

  void it('a reopened stream records a chunk past its old end before the one right after it: the prefix waits, then catches up', async () => {
    t = 1_800_000;
    await create('s-gap', 'gap.mp4');
    await seen('s-gap', 2048, 2048, true);
    for (const index of [0, 1]) await recordOf('s-gap', index, 1024);
    assert.deepEqual(await on.store.takeReady(t, 10), ['s-gap']);
    const done = await on.store.get('s-gap');
    assert.ok(done);
    assert.equal(await on.store.complete(done, 1), 'complete');
    // it grows: reopened, its chunk records dropped at completion (finalize restores them later)
    await seen('s-gap', 5000, 4096);
    assert.deepEqual(await recordOf('s-gap', 3, 1024), { committed: 2, ready: false }, 'chunk 2 is not in yet');
    assert.equal((await on.store.get('s-gap'))?.committedBytes, 2048, 'the prefix as it was');
    assert.deepEqual(await recordOf('s-gap', 2, 1024), { committed: 4, ready: false });
    assert.equal((await on.store.get('s-gap'))?.committedBytes, 4096);
  });

  void it('takeReady returns the ready streams that are idle, and empties the set', async () => {
    // last activity: s-idle at 2_000_000, s-busy at 2_010_000 (when the watcher saw their size)
    for (const [id, at] of [['s-idle', 2_000_000], ['s-busy', 2_010_000]] as const) {
      t = at;
      await create(id, `${id}.mp4`);
      await seen(id, 100, 100, true);
      assert.deepEqual(await recordOf(id, 0, 100), { committed: 1, ready: true });
    }
    await on.store.recordChunk({ id: 's-idle', chunkSize: 1024 }, 0, record(100)); // twice is once
    const idleBefore = 2_005_000;
    assert.deepEqual(await on.store.takeReady(idleBefore, 10), ['s-idle']);
    assert.deepEqual(await on.store.takeReady(idleBefore, 10), [], 'a stream not idle yet is left to the scheduled sweep');
  });
});

void describe('stream store: create', () => {
  const on = storeOnRedis('create', () => 1_000_000);
  const stream = (id: string, path: string) => ({ id, path, dev: '1', ino: '7', birthtimeNs: '0', generation: 0, chunkSize: 1024 });
  const pathOf = async (path: string) => (await on.store.currentOf(path))?.id;

  void it('returns the stream it created or found active, and leaves an id of a finished version alone', async () => {
    const created = await on.store.create(stream('c-1', 'a.mp4'), { recovering: true });
    assert.deepEqual(created, { stream: await on.store.get('c-1'), created: true }, 'the record returned is the one Redis holds');
    assert.equal(typeof created === 'string' ? created : created.stream.recovered, true);

    await on.store.observe('c-1', { size: 500, mtimeNs: '1', idle: false });
    const again = await on.store.create(stream('c-1', 'b.mp4'), { recovering: false }, { size: 900, mtimeNs: '2', idle: true });
    assert.deepEqual(typeof again === 'string' ? again : [again.created, again.stream.size, again.stream.idle], [false, 500, false], 'an active stream is kept as it was');
    assert.equal(await pathOf('b.mp4'), 'c-1', 'and its new path points at it');

    await on.store.retire({ id: 'c-1', path: 'b.mp4' }, 'file deleted');
    await on.store.create(stream('c-2', 'c.mp4'), { recovering: false });
    assert.equal(await on.store.create(stream('c-1', 'c.mp4'), { recovering: false }), 'taken');
    assert.equal(await pathOf('c.mp4'), 'c-2', 'a finished version does not take the path back');
    assert.equal((await on.store.get('c-1'))?.status, 'aborted');
  });

  void it('a hash left without a status (a field written as its stream was forgotten) is not part of the new stream', async () => {
    await on.redis.hset(on.store.keys.stream('x-1'), 'deletingAs', '.vcu-deleting-x.mp4');
    const created = await on.store.create(stream('x-1', 'x.mp4'), { recovering: false });
    assert.equal(typeof created === 'string' ? created : created.stream.deletingAs, undefined);
    assert.equal(await on.redis.hexists(on.store.keys.stream('x-1'), 'deletingAs'), 0);
  });

  void it('currentOf reads the stream a path points at, with a right guess, a wrong one or none', async () => {
    await on.store.create(stream('g-1', 'g.mp4'), { recovering: false }, { size: 10, mtimeNs: '1', idle: false });
    const first = await on.store.get('g-1');
    assert.deepEqual(await on.store.currentOf('g.mp4', 'g-1'), first, 'the right guess');
    await on.store.create(stream('g-2', 'g.mp4'), { recovering: false }, { size: 20, mtimeNs: '2', idle: false });
    assert.equal((await on.store.currentOf('g.mp4', 'g-1'))?.size, 20, 'a wrong guess: the stream the path points at now');
    assert.equal((await on.store.currentOf('g.mp4'))?.id, 'g-2', 'no guess');
    assert.equal(await on.store.currentOf('nothing.mp4', 'g-1'), undefined, 'a path that points nowhere');
  });

  void it('records the sighting it was created with as observing it would', async () => {
    const seen = { size: 3000, mtimeNs: '1700000000123456789', ctimeNs: '1700000000223456789', idle: true };
    await on.store.create(stream('o-1', 'o1.mp4'), { recovering: false });
    await on.store.observe('o-1', seen);
    await on.store.create(stream('o-2', 'o2.mp4'), { recovering: false }, seen);
    const fields = async (id: string) => {
      const h = await on.redis.hgetall(on.store.keys.stream(id));
      delete h['path'];
      return h;
    };
    assert.deepEqual(await fields('o-2'), await fields('o-1'));
    // the change time is recorded: a later look, not idle, with the same one changes nothing, with another one is activity
    await on.store.observe('o-2', { ...seen, idle: false });
    assert.equal((await on.store.get('o-2'))?.idle, true, 'the same look');
    await on.store.observe('o-2', { ...seen, ctimeNs: '1700000000999999999', idle: false });
    assert.equal((await on.store.get('o-2'))?.idle, false, 'the change time moved: no longer idle');
  });
});

void describe('stream store: planning and the idle mark', () => {
  const on = storeOnRedis('plan');

  void it('plannedBytes only grows, and only while the stream is active; any change of the file clears idle', async () => {
    await on.store.create({ id: 'p', path: 'p.mp4', dev: '1', ino: '1', birthtimeNs: '0', generation: 0, chunkSize: 10 }, { recovering: false });
    const first = await on.store.observe('p', { size: 35, mtimeNs: '1', idle: false });
    assert.deepEqual(first, { status: 'active', reopened: false, plannedBytes: 0, committedBytes: 0 });
    assert.equal(await on.store.plan('p', 30), 30);
    assert.equal(await on.store.plan('p', 20), 30, 'never backwards');
    await on.store.observe('p', { size: 35, mtimeNs: '1', idle: true });
    assert.equal((await on.store.get('p'))?.idle, true, 'the same size seen idle');
    await on.store.observe('p', { size: 36, mtimeNs: '2', idle: false });
    assert.equal((await on.store.get('p'))?.idle, false, 'a change clears it');
    await on.store.retire({ id: 'p', path: 'p.mp4' }, 'file deleted');
    assert.equal(await on.store.plan('p', 40), 30, 'an aborted stream plans nothing more');
  });
});

/**
 * Whether a new stream may already have chunks in S3 ("recovered": workers check S3 before they
 * upload) is decided atomically with its creation, against the epoch marker: a process that has
 * not yet noticed that Redis lost its data still creates recovered streams.
 */
void describe('stream store: recovered streams and the epoch marker', () => {
  const stream = (id: string) => ({ id, path: `${id}.mp4`, dev: '1', ino: '1', birthtimeNs: '0', generation: 0, chunkSize: 1024 });
  const on = storeOnRedis('epoch');

  void it('a stream created with the current epoch is new; recovering marks it recovered', async () => {
    const epoch = await on.store.epoch();
    await on.store.create(stream('e-new'), { recovering: false, epoch });
    await on.store.create(stream('e-scan'), { recovering: true, epoch });
    assert.equal((await on.store.get('e-new'))?.recovered, false);
    assert.equal((await on.store.get('e-scan'))?.recovered, true);
  });

  void it('a stream created after the epoch marker was lost or replaced is recovered, though its creator did not say so', async () => {
    const before = await on.store.epoch();
    await on.redis.del(on.store.keys.epoch()); // Redis lost its data; the caller has not noticed yet
    await on.store.create(stream('e-lost'), { recovering: false, epoch: before });
    assert.equal((await on.store.get('e-lost'))?.recovered, true, 'no epoch marker: recovered');
    const after = await on.store.epoch();
    assert.notEqual(after, before, 'a new epoch is set once the marker is gone');
    await on.store.create(stream('e-stale'), { recovering: false, epoch: before });
    assert.equal((await on.store.get('e-stale'))?.recovered, true, 'another epoch than the caller knew: recovered');
    await on.store.create(stream('e-current'), { recovering: false, epoch: after });
    assert.equal((await on.store.get('e-current'))?.recovered, false);
  });

  void it('a chunk recorded again with other bytes is left for finalize to check in S3: two PUTs of one key land in either order', async () => {
    const epoch = await on.store.epoch();
    await on.store.create(stream('e-twice'), { recovering: false, epoch });
    const upload = (size: number, sha: string) => ({ size, sha256: sha.repeat(64), etag: sha, uploadedAt: new Date(0).toISOString() });
    const epochOf = async () => (await on.store.chunk('e-twice', 0))?.epoch;
    await on.store.recordChunk({ id: 'e-twice', chunkSize: 1024 }, 0, upload(500, 'a'));
    assert.equal(await epochOf(), epoch, 'one upload: its PUT proved it');
    await on.store.recordChunk({ id: 'e-twice', chunkSize: 1024 }, 0, upload(500, 'a'));
    assert.equal(await epochOf(), epoch, 'the same bytes again prove the same');
    await on.store.recordChunk({ id: 'e-twice', chunkSize: 1024 }, 0, upload(800, 'b'));
    assert.equal(await epochOf(), '', 'other bytes: either PUT may have landed last');
    assert.equal((await on.store.chunk('e-twice', 0))?.sha256, 'b'.repeat(64));
    await on.store.recordChunk({ id: 'e-twice', chunkSize: 1024 }, 0, upload(800, 'b'));
    assert.equal(await epochOf(), '', 'the same bytes again: the other PUT may still land after it');
  });

  void it('observing a stream while recovering marks it recovered (another process may have created it after the loss)', async () => {
    const epoch = await on.store.epoch();
    await on.store.create(stream('e-race'), { recovering: false, epoch });
    await on.store.observe('e-race', { size: 10, mtimeNs: '1', idle: false });
    assert.equal((await on.store.get('e-race'))?.recovered, false);
    await on.store.observe('e-race', { size: 10, mtimeNs: '1', idle: false }, true);
    assert.equal((await on.store.get('e-race'))?.recovered, true);
  });
});

/** The indexes the dashboard reads: exact pages, the live streams, counts; none scans the keyspace. */
void describe('stream store: pages, live streams and counts', () => {
  let t = 1_000;
  const on = storeOnRedis('index', () => t);

  /** A stream created at `at` ms. */
  const createAt = async (id: string, at: number) => {
    t = at;
    await on.store.create({ id, path: `${id}.mp4`, dev: '1', ino: id, birthtimeNs: '0', generation: 0, chunkSize: 10 }, { recovering: false });
  };
  /** Every page of `limit` streams, as ids. */
  const allPages = async (limit: number) => {
    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const page = await on.store.page({ limit, cursor });
      pages.push(page.streams.map((s) => s.id));
      cursor = page.next;
    } while (cursor !== undefined);
    return pages;
  };

  void it('pages newest first, exactly, with streams of the same millisecond by id, and no empty last page', async () => {
    await createAt('a1', 5);
    await createAt('b2', 9);
    for (const id of ['c3', 'c1', 'c2']) await createAt(id, 7);
    await createAt('d4', 1);
    assert.deepEqual(await allPages(2), [
      ['b2', 'c3'],
      ['c2', 'c1'],
      ['a1', 'd4'],
    ]);
    assert.deepEqual(await allPages(6), [['b2', 'c3', 'c2', 'c1', 'a1', 'd4']]);
    assert.equal((await on.store.page({ limit: 1 })).total, 6);
  });

  void it('a cursor names a stream, not a place: new and forgotten streams never make a page skip or repeat one', async () => {
    const first = await on.store.page({ limit: 2 });
    await createAt('e5', 20); // newer than every page: does not shift the pages after the first
    await on.store.retire({ id: 'c2', path: 'c2.mp4' }, 'deleted');
    assert.equal(await on.store.forget({ id: 'c2', path: 'c2.mp4' }), true, 'the next page starts after c3, though c2 is forgotten');
    const second = await on.store.page({ limit: 2, cursor: first.next });
    assert.deepEqual(
      second.streams.map((s) => s.id),
      ['c1', 'a1'],
    );
    await assert.rejects(on.store.page({ limit: 1, cursor: '7.c1<script>' }), RangeError);
    await assert.rejects(on.store.page({ limit: 1, cursor: 'nope' }), RangeError);
  });

  void it('live() reads the unfinished streams, the new ones and those asked for, never the other finished ones', async () => {
    t = 30;
    await on.store.observe('a1', { size: 5, mtimeNs: '1', idle: true });
    const a1 = await on.store.get('a1');
    assert.ok(a1);
    assert.equal(await on.store.complete(a1, 1), 'complete');
    assert.equal(await on.store.retire({ id: 'd4', path: 'd4.mp4' }, 'deleted'), 'active');
    await createAt('f6', 40);
    const live = await on.store.live(35, ['a1'], 100);
    assert.deepEqual(live.streams.map((s) => s.id).sort(), ['a1', 'b2', 'c1', 'c3', 'e5', 'f6'], 'not the aborted d4');
    assert.equal(live.whole, true);
    const cut = await on.store.live(35, [], 2);
    assert.equal(cut.streams.length, 2);
    assert.equal(cut.whole, false, 'cut at its limit');
    assert.deepEqual(await on.store.counts(), { total: 7, active: 5, aborted: 1 });
    assert.equal(await on.store.forget({ id: 'd4', path: 'd4.mp4' }), true);
    assert.deepEqual(await on.store.counts(), { total: 6, active: 5, aborted: 0 }, 'a forgotten aborted stream leaves the counts');
  });
});
