import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileVersion, onlyChangeTimeMoved } from '@vcu/files';
import { createLogger } from '@vcu/logger';
import { createMatcher } from './filter.js';
import { type RescanDeps, createRescan } from './rescan.js';

/** A rescan of `dir` (every .mp4 matches, no periodic timer) over the given path sync; gone files are ignored unless `more` says otherwise. */
function rescanOf(dir: string, paths: RescanDeps['paths'], more: Partial<RescanDeps> = {}) {
  return createRescan({ dir, everyMs: 0, matches: createMatcher(['**/*.mp4']), paths, gone: () => Promise.resolve(), logger: createLogger({ level: 'error', format: 'json' }), ...more });
}

/** Waits until `what` holds, for 5 s at most (the assertions after say what was missing). */
async function waitFor(what: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!what() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
}

void describe('rescan', () => {
  void it('syncs files no event reported (new, changed, gone) and leaves the rest alone', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'vcu-rescan-'));
    try {
      await mkdir(path.join(dir, 'sub'));
      await mkdir(path.join(dir, '.hidden'));
      for (const rel of ['same.mp4', 'changed.mp4', 'new.mp4', 'sub/deep.mp4', '.hidden/x.mp4', 'notes.txt', '.dot.mp4']) await writeFile(path.join(dir, rel), 'x');
      await symlink(path.join(dir, 'same.mp4'), path.join(dir, 'link.mp4'));
      const looked = new Map<string, string>();
      const known = new Set(['same.mp4', 'changed.mp4', 'gone.mp4']);
      const gone: string[] = [];
      const paths: RescanDeps['paths'] = {
        lookAt: (rel, signature) => {
          looked.set(rel, signature);
          return !known.has(rel) ? 'new' : rel === 'changed.mp4' ? 'changed' : 'same';
        },
        knownPaths: () => [...known],
        has: (rel) => known.has(rel),
      };
      const rescan = rescanOf(dir, paths, {
        gone: (rel) => {
          gone.push(rel);
          return Promise.resolve();
        },
      });
      assert.deepEqual(await rescan.rescan(), { added: 2, changed: 1, removed: 1, inodeChanged: 0 });
      assert.deepEqual([...looked.keys()].sort(), ['changed.mp4', 'new.mp4', 'same.mp4', 'sub/deep.mp4'], 'hidden, temporary, other patterns and links are not looked at');
      assert.match(looked.get('new.mp4') ?? '', /^1:\d+:\d+:\d+$/, 'size, mtime, change time and inode');
      assert.deepEqual(gone, ['gone.mp4']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  void it('looks into a new folder again a moment later: a file renamed into it before it was watched is synced', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'vcu-rescan-'));
    const looked: string[] = [];
    const rescan = rescanOf(dir, { lookAt: (rel) => (looked.push(rel), looked.filter((r) => r === rel).length === 1 ? 'new' : 'same'), knownPaths: () => [], has: () => false });
    try {
      await mkdir(path.join(dir, 'cams', 'deeper'), { recursive: true });
      for (const rel of ['cams/a.mp4', 'cams/deeper/b.mp4', 'elsewhere.mp4']) await writeFile(path.join(dir, rel), 'x');
      rescan.newFolder('cams');
      await waitFor(() => looked.length >= 2);
      assert.deepEqual([...new Set(looked)].sort(), ['cams/a.mp4', 'cams/deeper/b.mp4'], 'only what is in the new folder');
    } finally {
      await rescan.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  void it('reads the folder of arriving files a moment later, syncs the ones no event reported, and looks again while more arrive', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'vcu-rescan-'));
    const known = new Set<string>();
    const looked: string[] = [];
    const found: string[] = [];
    const paths: RescanDeps['paths'] = {
      lookAt: (rel) => {
        looked.push(rel);
        known.add(rel);
        return 'new';
      },
      knownPaths: () => [...known],
      has: (rel) => known.has(rel),
    };
    const rescan = rescanOf(dir, paths, { found: (rel) => found.push(rel) });
    try {
      await mkdir(path.join(dir, 'cams', 'deeper'), { recursive: true });
      for (const rel of ['cams/reported.mp4', 'cams/missed.mp4', 'cams/notes.txt', 'cams/.hidden.mp4', 'cams/deeper/other.mp4', 'top.mp4']) await writeFile(path.join(dir, rel), 'x');
      known.add('cams/reported.mp4');
      rescan.arrived('cams/reported.mp4');
      await waitFor(() => looked.length > 0);
      assert.deepEqual(looked, ['cams/missed.mp4'], 'only unknown matching files of that folder, not of its subfolders nor elsewhere');
      assert.deepEqual(found, ['cams/missed.mp4'], 'handed on as a file with new bytes (the seal looks at it)');
      // it found one: the burst may go on, so it looks again a second later
      await writeFile(path.join(dir, 'cams', 'later.mp4'), 'x');
      await waitFor(() => looked.length > 1);
      assert.deepEqual(looked, ['cams/missed.mp4', 'cams/later.mp4']);
      rescan.arrived('top.mp4');
      await waitFor(() => looked.length > 2);
      assert.deepEqual(looked.slice(2), ['top.mp4'], 'WATCH_DIR itself');
    } finally {
      await rescan.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  void it('tells a change of the change time alone (chmod, a link) from a change of the file', () => {
    const v = (size: number, mtime: string, ctime: string, ino: string) => fileVersion({ size, mtimeNs: mtime, ctimeNs: ctime, ino });
    assert.equal(onlyChangeTimeMoved(v(10, '5', '6', '7'), v(10, '5', '9', '7')), true);
    assert.equal(onlyChangeTimeMoved(v(10, '5', '6', '7'), v(11, '5', '9', '7')), false, 'grew');
    assert.equal(onlyChangeTimeMoved(v(10, '5', '6', '7'), v(10, '8', '9', '7')), false, 'written');
    assert.equal(onlyChangeTimeMoved(v(10, '5', '6', '7'), v(10, '5', '9', '8')), false, 'another inode');
    assert.equal(onlyChangeTimeMoved(v(10, '5', '6', '7'), v(10, '5', '6', '7')), false, 'the same');
  });
});
