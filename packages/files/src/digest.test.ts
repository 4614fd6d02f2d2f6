import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { digestFile } from './digest.js';

const sha = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

void describe('digestFile', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'vcu-digest-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  async function digestOf(bytes: Buffer, chunkSize: number, expectedSize: number, hashChunk?: (index: number) => boolean) {
    const file = path.join(dir, `f-${bytes.length}-${chunkSize}-${expectedSize}`);
    await writeFile(file, bytes);
    const handle = await open(file, 'r');
    try {
      return await digestFile(handle, chunkSize, expectedSize, hashChunk);
    } finally {
      await handle.close();
    }
  }

  void it('hashes the whole file and each chunk range, across read pieces larger and smaller than a chunk', async () => {
    const bytes = randomBytes(2 * 1024 * 1024 + 777);
    for (const chunkSize of [1000, 1024 * 1024 + 3, 3 * 1024 * 1024]) {
      const digest = await digestOf(bytes, chunkSize, bytes.length);
      assert.equal(digest.sha256, sha(bytes));
      assert.equal(digest.size, bytes.length);
      const expected = Array.from({ length: Math.ceil(bytes.length / chunkSize) }, (_, i) => sha(bytes.subarray(i * chunkSize, (i + 1) * chunkSize)));
      assert.deepEqual(digest.chunks, expected, `chunk size ${chunkSize}`);
    }
  });

  void it('leaves out the chunks it is not asked for, and reads no further than the expected size', async () => {
    const bytes = randomBytes(10_000);
    const digest = await digestOf(bytes, 4000, 9000, (index) => index === 1);
    assert.deepEqual(digest.chunks, [undefined, sha(bytes.subarray(4000, 8000)), undefined]);
    assert.equal(digest.sha256, sha(bytes.subarray(0, 9000)));
    assert.equal(digest.size, 9000);
  });

  void it('reports the bytes it found when the file is shorter than expected', async () => {
    const bytes = randomBytes(5000);
    const digest = await digestOf(bytes, 8000, 6000);
    assert.equal(digest.size, 5000);
    assert.equal(digest.sha256, sha(bytes));
    assert.deepEqual(digest.chunks, [sha(bytes)]);
  });
});
