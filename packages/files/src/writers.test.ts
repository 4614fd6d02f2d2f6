import assert from 'node:assert/strict';
import { mkdtemp, open, realpath, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { filesOpenForWriting } from './writers.js';

void describe('files open for writing, from /proc', () => {
  void it('names a file whose name is not UTF-8 by its bytes, as the watcher does', async (t) => {
    const dir = await realpath(await mkdtemp(path.join(os.tmpdir(), 'vcu-writers-')));
    const raw = Buffer.concat([Buffer.from(`${dir}/bad`), Buffer.from([0xff, 0xfe]), Buffer.from('.mp4')]);
    const handle = await open(raw, 'w');
    try {
      const open = await filesOpenForWriting(dir);
      if (open === undefined) {
        t.skip('this process cannot see every writer (not Linux, or not allowed to read other processes\' descriptors)');
        return;
      }
      assert.ok(open.has(`${dir}/bad\u0000ff\u0000fe.mp4`), JSON.stringify([...open]));
      assert.ok(!open.has(`${dir}/bad\uFFFD\uFFFD.mp4`), 'not the decoded text, which names no file');
    } finally {
      await handle.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
