import assert from 'node:assert/strict';
import { appendFile, chmod, open, readdir, stat } from 'node:fs/promises';
import { afterEach, describe, it } from 'node:test';
import { canSeeWriters } from '@vcu/files';
import { RedisServer } from '@vcu/testkit';
import { assertFilesReassemble, assertReassembles, rewriteInPlace, syncedAndChmodded } from '../faults-util.js';
import { Harness, randomBytes, s3Settings, sleep, waitUntil } from '../harness.js';
import { TcpProxy } from '../outage.js';

/** Why the worker cannot see who holds a file open here (it then relies on the rename and the second look), or false. */
const WRITERS_HIDDEN = canSeeWriters() ? false : 'this process cannot read every process\'s descriptors (not root, or its own PID namespace): writers are not visible';

const CHUNK = 64 * 1024;
const DELETE_AFTER_MS = 1500;
const DELETE = { AFTER_UPLOAD: 'delete', DELETE_AFTER_MS: String(DELETE_AFTER_MS) };

/** Files in WATCH_DIR (top level), hidden ones included. */
async function listed(h: Harness): Promise<string[]> {
  return (await readdir(h.dir)).sort();
}

/** Waits until a file of this stream is moved aside for deletion; returns its hidden name. */
async function waitForAside(h: Harness, timeoutMs = 30_000): Promise<string> {
  let hidden: string | undefined;
  await waitUntil(async () => (hidden = (await listed(h)).find((n) => n.startsWith('.vcu-deleting-'))) !== undefined, timeoutMs, 'a file moved aside for deletion');
  return hidden ?? assert.fail();
}

/**
 * AFTER_UPLOAD=delete: a file leaves WATCH_DIR once S3's metadata.json describes it and it has
 * been quiet for DELETE_AFTER_MS, and never a byte is lost: not when a writer appends during the
 * deletion, not when Redis loses its data just before it, not while S3 is down.
 */
