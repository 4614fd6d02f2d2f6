import assert from 'node:assert/strict';
import { mkdir, mkdtemp, open, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { filesOpenForWriting, writersLook } from './writers.js';

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

  void it('a batch walks /proc once per folder, through symbolic links, and tells open files from closed ones', async (t) => {
    const dir = await realpath(await mkdtemp(path.join(os.tmpdir(), 'vcu-writers-')));
    await mkdir(path.join(dir, 'a'));
    await mkdir(path.join(dir, 'b'));
    await symlink(path.join(dir, 'a'), path.join(dir, 'link'));
    const handle = await open(path.join(dir, 'a', 'open.mp4'), 'w');
    await writeFile(path.join(dir, 'a', 'closed.mp4'), 'x');
    await writeFile(path.join(dir, 'b', 'other.mp4'), 'x');
    try {
      if ((await filesOpenForWriting(dir)) === undefined) {
        t.skip('this process cannot see every writer');
        return;
      }
      const walked: string[] = [];
      const look = writersLook(async (folder) => {
        walked.push(folder);
        return filesOpenForWriting(folder);
      });
      const answers = await Promise.all([
        look(path.join(dir, 'a', 'open.mp4')),
        look(path.join(dir, 'a', 'closed.mp4')),
        look(path.join(dir, 'b', 'other.mp4')),
        look(path.join(dir, 'a', 'open.mp4')),
      ]);
      assert.deepEqual(answers, [true, false, false, true]);
      assert.deepEqual(walked.sort(), [path.join(dir, 'a'), path.join(dir, 'b')], 'one walk per folder');
      assert.equal(await writersLook()(path.join(dir, 'link', 'open.mp4')), true, 'a folder reached through a link is walked by its real path');
    } finally {
      await handle.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  void it('answers false when the writers cannot be seen', async () => {
    const look = writersLook(() => Promise.resolve(undefined));
    assert.equal(await look(path.join(os.tmpdir(), 'any.mp4')), false);
  });
});
