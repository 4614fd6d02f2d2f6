import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createConcurrencyTuner } from './concurrency.js';
import { MemoryBudget, Slab } from './memory-budget.js';

const KiB = 1024;
const MiB = 1024 * KiB;

const deferred = () => {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
};

void describe('MemoryBudget', () => {
  void it('admits many small chunks at once, each as its size in 64 KiB units, never holding more than the budget', async () => {
    const budget = new MemoryBudget(40 * MiB, 10 * MiB);
    const gate = deferred();
    let peak = 0;
    const run = (size: number) =>
      budget.withBuffer(size, async (buffer) => {
        assert.equal(buffer.length, size);
        peak = Math.max(peak, budget.held);
        await gate.promise;
      });
    const small = Array.from({ length: 200 }, () => run(300 * KiB));
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(budget.used, 128 * 320 * KiB, 'four 10 MiB slabs hold 32 chunks of 320 KiB each; the other 72 wait');
    gate.resolve();
    await Promise.all(small);
    assert.ok(peak <= 40 * MiB);
    assert.equal(budget.used, 0);
    assert.equal(budget.held, 40 * MiB, 'the slabs are kept for the next chunks');
  });

  void it('lets a chunk bigger than the budget run alone, and serves waiters in order', async () => {
    const budget = new MemoryBudget(10 * MiB, 10 * MiB);
    const order: string[] = [];
    const first = deferred();
    const a = budget.withBuffers(1, 8 * MiB, async () => {
      order.push('a');
      await first.promise;
    });
    const b = budget.withBuffers(2, 6 * MiB, () => Promise.resolve(void order.push(`b ${budget.held / MiB} MiB held`)));
    const c = budget.withBuffers(1, 1 * MiB, () => Promise.resolve(void order.push('c')));
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(order, ['a'], 'c fits but waits behind b');
    first.resolve();
    await Promise.all([a, b, c]);
    assert.deepEqual(order, ['a', 'b 12 MiB held', 'c'], 'b ran alone on buffers of its own');
    assert.ok(budget.held <= 10 * MiB);
  });

  void it('gives the next chunk the memory the last one used, whatever their sizes', async () => {
    const budget = new MemoryBudget(2 * MiB, 1 * MiB);
    let first: Buffer | undefined;
    await budget.withBuffer(700 * KiB, (buffer) => Promise.resolve(void (first = buffer)));
    await budget.withBuffer(100 * KiB, (buffer) => Promise.resolve(assert.ok(sameMemory(buffer, first), 'the same bytes of the same slab')));
  });

  void it('cuts chunks of mixed sizes from the same few slabs: no allocation once they are made', async () => {
    const budget = new MemoryBudget(40 * MiB, 10 * MiB);
    const memories = new Set<ArrayBufferLike>();
    const live = new Set<Buffer>();
    let seed = 7;
    const nextSize = () => (seed = (seed * 48271) % 2147483647) % MiB + 1;
    await Promise.all(
      Array.from({ length: 2000 }, () =>
        budget.withBuffer(nextSize(), async (buffer) => {
          memories.add(buffer.buffer);
          for (const other of live) assert.ok(!overlap(buffer, other), 'no two chunks in flight share a byte');
          live.add(buffer);
          await new Promise((r) => setImmediate(r));
          live.delete(buffer);
        }),
      ),
    );
    assert.equal(memories.size, 4, 'four slabs of 10 MiB');
    assert.equal(budget.held, 40 * MiB);
  });

  void it('sizes its slabs by chunks that are not whole 64 KiB units: four 8 MB chunks in a budget of 4 × 8 MB', async () => {
    const admitted: number[] = [];
    const budget = new MemoryBudget(32_000_000, 8_000_000, (bytes) => admitted.push(bytes));
    const gate = deferred();
    const chunks = Array.from({ length: 5 }, () => budget.withBuffer(8_000_000, () => gate.promise));
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(admitted.length, 4, 'four in flight, the fifth waits');
    assert.equal(admitted[0], 123 * 64 * KiB, 'told of the bytes held: 8 MB in whole 64 KiB units');
    assert.ok(budget.held <= 32_000_000 + 4 * 64 * KiB);
    gate.resolve();
    await Promise.all(chunks);
  });

  void it('lets a buffer too big for a slab wait for the budget, first come first served, while smaller chunks are in flight', async () => {
    const budget = new MemoryBudget(4 * MiB, 1 * MiB);
    const order: string[] = [];
    const gate = deferred();
    const small = Array.from({ length: 4 }, (_, i) => budget.withBuffer(1 * MiB, async () => {
      order.push(`small ${i}`);
      await gate.promise;
    }));
    const big = budget.withBuffer(3 * MiB, () => Promise.resolve(void order.push(`big, ${budget.held / MiB} MiB held`)));
    const after = budget.withBuffer(64 * KiB, () => Promise.resolve(void order.push('after')));
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(order, ['small 0', 'small 1', 'small 2', 'small 3']);
    gate.resolve();
    await Promise.all([...small, big, after]);
    assert.equal(order[4], 'big, 4 MiB held', 'three empty slabs let go for it, one kept');
    assert.equal(order[5], 'after');
    assert.ok(budget.held <= 4 * MiB);
  });

  void it('allocates a buffer too big for a slab on its own, letting empty slabs go to keep within the budget', async () => {
    const budget = new MemoryBudget(20 * MiB, 4 * MiB);
    await budget.withBuffer(1 * MiB, () => Promise.resolve());
    assert.equal(budget.held, 4 * MiB);
    await budget.withBuffer(18 * MiB, (buffer) => Promise.resolve(assert.equal(budget.held, 18 * MiB, `a buffer of its own, ${buffer.length} bytes`)));
    assert.equal(budget.held, 0, 'and let go after its chunk');
  });

  void it('hands a streamed chunk its part buffers at their exact size, and the next chunk the same ones, when the budget holds just them', async () => {
    const budget = new MemoryBudget(20 * MiB, 10 * MiB);
    let first: readonly Buffer[] = [];
    await budget.withBuffers(2, 10 * MiB, (buffers) => Promise.resolve(void (first = buffers)));
    assert.deepEqual(first.map((b) => b.length), [10 * MiB, 10 * MiB]);
    await budget.withBuffers(2, 10 * MiB, (buffers) => {
      assert.ok(buffers.every((b) => first.some((f) => sameMemory(b, f))) && !sameMemory(buffers[0], buffers[1]), 'both buffers reused, none allocated');
      return Promise.resolve();
    });
    assert.equal(budget.used, 0);
  });
});

void describe('Slab', () => {
  void it('takes runs of units first fit, and joins what is given back with its free neighbours', () => {
    const slab = new Slab(10 * KiB, KiB);
    assert.deepEqual([slab.take(3), slab.take(3), slab.take(3)], [0, 3, 6]);
    assert.equal(slab.take(2), undefined, 'one unit left');
    slab.give(3, 3);
    assert.equal(slab.take(4), undefined, 'three free in a row, and one at the end');
    slab.give(0, 3);
    assert.equal(slab.take(6), 0, 'the two runs were joined');
    slab.give(0, 6);
    slab.give(6, 3);
    assert.equal(slab.usedUnits, 0);
    assert.equal(slab.take(10), 0, 'all one run again');
  });
});

/** Whether two buffers share a byte of the same memory. */
function overlap(a: Buffer, b: Buffer): boolean {
  return a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.length && b.byteOffset < a.byteOffset + a.length;
}

/** Whether two buffers are the same bytes of the same memory. */
function sameMemory(a: Buffer | undefined, b: Buffer | undefined): boolean {
  return a !== undefined && b !== undefined && a.buffer === b.buffer && a.byteOffset === b.byteOffset;
}

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
