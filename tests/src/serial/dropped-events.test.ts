import assert from 'node:assert/strict';
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { after, describe, it } from 'node:test';
import { Harness, randomBytes } from '../harness.js';
import { assertFilesReassemble } from '../faults-util.js';

/** The kernel's inotify queue length, read by each inotify instance when it is created. */
const MAX_QUEUED = '/proc/sys/fs/inotify/max_queued_events';

/** Why the queue cannot be shortened here (not root, a read-only /proc), or undefined. */
async function cannotShortenQueue(): Promise<string | undefined> {
  try {
    await writeFile(MAX_QUEUED, await readFile(MAX_QUEUED, 'utf8'));
    return undefined;
  } catch (err) {
    return `cannot write ${MAX_QUEUED} (${(err as NodeJS.ErrnoException).code ?? String(err)}): needs root outside a container`;
  }
}

const skip = await cannotShortenQueue();

/**
 * The kernel drops inotify events when a burst overflows its queue, and Node drops the overflow
 * notice silently: without the rescan those files were never seen. Here the watcher's queue is 64
 * events (set just while it starts: a kernel-wide setting, so this file runs alone, in the serial
 * phase) and it is frozen (SIGSTOP) while two files it knows are written to in turns, which fills
 * the queue, and then 20 new files arrive.
 */
void describe('OS file events dropped (inotify queue overflow)', { skip }, () => {
  let h: Harness | undefined;
  after(async () => {
    await h?.close();
  });

  void it('the periodic rescan finds every file no event reported, says so, and uploads it byte-exact', async () => {
    h = await Harness.create({ env: { WATCH_RESCAN_MS: '1000' } });
    const worker = h.start('worker');
    await worker.waitFor('worker ready');
    // the folders exist before the watcher starts: the look into a folder that has just appeared
    // (which would catch the files too) stays out of this test of the periodic rescan
    for (const folder of ['rec', 'cam']) await mkdir(h.file(folder));
    const original = await readFile(MAX_QUEUED, 'utf8');
    let watcher;
    try {
      await writeFile(MAX_QUEUED, '64');
      watcher = h.start('watcher');
      await watcher.waitFor('watching');
    } finally {
      await writeFile(MAX_QUEUED, original);
    }
    const pid = watcher.pid ?? assert.fail('watcher has no pid');
    // two recordings the watcher knows, written to in turns: their events fill its queue; a
    // folder it watches gets new files then (an event in a folder makes chokidar read that folder
    // again, so the new files go in another one)
    const recordings = ['rec/a.mp4', 'rec/b.mp4', 'cam/first.mp4'].map((rel) => [rel, [randomBytes(500)]] as [string, Buffer[]]);
    for (const [rel, parts] of recordings) await h.write(rel, Buffer.concat(parts));
    for (const [rel] of recordings) await watcher.waitForEvent('stream.started', 20_000, (l) => l['path'] === rel);
    const files = Array.from({ length: 20 }, (_, i) => [`cam/new${String(i).padStart(2, '0')}.mp4`, randomBytes(1000 + i)] as const);
    process.kill(pid, 'SIGSTOP');
    try {
      for (let i = 0; i < 100; i++) {
        for (const [rel, parts] of recordings.slice(0, 2)) {
          const part = randomBytes(100);
          parts.push(part);
          await appendFile(h.file(rel), part);
        }
      }
      // the queue is full: the creation of these files is dropped, and nothing tells chokidar
      // to read cam/ again
      for (const [rel, data] of files) await h.write(rel, data);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    const missed = await watcher.waitForEvent('watch.missed', 30_000);
    assert.ok(Number(missed['added']) > 0, 'the rescan found files whose events were dropped');
    await assertFilesReassemble(h, [...files, ...recordings.map(([rel, parts]) => [rel, Buffer.concat(parts)] as const)]);
    assert.ok(watcher.running, 'the watcher keeps running');
  });
});
