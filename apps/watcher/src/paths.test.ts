import assert from 'node:assert/strict';
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { FileFacts } from '@vcu/domain';
import { createLogger } from '@vcu/logger';
import type { Observation } from '@vcu/streams';
import { type PathSyncDeps, type SyncOptions, createPathSync } from './paths.js';

const logger = createLogger({ level: 'error', format: 'json' });
const EVENT: SyncOptions = { idle: false, recovering: false, seal: false };
const SEAL: SyncOptions = { idle: true, recovering: false, seal: true };

/** A PathSync over a real folder, with streams and store that only record what they were asked. */
async function fixture(overrides: Partial<PathSyncDeps> = {}) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'vcu-paths-'));
  const observed: { path: string; idle: boolean }[] = [];
  const markedIdle: string[] = [];
  const sync = createPathSync({
    dir,
    streamIdleMs: 300,
    streams: {
      observe: (facts: FileFacts, options) => {
        observed.push({ path: facts.path, idle: options.idle });
        return Promise.resolve({ stream: { id: `s-${facts.path}` }, enqueued: 0, decision: 'same' } as unknown as Observation);
      },
      removed: () => Promise.resolve(),
    },
    store: {
      markIdle: (id: string) => {
        markedIdle.push(id);
        return Promise.resolve();
      },
    },
    epoch: () => undefined,
    logger,
    ...overrides,
  });
  const close = async () => {
    await sync.close();
    await rm(dir, { recursive: true, force: true });
  };
  /** Files written, then each reported by an event, and the syncs done. */
  const arrive = async (files: Record<string, string>) => {
    for (const [name, content] of Object.entries(files)) await writeFile(path.join(dir, name), content);
    for (const name of Object.keys(files)) sync.schedule(name, EVENT);
    await sync.drain();
  };
  return { dir, sync, observed, markedIdle, close, arrive };
}

const hourAgo = () => new Date(Date.now() - 3600_000);

void describe('PathSync', () => {
  void it('leaves the look on an event to the seal check when it says so, and still reads the file', async () => {
    const asked: string[] = [];
    const f = await fixture({
      leaveToSeal: (rel, facts) => {
        asked.push(`${rel}:${facts.size}`);
        return rel === 'moved.mp4';
      },
    });
    try {
      await f.arrive({ 'moved.mp4': 'abc', 'written.mp4': 'abcd' });
      assert.deepEqual(asked.sort(), ['moved.mp4:3', 'written.mp4:4'], 'asked with the facts just read');
      assert.deepEqual(f.observed, [{ path: 'written.mp4', idle: false }], 'the file left to the seal is not observed on its event');
      f.sync.schedule('moved.mp4', SEAL);
      await f.sync.drain();
      assert.deepEqual(f.observed.at(-1), { path: 'moved.mp4', idle: true }, 'the seal observes it');
      assert.deepEqual(f.markedIdle, ['s-moved.mp4']);
    } finally {
      await f.close();
    }
  });

  void it('a file left to the seal that is not sealed (open for writing, sealing off) still gets its idle look', async () => {
    const f = await fixture({ leaveToSeal: () => true });
    try {
      await f.arrive({ 'a.mp4': 'abc' });
      assert.deepEqual(f.observed, [], 'left to the seal');
      await new Promise((resolve) => setTimeout(resolve, 700));
      await f.sync.drain();
      assert.deepEqual(f.observed, [{ path: 'a.mp4', idle: true }], 'STREAM_IDLE_MS later');
    } finally {
      await f.close();
    }
  });

  void it('never leaves an idle or recovering look to the seal', async () => {
    const f = await fixture({ leaveToSeal: () => true });
    try {
      await writeFile(path.join(f.dir, 'a.mp4'), 'abc');
      f.sync.schedule('a.mp4', { idle: false, recovering: true, seal: false });
      await f.sync.drain();
      f.sync.schedule('a.mp4', { idle: true, recovering: false, seal: false });
      await f.sync.drain();
      assert.deepEqual(f.observed, [{ path: 'a.mp4', idle: false }, { path: 'a.mp4', idle: true }]);
    } finally {
      await f.close();
    }
  });

  void it('knows a file moved in with its old times kept as written long ago, and a new event as a write now', async () => {
    const f = await fixture();
    try {
      const file = path.join(f.dir, 'old.mp4');
      await writeFile(file, 'abc');
      await utimes(file, hourAgo(), hourAgo());
      assert.equal(f.sync.lastWrite('old.mp4'), 0, 'never seen');
      const before = Date.now();
      f.sync.schedule('old.mp4', EVENT);
      assert.ok(f.sync.lastWrite('old.mp4') >= before, 'before the file is read: its event');
      await f.sync.drain();
      assert.ok(Date.now() - f.sync.lastWrite('old.mp4') > 3500_000, 'read after its event: its modification time');
      f.sync.schedule('old.mp4', EVENT);
      assert.ok(f.sync.lastWrite('old.mp4') >= before, 'a later event: a write now, until the file is read again');
      await f.sync.drain();
      // a modification time close to the event may be a coarse or skewed clock's: the event counts
      const recent = new Date(Date.now() - 1500);
      await utimes(file, recent, recent);
      f.sync.schedule('old.mp4', EVENT);
      await f.sync.drain();
      assert.ok(f.sync.lastWrite('old.mp4') >= before, 'an mtime 1.5 s before its event is not taken for an older write');
    } finally {
      await f.close();
    }
  });

  void it('a sealed file gets no idle look later, unless it had an event since', async () => {
    const f = await fixture();
    try {
      await f.arrive({ 'a.mp4': 'abc', 'b.mp4': 'abc' });
      f.sync.schedule('a.mp4', SEAL);
      await f.sync.drain();
      // STREAM_IDLE_MS (300 ms here) passes: b.mp4, not sealed, gets its idle look; a.mp4 does not
      await new Promise((resolve) => setTimeout(resolve, 700));
      await f.sync.drain();
      const idleLooks = f.observed.filter((o) => o.idle).map((o) => o.path);
      assert.deepEqual(idleLooks.sort(), ['a.mp4', 'b.mp4'], 'the seal of a.mp4 and the idle look of b.mp4');
      f.sync.schedule('a.mp4', EVENT);
      await new Promise((resolve) => setTimeout(resolve, 700));
      await f.sync.drain();
      assert.equal(f.observed.filter((o) => o.idle && o.path === 'a.mp4').length, 2, 'written again after its seal: idle again after STREAM_IDLE_MS');
    } finally {
      await f.close();
    }
  });
});
