import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { absoluteIn } from './files.js';
import { nameFromBytes } from './names.js';
import { FileReplacedError, openRegularFile, withRegularFile } from './open.js';

void describe('openRegularFile under WATCH_DIR', { skip: process.platform !== 'linux' && 'the kernel path of an open file is read from /proc (Linux)' }, () => {
  let top: string;
  let root: string;
  before(async () => {
    top = await mkdtemp(path.join(os.tmpdir(), 'vcu-open-'));
    root = path.join(top, 'watch');
    await mkdir(path.join(root, 'cam'), { recursive: true });
    await mkdir(path.join(top, 'elsewhere'));
  });
  after(async () => rm(top, { recursive: true, force: true }));

  const identityOf = async (file: string) => {
    const s = await stat(file, { bigint: true });
    return { ino: s.ino.toString(), birthtimeNs: s.birthtimeNs.toString() };
  };

  void it('opens a file at its path under the root, a name that is not UTF-8 too, and one opened through a root that is itself a link', async () => {
    await writeFile(path.join(root, 'cam', 'a.mp4'), 'a');
    const rawName = nameFromBytes(Buffer.concat([Buffer.from('cam/b'), Buffer.from([0xff]), Buffer.from('.mp4')]));
    await writeFile(absoluteIn(root, rawName), 'b');
    await symlink(root, path.join(top, 'root-link'));
    for (const [dir, rel] of [[root, 'cam/a.mp4'], [root, rawName], [path.join(top, 'root-link'), 'cam/a.mp4']] as const) {
      const file = absoluteIn(dir, rel);
      const read = await withRegularFile(file, { root: dir }, ({ stats }) => Promise.resolve(Number(stats.size)));
      assert.equal(read, 1, `${rel} under ${dir}`);
    }
  });

  void it('refuses the very file (same inode and birth time) reached through a folder swapped for a link out of the root', async () => {
    const inside = path.join(root, 'cam', 'clip.mp4');
    await writeFile(inside, 'recorded');
    const identity = await identityOf(inside);
    // the folder moves out of WATCH_DIR (the file keeps its inode) and a link takes its place
    await rename(path.join(root, 'cam'), path.join(top, 'elsewhere', 'cam'));
    await symlink(path.join(top, 'elsewhere', 'cam'), path.join(root, 'cam'));
    const opened = await openRegularFile(inside, { expected: identity });
    await opened.handle.close();
    await assert.rejects(openRegularFile(inside, { expected: identity, root }), (err: unknown) => {
      assert.ok(err instanceof FileReplacedError);
      assert.match(err.message, /reached through a link: the file opened is .*elsewhere\/cam\/clip\.mp4/);
      return true;
    });
  });
});
