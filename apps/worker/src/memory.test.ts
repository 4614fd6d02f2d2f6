import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { memoryNeed } from '@vcu/storage';
import { memoryLimitWarning, slabSize } from './memory.js';

const MiB = 1024 ** 2;
const need = (concurrency: number, chunkSize: number) =>
  memoryNeed({ chunkSize, worker: { concurrency }, multipart: { above: 64 * MiB, partSize: 8 * MiB } });

void describe('worker memory limit', () => {
  void it('needs 140 MiB plus one chunk per upload in flight (180 MiB with the defaults)', () => {
    assert.equal(need(4, 10 * MiB), 180 * MiB);
    assert.equal(need(16, 32 * MiB), 652 * MiB);
  });

  void it('counts a streamed chunk (CHUNK_SIZE above MULTIPART_ABOVE) by its two part buffers, not its size', () => {
    assert.equal(need(4, 256 * MiB), 140 * MiB + 4 * 2 * 8 * MiB);
  });

  void it('cuts buffers from slabs of a whole chunk, or of a part when chunks are streamed', () => {
    const slab = (chunkSize: number, above: number, partSize: number) => slabSize({ chunkSize, multipart: { above, partSize } });
    assert.equal(slab(10 * MiB, 64 * MiB, 8 * MiB), 10 * MiB, 'read whole');
    assert.equal(slab(256 * MiB, 64 * MiB, 8 * MiB), 8 * MiB, 'streamed in parts of 8 MiB');
  });

  void it('names the limit and the need when the limit is below it', () => {
    assert.deepEqual(memoryLimitWarning(300 * MiB, need(16, 32 * MiB)), { limit: '300 MiB', need: '652 MiB' });
  });

  void it('says nothing without a limit (0, or the 2^64 of an unlimited cgroup) or with enough', () => {
    assert.equal(memoryLimitWarning(0, 140 * MiB), undefined);
    assert.equal(memoryLimitWarning(2 ** 64, 140 * MiB), undefined);
    assert.equal(memoryLimitWarning(300 * MiB, 140 * MiB), undefined);
    assert.equal(memoryLimitWarning(140 * MiB, 140 * MiB), undefined);
  });
});
