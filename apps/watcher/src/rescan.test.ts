import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { createLogger } from '@vcu/logger';
import { createMatcher } from './filter.js';
import { createRescan } from './rescan.js';

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
      const rescan = createRescan({
        dir,
        everyMs: 0,
        matches: createMatcher(['**/*.mp4']),
        paths: {
          lookAt: (rel, signature) => {
            looked.set(rel, signature);
            return !known.has(rel) ? 'new' : rel === 'changed.mp4' ? 'changed' : 'same';
          },
          knownPaths: () => [...known],
        },
        gone: (rel) => {
          gone.push(rel);
          return Promise.resolve();
        },
        logger: createLogger({ level: 'error', format: 'json' }),
      });
      assert.deepEqual(await rescan.rescan(), { added: 2, changed: 1, removed: 1 });
      assert.deepEqual([...looked.keys()].sort(), ['changed.mp4', 'new.mp4', 'same.mp4', 'sub/deep.mp4'], 'hidden, temporary, other patterns and links are not looked at');
      assert.match(looked.get('new.mp4') ?? '', /^1:\d+:\d+$/, 'size, mtime and inode');
      assert.deepEqual(gone, ['gone.mp4']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
