import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { memoryLimitWarning, memoryNeed } from './memory.js';

const MiB = 1024 ** 2;

void describe('worker memory limit', () => {
  void it('needs 100 MiB plus one chunk per upload in flight (140 MiB with the defaults)', () => {
    assert.equal(memoryNeed(4, 10 * MiB), 140 * MiB);
    assert.equal(memoryNeed(16, 32 * MiB), 612 * MiB);
  });

  void it('warns when the limit is below that, naming both and the setting to raise', () => {
    const warning = memoryLimitWarning(300 * MiB, memoryNeed(16, 32 * MiB));
    assert.deepEqual(warning?.meta, { limit: '300 MiB', need: '612 MiB' });
    assert.match(warning?.message ?? '', /WORKER_MEMORY/);
  });

  void it('says nothing without a limit (0, or the 2^64 of an unlimited cgroup) or with enough', () => {
    assert.equal(memoryLimitWarning(0, 140 * MiB), undefined);
    assert.equal(memoryLimitWarning(2 ** 64, 140 * MiB), undefined);
    assert.equal(memoryLimitWarning(300 * MiB, 140 * MiB), undefined);
    assert.equal(memoryLimitWarning(140 * MiB, 140 * MiB), undefined);
  });
});