void describe('AFTER_UPLOAD=delete', () => {
  let cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    cleanups = [];
  });

  void it('refuses to start on a WATCH_DIR it cannot write (a read-only mount), naming the setting', async () => {
    const h = await Harness.create({ chunkSize: CHUNK, env: DELETE, unprivileged: true });
    cleanups.push(() => h.close());
    await chmod(h.dir, 0o555);
    cleanups.push(() => chmod(h.dir, 0o700));
    const worker = h.start('worker');
    assert.equal(await worker.exited, 2);
    assert.match(worker.raw.join('\n'), /AFTER_UPLOAD=delete, but this worker cannot write WATCH_DIR \(EACCES\).*or set AFTER_UPLOAD=keep/);
    // with the default (keep) the same folder is fine: the workers only read it
    const keeping = h.start('worker', { AFTER_UPLOAD: 'keep' });
    await keeping.waitFor('worker ready', 20_000);
  });

  void it('deletes each uploaded file once it has been quiet DELETE_AFTER_MS, logging the stream and its metadata.json', async () => {
    const h = await Harness.create({ chunkSize: CHUNK, env: DELETE });
    cleanups.push(() => h.close());
    const { worker } = await h.startAll();
    const files = Array.from({ length: 5 }, (_, i) => [`cam/clip-${i}.mp4`, randomBytes(CHUNK * (i + 1) + 7)] as const);
    const modified = new Map<string, number>();
    for (const [rel, data] of files) {
      await h.write(rel, data);
      modified.set(rel, (await stat(h.file(rel))).mtimeMs);
    }
    const metadata = await assertFilesReassemble(h, files);
    await waitUntil(() => worker.events('file.deleted').length === files.length, 30_000, 'every file deleted');
    for (const [rel, m] of metadata) {
      const [line] = worker.events('file.deleted', (l) => l['path'] === rel);
      assert.ok(line, `${rel}: its deletion is logged`);
      assert.equal(line['stream'], m.streamId);
      assert.equal(line['metadataKey'], `${h.id}/${m.streamId}/metadata.json`);
      const quietFor = Date.parse(String(line['timestamp'])) - (modified.get(rel) ?? 0);
      assert.ok(quietFor >= DELETE_AFTER_MS, `${rel}: deleted ${quietFor} ms after its last change`);
    }
    assert.deepEqual(await readdir(h.file('cam')), [], 'no file, nothing hidden left behind');
    assert.deepEqual(worker.events('file.kept'), []);
  });

  void it('a file rewritten in place after its upload, its modification time set back (rsync --inplace -t), is kept; one only chmod-ed is deleted', async () => {
    const h = await Harness.create({ chunkSize: CHUNK, env: { ...DELETE, DELETE_AFTER_MS: '10000' } });
    cleanups.push(() => h.close());
    const { watcher, worker } = await h.startAll();
    const { rel, v1, mtime } = await syncedAndChmodded(h, { synced: 2 * CHUNK + 5, chmodded: CHUNK + 9 });
    // the rewrite below shows a new mtime for a moment: a watcher that saw it would (rightly)
    // upload v2 as a new revision; with none running, only the change time tells
    await watcher.stop();
    // its change time moves too, its bytes do not: compared with S3's, and deleted
    await chmod(h.file('chmodded.mp4'), 0o640);
    // other bytes of the same size, and the mtime put back at once: size and mtime are as uploaded
    const v2 = randomBytes(v1.length);
    await rewriteInPlace(h.file(rel), v2, mtime);
    assert.equal((await stat(h.file(rel))).mtimeMs, mtime.getTime());
    await worker.waitForEvent('file.changed-in-place', 30_000, (l) => l['path'] === rel);
    assert.ok((await h.readLocal(rel)).equals(v2), 'the rewritten file is still there, whole');
    await worker.waitForEvent('file.deleted', 30_000, (l) => l['path'] === 'chmodded.mp4');
    assert.deepEqual(worker.events('file.deleted').map((l) => l['path']), ['chmodded.mp4']);
    assert.deepEqual(worker.events('file.changed-in-place').map((l) => l['path']), [rel]);
  });

  void it('a writer appending through its descriptor while the file is aside gets it back under its name, and every byte goes up', async () => {
    // SEAL_WHEN_CLOSED=off: the worker cannot see writers, so only the second look can catch one
    const h = await Harness.create({ chunkSize: CHUNK, env: { ...DELETE, SEAL_WHEN_CLOSED: 'off' } });
    cleanups.push(() => h.close());
    const { worker } = await h.startAll();
    const first = randomBytes(2 * CHUNK + 100);
    const handle = await open(h.file('rec.mp4'), 'a');
    cleanups.push(() => handle.close().catch(() => undefined));
    await handle.write(first);
    await h.waitForMetadata('rec.mp4', first);
    const hidden = await waitForAside(h);
    const more = randomBytes(CHUNK);
    await handle.write(more); // the recorder goes on, through the descriptor it holds
    const kept = await worker.waitForEvent('file.kept', 10_000);
    assert.equal(kept['path'], 'rec.mp4', 'put back under its name');
    assert.ok(!(await listed(h)).includes(hidden));
    const whole = Buffer.concat([first, more]);
    const grown = await h.waitForMetadata('rec.mp4', whole);
    await assertReassembles(h, grown, whole, 'the appended recording');
    assert.ok((await h.readLocal('rec.mp4')).equals(whole), 'the file is whole on disk too');
    await handle.close();
    await worker.waitForEvent('file.deleted', 30_000, (l) => l['path'] === 'rec.mp4');
    assert.deepEqual(await listed(h), []);
  });

  void it('with writers visible (SEAL_WHEN_CLOSED=auto) a file someone holds open for writing stays until it is closed', { skip: WRITERS_HIDDEN }, async () => {
    const h = await Harness.create({ chunkSize: CHUNK, env: DELETE });
    cleanups.push(() => h.close());
    const { worker } = await h.startAll();
    const data = randomBytes(CHUNK + 5);
    const handle = await open(h.file('held.mp4'), 'w');
    cleanups.push(() => handle.close().catch(() => undefined));
    await handle.write(data);
    await sleep(3 * DELETE_AFTER_MS); // (a file open for writing is not even sealed and finalized yet)
    assert.deepEqual(await listed(h), ['held.mp4'], 'held open: neither deleted nor moved aside');
    await handle.close();
    await h.waitForMetadata('held.mp4', data);
    await worker.waitForEvent('file.deleted', 30_000, (l) => l['path'] === 'held.mp4');
    assert.deepEqual(await listed(h), []);
  });

  void it('a writer that opens the name again while the file is aside makes a new file: both are uploaded whole', async () => {
    const h = await Harness.create({ chunkSize: CHUNK, env: { ...DELETE, SEAL_WHEN_CLOSED: 'off' } });
    cleanups.push(() => h.close());
    const { worker } = await h.startAll();
    const first = randomBytes(CHUNK + 3);
    await h.write('cam.mp4', first);
    const old = await h.waitForMetadata('cam.mp4', first);
    await waitForAside(h);
    const next = randomBytes(CHUNK + 11);
    await appendFile(h.file('cam.mp4'), next); // by name: a new file
    await worker.waitForEvent('file.deleted', 20_000, (l) => l['stream'] === old.streamId);
    const fresh = await h.waitForMetadata('cam.mp4', next);
    assert.notEqual(fresh.streamId, old.streamId, 'a new file, a new stream');
    await assertReassembles(h, old, first, 'the file deleted');
    await assertReassembles(h, fresh, next, 'the new file');
    await worker.waitForEvent('file.deleted', 30_000, (l) => l['stream'] === fresh.streamId);
  });

  void it('Redis loses its data just before the deletion: nothing goes on Redis alone; the files are found again, and deleted only once S3 describes them', async () => {
    const redis = await RedisServer.start({ persistent: false });
    const h = await Harness.create({ chunkSize: CHUNK, redisUrl: redis.url, env: { ...DELETE, DELETE_AFTER_MS: '4000' } });
    cleanups.push(async () => {
      await h.close();
      await redis.destroy();
    });
    const { worker, watcher } = await h.startAll();
    const files = Array.from({ length: 4 }, (_, i) => [`r/f${i}.mp4`, randomBytes(CHUNK * 2 + i)] as const);
    for (const [rel, data] of files) await h.write(rel, data);
    await assertFilesReassemble(h, files);
    await h.redis.flushall(); // every stream, the deletable set and the epoch marker: gone
    await watcher.waitForEvent('rescan.finished', 30_000);
    await waitUntil(() => worker.events('file.deleted').length === files.length, 60_000, 'every file deleted in the end');
    assert.deepEqual(await readdir(h.file('r')), []);
    await assertFilesReassemble(h, files); // S3 still holds every byte of every file
  });

  void it('S3 down: no file is moved or deleted while S3 cannot confirm its metadata.json; all go once S3 is back', async () => {
    const proxy = await TcpProxy.start((await s3Settings())['S3_ENDPOINT'] ?? '');
    const deleteAfterMs = 8000;
    const h = await Harness.create({ chunkSize: CHUNK, env: { ...DELETE, DELETE_AFTER_MS: String(deleteAfterMs), ...proxy.env } });
    cleanups.push(async () => {
      await h.close();
      await proxy.close();
    });
    const { worker } = await h.startAll();
    const files = Array.from({ length: 3 }, (_, i) => [`s/f${i}.mp4`, randomBytes(CHUNK + 9 * i)] as const);
    for (const [rel, data] of files) await h.write(rel, data);
    // S3 goes away as soon as the first file is complete: its deletion is due DELETE_AFTER_MS
    // later, and the others cannot complete (nor be deleted) until S3 is back
    const first = await worker.waitForEvent('stream.complete', 60_000, (l) => files.some(([rel]) => l['path'] === rel));
    await proxy.stop();
    const names = ['f0.mp4', 'f1.mp4', 'f2.mp4'];
    assert.deepEqual(await readdir(h.file('s')), names, 'S3 was cut before any file was due for deletion');
    // the first file's deletion falls due while S3 is away; a few sweeps after, none has happened
    const due = Date.parse(String(first['timestamp'])) + deleteAfterMs;
    await sleep(Math.max(0, due - Date.now()) + 3000);
    assert.deepEqual(await readdir(h.file('s')), names, 'all there, none aside');
    assert.deepEqual(worker.events('file.deleted'), []);
    await proxy.start();
    await waitUntil(() => worker.events('file.deleted').length === files.length, 60_000, 'every file deleted once S3 is back');
    assert.deepEqual(await readdir(h.file('s')), []);
    await assertFilesReassemble(h, files);
  });
});
