import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createConcurrencyTuner } from './concurrency.js';
import { MemoryBudget, sizeClass } from './memory-budget.js';

const KiB = 1024;
const MiB = 1024 * KiB;

const deferred = () => {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
};

void describe('MemoryBudget', () => {
  void it('admits many small chunks at once and few big ones, never more bytes than the budget', async () => {
    const budget = new MemoryBudget(40 * MiB, 10 * MiB);
    const gate = deferred();
    let peak = 0;
    const run = (size: number) =>
      budget.withBuffer(size, async (buffer) => {
        assert.ok(buffer.length >= size);
        peak = Math.max(peak, budget.used);
        await gate.promise;
      });
    const small = Array.from({ length: 100 }, () => run(300 * KiB));
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(budget.used, 80 * 512 * KiB, 'eighty 512 KiB buffers fit in 40 MiB; the other twenty wait');
    gate.resolve();
    await Promise.all(small);
    assert.ok(peak <= 40 * MiB);
    assert.equal(budget.used, 0);
  });

  void it('lets a chunk bigger than the budget run alone, and serves waiters in order', async () => {
    const budget = new MemoryBudget(10 * MiB, 10 * MiB);
    const order: string[] = [];
    const first = deferred();
    const a = budget.withBuffers(1, 8 * MiB, async () => {
      order.push('a');
      await first.promise;
    });
    const b = budget.withBuffers(2, 6 * MiB, () => Promise.resolve(void order.push('b')));
    const c = budget.withBuffers(1, 1 * MiB, () => Promise.resolve(void order.push('c')));
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(order, ['a'], 'c fits but waits behind b');
    first.resolve();
    await Promise.all([a, b, c]);
    assert.deepEqual(order, ['a', 'b', 'c']);
  });

  void it('reuses buffers of a size class, and keeps no more than the budget', async () => {
    const budget = new MemoryBudget(2 * MiB, 1 * MiB);
    let first: Buffer | undefined;
    await budget.withBuffer(700 * KiB, (buffer) => Promise.resolve(void (first = buffer)));
    await budget.withBuffer(600 * KiB, (buffer) => Promise.resolve(assert.equal(buffer, first, 'the same 1 MiB buffer again')));
  });

  void it('hands a streamed chunk its part buffers at their exact size, and the next chunk the same ones, when the budget holds just them', async () => {
    const budget = new MemoryBudget(20 * MiB, 10 * MiB);
    let first: readonly Buffer[] = [];
    await budget.withBuffers(2, 10 * MiB, (buffers) => Promise.resolve(void (first = buffers)));
    assert.deepEqual(first.map((b) => b.length), [10 * MiB, 10 * MiB]);
    await budget.withBuffers(2, 10 * MiB, (buffers) => {
      assert.ok(buffers.every((b) => first.includes(b)) && buffers[0] !== buffers[1], 'both buffers reused, none allocated');
      return Promise.resolve();
    });
    assert.equal(budget.used, 0);
  });

  void it('sizes classes as powers of two from 64 KiB up to the largest buffer', () => {
    assert.equal(sizeClass(1, 10 * MiB), 64 * KiB);
    assert.equal(sizeClass(65 * KiB, 10 * MiB), 128 * KiB);
    assert.equal(sizeClass(9 * MiB, 10 * MiB), 10 * MiB);
    assert.equal(sizeClass(10 * MiB, 10 * MiB), 10 * MiB);
    assert.equal(sizeClass(12 * MiB, 10 * MiB), 12 * MiB, 'a bigger chunk than the pool was made for gets its own size');
  });
});

void describe('concurrency tuner', () => {
  void it('takes more jobs at once for small chunks, WORKER_CONCURRENCY for full ones', () => {
    const seen: number[] = [];
    const tuner = createConcurrencyTuner({ base: 4, max: 64, budget: 40 * MiB, set: (n) => seen.push(n) });
    for (let i = 0; i < 100; i += 1) tuner.observe(512 * KiB);
    assert.equal(tuner.current, 64, 'capped');
    for (let i = 0; i < 100; i += 1) tuner.observe(10 * MiB);
    assert.equal(tuner.current, 4, 'back to WORKER_CONCURRENCY');
    assert.ok(seen.length > 2);
  });
});
