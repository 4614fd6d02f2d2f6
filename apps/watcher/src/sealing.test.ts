import assert from 'node:assert/strict';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { canSeeWriters } from '@vcu/files';
import { createLogger } from '@vcu/logger';
import { createSealing } from './sealing.js';

const WRITERS_HIDDEN = canSeeWriters() ? false : "this process cannot read every process's descriptors: sealing turns itself off";

const waitFor = async (what: () => boolean, ms = 3000): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!what() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
};

void describe('sealing', { skip: WRITERS_HIDDEN }, () => {
  void it('seals a quiet file no process holds open, only once its event came before /proc was read, and never one open for writing', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'vcu-seal-'));
    const lastEvent = new Map<string, number>([['late.mp4', Date.now() + 3_600_000], ['moved.mp4', 0], ['held.mp4', 0]]);
    const sealed: string[] = [];
    const sealing = createSealing({
      dir,
      // every file here was last written long ago (its mtime): quiet at once
      lastWrite: () => 0,
      lastEvent: (rel) => lastEvent.get(rel) ?? 0,
      known: () => true,
      seal: (rel) => sealed.push(rel),
      logger: createLogger({ level: 'error', format: 'json' }),
    });
    await writeFile(path.join(dir, 'held.mp4'), 'x');
    const held = await open(path.join(dir, 'held.mp4'), 'r+');
    try {
      for (const rel of ['late.mp4', 'moved.mp4', 'held.mp4']) sealing.candidate(rel);
      assert.equal(sealing.takesSoon('moved.mp4'), true, 'quiet, and waiting for the check');
      await waitFor(() => sealed.length > 0);
      await new Promise((resolve) => setTimeout(resolve, 600));
      assert.deepEqual(sealed, ['moved.mp4'], 'not the file whose event came after the check began, nor the one held open');
      assert.equal(sealing.takesSoon('held.mp4'), false, 'found open: it waits for its next write');
      lastEvent.set('late.mp4', 0);
      await waitFor(() => sealed.length > 1);
      assert.deepEqual(sealed, ['moved.mp4', 'late.mp4'], 'the late one at a later check');
    } finally {
      sealing.close();
      await held.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
