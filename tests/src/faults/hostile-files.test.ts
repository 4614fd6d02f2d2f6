import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rename, rm, symlink, truncate, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, it } from 'node:test';
import { PLAN_WINDOW_CHUNKS } from '@vcu/domain';
import { type AppProcess, freePort } from '@vcu/testkit';
import { assertFilesReassemble } from '../faults-util.js';
import { Harness, randomBytes, sha256, waitUntil } from '../harness.js';

const run = promisify(execFile);
const CHUNK = 64 * 1024;

/** Resident memory of a process now, from /proc (bytes). */
async function rssOf(app: AppProcess): Promise<number> {
  const status = await readFile(`/proc/${String(app.pid)}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024;
}

/** Chunk jobs of a queue in any state: what a file costs Redis. */
async function allJobs(h: Harness): Promise<number> {
  return Object.values(await h.jobCounts()).reduce((a, b) => a + b, 0);
}

/**
 * Rows 1, 3 and 12 of the security review: files that are not what they seem. Each case ends with
 * every ordinary file byte-exact in S3.
 */
void describe('hostile files: FIFOs, links and huge sparse files never block or corrupt anything', () => {
  let cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    cleanups = [];
  });

  void it('files swapped for FIFOs while queued: each of their streams is aborted once with the reason, every other file completes, and SIGTERM exits 0 in time', async () => {
    const h = await Harness.create({ chunkSize: CHUNK, streamIdleMs: 500 });
    cleanups.push(() => h.close());
    const watcher = h.start('watcher');
    await watcher.waitFor('watching');
    const files = new Map<string, Buffer>(Array.from({ length: 8 }, (_, i) => [`ff${i}.mp4`, randomBytes(3 * CHUNK + 100 * i + 1)]));
    files.set('ordinary.mp4', randomBytes(5 * CHUNK + 7));
    for (const [rel, data] of files) await h.write(rel, data);
    // no worker yet: every chunk job (4 per file, the tails once idle) waits in the queue
    const jobsExpected = [...files.values()].reduce((n, d) => n + Math.ceil(d.length / CHUNK), 0);
    await waitUntil(async () => (await h.jobCounts())['waiting'] === jobsExpected, 30_000, 'every chunk job is queued');

    // with the watcher gone, the worker alone meets what happens next (the watcher would skip them)
    assert.equal(await watcher.stop('SIGTERM'), 0);
    // four of them become FIFOs (mkfifo .t; mv .t ffN.mp4): opening one for reading would block
    const fifos = ['ff0.mp4', 'ff2.mp4', 'ff4.mp4', 'ff6.mp4'];
    for (const rel of fifos) {
      await run('mkfifo', [h.file('.t')]);
      await rename(h.file('.t'), h.file(rel));
      files.delete(rel);
    }
    const port = await freePort();
    const worker = h.start('worker', { METRICS_PORT: String(port) });
    await worker.waitFor('worker ready');

    await assertFilesReassemble(h, [...files.entries()], 60_000);
    for (const rel of fifos) {
      const aborted = await worker.waitForEvent('stream.aborted', 20_000, (l) => l['path'] === rel);
      assert.match(String(aborted['reason']), /^not a regular file: FIFO/, `${rel}: aborted with the reason`);
      assert.equal(worker.events('stream.aborted', (l) => l['path'] === rel).length, 1, `${rel}: said once, not per chunk`);
      assert.equal(worker.events('chunk.retrying', (l) => l['path'] === rel).length, 0, `${rel}: its chunks are not retried`);
    }
    const health = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as Record<string, unknown>;
    assert.deepEqual(health, { ok: true, redis: 'up', s3: 'up', files: 'up' }, 'no thread is stuck: the file system answers');

    // a watcher started now skips the FIFOs with the reason, and never opens them
    const again = h.start('watcher');
    await again.waitFor('watching');
    await again.waitForEvent('file.skipped', 20_000, (l) => l['path'] === 'ff0.mp4' && l['reason'] === 'not a regular file: FIFO (named pipe)');

    const stopped = Date.now();
    assert.equal(await worker.stop('SIGTERM'), 0, `SIGTERM exits 0:\n${worker.tail()}`);
    assert.ok(Date.now() - stopped < Number(h.env['SHUTDOWN_TIMEOUT_MS']), 'within SHUTDOWN_TIMEOUT_MS');
    assert.equal(await again.stop('SIGTERM'), 0, 'and the watcher too');
  });

  void it('a queued file replaced by a link, or reached through a folder swapped for a link: nothing from the link target is uploaded', async () => {
    const h = await Harness.create({ chunkSize: CHUNK, streamIdleMs: 500 });
    cleanups.push(() => h.close());
    const outside = await mkdtemp(path.join(os.tmpdir(), 'vcu-outside-'));
    cleanups.push(() => rm(outside, { recursive: true, force: true }));
    const secret = randomBytes(3 * CHUNK + 5);
    await mkdir(path.join(outside, 'cams'), { recursive: true });
    await writeFile(path.join(outside, 'cams', 'a.mp4'), secret);
    await writeFile(path.join(outside, 'b.mp4'), secret);

    const watcher = h.start('watcher');
    await watcher.waitFor('watching');
    await h.write('cams/a.mp4', randomBytes(3 * CHUNK + 5));
    await h.write('b.mp4', randomBytes(3 * CHUNK + 5));
    await waitUntil(async () => (await h.jobCounts())['waiting'] === 8, 30_000, 'both files are queued');
    // with the watcher gone, the worker alone meets the swap: b.mp4 becomes a link to a file
    // outside WATCH_DIR, and the folder cams a link to another folder holding an a.mp4
    assert.equal(await watcher.stop('SIGTERM'), 0);
    await unlink(h.file('b.mp4'));
    await symlink(path.join(outside, 'b.mp4'), h.file('b.mp4'));
    await rename(h.file('cams'), h.file('cams-moved'));
    await symlink(path.join(outside, 'cams'), h.file('cams'));

    const worker = h.start('worker');
    await worker.waitFor('worker ready');
    const linked = await worker.waitForEvent('stream.aborted', 20_000, (l) => l['path'] === 'b.mp4');
    assert.equal(linked['reason'], 'not a regular file: symbolic link');
    const moved = await worker.waitForEvent('chunk.failed', 20_000, (l) => l['path'] === 'cams/a.mp4');
    assert.match(String(moved['err']), /replaced by another/, 'another file (inode, birth time) than the stream recorded');
    await waitUntil(async () => {
      const c = await h.jobCounts();
      return (c['waiting'] ?? 0) + (c['active'] ?? 0) + (c['delayed'] ?? 0) === 0;
    }, 30_000, 'the queue drains');
    assert.deepEqual(worker.events('chunk.uploaded', (l) => l['path'] === 'b.mp4' || l['path'] === 'cams/a.mp4'), [], 'no chunk was read through a link');
    assert.equal(worker.events('chunk.retrying').length, 0, 'nothing is retried');

    // a watcher again: links are not followed, a new file beside them goes up as usual
    const again = h.start('watcher');
    await again.waitFor('watching');
    const good = randomBytes(2 * CHUNK + 3);
    await h.write('good.mp4', good);
    await assertFilesReassemble(h, [['good.mp4', good]], 30_000);
    const shas = (await h.allMetadata()).map((m) => m.sha256);
    assert.ok(!shas.includes(sha256(secret)), 'the link targets are described nowhere');
  });

  void it('a 1 TiB sparse file costs a window of chunk jobs, not 16 million; deleting it ends its stream; the other file completes', async () => {
    const h = await Harness.create({ chunkSize: CHUNK, streamIdleMs: 500 });
    cleanups.push(() => h.close());
    const { watcher, worker } = await h.startAll();
    await writeFile(h.file('huge.mp4'), Buffer.alloc(0));
    await truncate(h.file('huge.mp4'), 1024 ** 4);
    const stream = await watcher.waitForEvent('stream.started', 20_000, (l) => l['path'] === 'huge.mp4');
    // the workers slide the window on; it never holds more than PLAN_WINDOW_CHUNKS jobs not yet done
    // (plus, for a moment, the jobs whose upload is recorded but which BullMQ has not closed yet)
    const uploaded = (): number => worker.events('chunk.uploaded', (l) => l['path'] === 'huge.mp4').length;
    // more chunks done than one window holds: the window has slid (two windows took over 60 s on a
    // loaded CI machine)
    await waitUntil(() => uploaded() > PLAN_WINDOW_CHUNKS + Number(h.env['WORKER_CONCURRENCY']), 120_000, 'more than a window of chunks is uploaded');
    const counts = await h.jobCounts();
    const pending = (counts['waiting'] ?? 0) + (counts['active'] ?? 0) + (counts['delayed'] ?? 0) + (counts['prioritized'] ?? 0);
    assert.ok(pending <= PLAN_WINDOW_CHUNKS + Number(h.env['WORKER_CONCURRENCY']), `at most a window of jobs pending: ${JSON.stringify(counts)}`);
    const record = await h.redis.hgetall(`${h.keyPrefix}:stream:${String(stream['stream'])}`);
    const planned = Number(record['plannedBytes']);
    assert.ok(planned <= Number(record['committedBytes']) + PLAN_WINDOW_CHUNKS * CHUNK + CHUNK, `planned ${planned} stays within the window past ${record['committedBytes']}`);
    assert.ok((await rssOf(watcher)) < 150 * 1024 ** 2, 'the watcher stays small');
    assert.ok((await allJobs(h)) < 4 * PLAN_WINDOW_CHUNKS, 'Redis holds a few windows of jobs, not millions');

    await unlink(h.file('huge.mp4'));
    const aborted = (): boolean => h.apps.some((a) => a.events('stream.aborted', (l) => l['path'] === 'huge.mp4').length > 0);
    await waitUntil(aborted, 20_000, 'the stream of the deleted file is aborted');
    const small = randomBytes(2 * CHUNK + 9);
    await h.write('small.mp4', small);
    await assertFilesReassemble(h, [['small.mp4', small]], 30_000);
  });
});
