import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { openSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { onLocalDisk } from './local.js';
import { openRegularFile } from './open.js';
import { LocalFile, SYNC_READ_MAX } from './readable.js';

void describe('LocalFile', () => {
  let dir: string;
  let file: string;
  const bytes = randomBytes(SYNC_READ_MAX * 2 + 123);
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'vcu-readable-'));
    file = path.join(dir, 'clip.mp4');
    await writeFile(file, bytes);
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  void it('reads ranges short (on this thread) and long (through the pool) as they are in the file', async () => {
    const local = new LocalFile(openSync(file, 'r'));
    try {
      const short = Buffer.alloc(1000);
      assert.deepEqual(await local.read(short, 0, 1000, 5), { bytesRead: 1000 });
      assert.deepEqual(short, bytes.subarray(5, 1005));
      const long = Buffer.alloc(bytes.length);
      assert.deepEqual(await local.read(long, 0, SYNC_READ_MAX + 10, 7), { bytesRead: SYNC_READ_MAX + 10 });
      assert.deepEqual(long.subarray(0, SYNC_READ_MAX + 10), bytes.subarray(7, SYNC_READ_MAX + 17));
      assert.deepEqual(await local.read(short, 0, 1000, bytes.length - 10), { bytesRead: 10 }, 'a read past the end stops there');
    } finally {
      await local.close();
    }
  });

  void it('lets the event loop turn while a caller reads piece after piece', async () => {
    const local = new LocalFile(openSync(file, 'r'));
    try {
      await new Promise((resolve) => setImmediate(resolve)); // a fresh turn
      let turned = false;
      setImmediate(() => {
        turned = true;
      });
      let reads = 0;
      const piece = Buffer.alloc(1024);
      while (!turned && reads < 1000) {
        assert.deepEqual(await local.read(piece, 0, piece.length, reads), { bytesRead: piece.length });
        reads += 1;
      }
      assert.equal(turned, true, 'the loop turned');
      // 64 on this thread, then one through the pool (or two, when its answer comes before the
      // turn's immediates run): without the turn's share it would be all 1,000
      assert.ok(reads <= 66, `the loop turned after ${reads} reads`);
    } finally {
      await local.close();
    }
  });

  void it('closes only once the reads still in the pool have their answer', async () => {
    const local = new LocalFile(openSync(file, 'r'));
    const long = Buffer.alloc(SYNC_READ_MAX + 1);
    const reading = local.read(long, 0, long.length, 0);
    const closing = local.close();
    await assert.rejects(local.read(Buffer.alloc(1), 0, 1, 0), { code: 'EBADF' }, 'a read asked after close');
    assert.deepEqual(await reading, { bytesRead: long.length });
    assert.deepEqual(long, bytes.subarray(0, long.length));
    await closing;
  });

  void it('stats the open file, as bigints when asked', async () => {
    const local = new LocalFile(openSync(file, 'r'));
    try {
      assert.equal((await local.stat()).size, bytes.length);
      const big = await local.stat({ bigint: true });
      assert.equal(big.size, BigInt(bytes.length));
      assert.equal(big.isFile(), true);
    } finally {
      await local.close();
    }
  });

  void it('closes once; after that its calls reject (never throw) with EBADF', async () => {
    const local = new LocalFile(openSync(file, 'r'));
    await local.close();
    await local.close();
    const read = local.read(Buffer.alloc(1), 0, 1, 0);
    assert.ok(read instanceof Promise);
    await assert.rejects(read, { code: 'EBADF' });
    await assert.rejects(local.stat(), { code: 'EBADF' });
  });

  void it('is what openRegularFile opens on a local filesystem', async (t) => {
    if (!(await onLocalDisk(file))) return t.skip(`${os.tmpdir()} is not on a local filesystem here`);
    const opened = await openRegularFile(file);
    try {
      assert.ok(opened.handle instanceof LocalFile);
      assert.equal(opened.stats.size, BigInt(bytes.length));
    } finally {
      await opened.handle.close();
    }
  });
});
