import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { onLocalDisk } from './local.js';

void describe('onLocalDisk', { skip: process.platform !== 'linux' && 'statfs types are Linux\'s' }, () => {
  void it('says yes for a folder in memory (tmpfs), for a name that is not UTF-8 too', { skip: !existsSync('/dev/shm') && 'no /dev/shm here' }, async () => {
    assert.equal(await onLocalDisk('/dev/shm/clip.mp4'), true);
    assert.equal(await onLocalDisk(Buffer.concat([Buffer.from('/dev/shm/b'), Buffer.from([0xff]), Buffer.from('.mp4')])), true);
  });

  void it('keys a folder whose name is not UTF-8 apart from the UTF-8 name its bytes spell in latin1', { skip: !existsSync('/dev/shm') && 'no /dev/shm here' }, async () => {
    const top = await mkdtemp('/dev/shm/vcu-local-');
    try {
      // the bytes caf\xe9 read as latin1 spell "café", a name that exists here; the raw folder does not
      await mkdir(path.join(top, 'café'));
      assert.equal(await onLocalDisk(path.join(top, 'café', 'a.mp4')), true);
      const raw = Buffer.concat([Buffer.from(`${top}/caf`), Buffer.from([0xe9]), Buffer.from('/a.mp4')]);
      assert.equal(await onLocalDisk(raw), false, 'asked on its own: it does not exist');
    } finally {
      await rm(top, { recursive: true, force: true });
    }
  });

  void it('says no for a filesystem not known to be local (procfs) for a folder it cannot ask about, and for a relative path', async () => {
    assert.equal(await onLocalDisk('/proc/self/status'), false);
    assert.equal(await onLocalDisk('/no/such/folder/clip.mp4'), false);
    assert.equal(await onLocalDisk('clip.mp4'), false, 'a relative path: its folder is not known here');
  });

  void it('keeps an answer for a minute, then asks again', { skip: !existsSync('/dev/shm') && 'no /dev/shm here' }, async () => {
    const top = await mkdtemp('/dev/shm/vcu-local-');
    try {
      const file = path.join(top, 'later', 'clip.mp4');
      assert.equal(await onLocalDisk(file, 1_000), false, 'its folder does not exist yet');
      await mkdir(path.join(top, 'later'));
      assert.equal(await onLocalDisk(file, 30_000), false, 'the answer is kept');
      assert.equal(await onLocalDisk(file, 62_000), true, 'and asked again after a minute');
    } finally {
      await rm(top, { recursive: true, force: true });
    }
  });
});
