import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type ChunkRange, chunkRanges, planChunks } from './plan.js';

/** No window: every chunk that exists may be planned. */
const UNBOUNDED = Number.MAX_SAFE_INTEGER;

const CS = 10;

/** Every range starts at index * chunkSize, is non-empty and at most chunkSize, and indices are contiguous. */
function assertWellFormed(chunks: readonly ChunkRange[], chunkSize: number): void {
  chunks.forEach((chunk, i) => {
    assert.ok(Number.isInteger(chunk.index), `index ${chunk.index} is an integer`);
    assert.equal(chunk.offset, chunk.index * chunkSize, 'offset is index * chunkSize');
    assert.ok(chunk.size > 0 && chunk.size <= chunkSize, `size ${chunk.size} within (0, ${chunkSize}]`);
    if (i > 0) {
      const previous = chunks[i - 1];
      assert.ok(previous);
      assert.equal(chunk.index, previous.index + 1, 'indices are contiguous');
      assert.equal(chunk.offset, previous.offset + previous.size, 'ranges are adjacent');
    }
  });
}

void describe('chunkRanges', () => {
  void it('has no chunk for an empty file', () => {
    assert.deepEqual(chunkRanges(0, CS), []);
  });

  void it('has one 1-byte chunk for a 1-byte file', () => {
    assert.deepEqual(chunkRanges(1, CS), [{ index: 0, offset: 0, size: 1 }]);
  });

  void it('has exactly one full chunk for a file of one chunk size', () => {
    assert.deepEqual(chunkRanges(CS, CS), [{ index: 0, offset: 0, size: CS }]);
  });

  void it('has a 1-byte tail for one chunk + 1 byte', () => {
    assert.deepEqual(chunkRanges(CS + 1, CS), [
      { index: 0, offset: 0, size: CS },
      { index: 1, offset: CS, size: 1 },
    ]);
  });

  void it('has three full chunks and a half tail for 3.5 chunks', () => {
    assert.deepEqual(chunkRanges(35, CS), [
      { index: 0, offset: 0, size: 10 },
      { index: 1, offset: 10, size: 10 },
      { index: 2, offset: 20, size: 10 },
      { index: 3, offset: 30, size: 5 },
    ]);
  });

  void it('covers the whole file with well-formed ranges for many sizes', () => {
    for (const chunkSize of [1, 3, 10, 4096]) {
      for (const size of [0, 1, 2, 9, 10, 11, 99, 100, 101, 12_345]) {
        const ranges = chunkRanges(size, chunkSize);
        assertWellFormed(ranges, chunkSize);
        assert.equal(ranges.length, Math.ceil(size / chunkSize));
        assert.equal(
          ranges.reduce((sum, r) => sum + r.size, 0),
          size,
          `sizes of ${size}/${chunkSize} sum to the file size`,
        );
        if (ranges.length > 0) assert.equal(ranges[0]?.offset, 0);
      }
    }
  });
});

void describe('planChunks', () => {
  void it('plans nothing for an empty file, idle or not', () => {
    assert.deepEqual(planChunks({ committedBytes: 0, window: UNBOUNDED, size: 0, chunkSize: CS, plannedBytes: 0, idle: false }), { chunks: [], plannedBytes: 0 });
    assert.deepEqual(planChunks({ committedBytes: 0, window: UNBOUNDED, size: 0, chunkSize: CS, plannedBytes: 0, idle: true }), { chunks: [], plannedBytes: 0 });
  });

  void it('plans no partial chunk while the file is not idle', () => {
    assert.deepEqual(planChunks({ committedBytes: 0, window: UNBOUNDED, size: 1, chunkSize: CS, plannedBytes: 0, idle: false }), { chunks: [], plannedBytes: 0 });
    assert.deepEqual(planChunks({ committedBytes: 0, window: UNBOUNDED, size: CS - 1, chunkSize: CS, plannedBytes: 0, idle: false }), { chunks: [], plannedBytes: 0 });
  });

  void it('plans only full chunks while the file is not idle', () => {
    const plan = planChunks({ committedBytes: 0, window: UNBOUNDED, size: 35, chunkSize: CS, plannedBytes: 0, idle: false });
    assert.deepEqual(plan.chunks, [
      { index: 0, offset: 0, size: 10 },
      { index: 1, offset: 10, size: 10 },
      { index: 2, offset: 20, size: 10 },
    ]);
    assert.equal(plan.plannedBytes, 30);
  });

  void it('plans exactly one chunk for a file of one chunk size, idle or not', () => {
    for (const idle of [false, true]) {
      assert.deepEqual(planChunks({ committedBytes: 0, window: UNBOUNDED, size: CS, chunkSize: CS, plannedBytes: 0, idle }), {
        chunks: [{ index: 0, offset: 0, size: CS }],
        plannedBytes: CS,
      });
    }
  });

  void it('plans the tail once the file is idle', () => {
    const plan = planChunks({ committedBytes: 0, window: UNBOUNDED, size: 35, chunkSize: CS, plannedBytes: 0, idle: true });
    assert.deepEqual(plan.chunks, chunkRanges(35, CS));
    assert.equal(plan.plannedBytes, 35);
  });

  void it('plans only the tail when the full chunks were planned before', () => {
    const plan = planChunks({ committedBytes: 0, window: UNBOUNDED, size: 35, chunkSize: CS, plannedBytes: 30, idle: true });
    assert.deepEqual(plan.chunks, [{ index: 3, offset: 30, size: 5 }]);
    assert.equal(plan.plannedBytes, 35);
  });

  void it('plans a 1-byte file only when idle', () => {
    assert.deepEqual(planChunks({ committedBytes: 0, window: UNBOUNDED, size: 1, chunkSize: CS, plannedBytes: 0, idle: true }), {
      chunks: [{ index: 0, offset: 0, size: 1 }],
      plannedBytes: 1,
    });
  });

  void it('plans the 1-byte tail of one chunk + 1 when idle', () => {
    const first = planChunks({ committedBytes: 0, window: UNBOUNDED, size: CS + 1, chunkSize: CS, plannedBytes: 0, idle: false });
    assert.deepEqual(first, { chunks: [{ index: 0, offset: 0, size: CS }], plannedBytes: CS });
    const second = planChunks({ committedBytes: 0, window: UNBOUNDED, size: CS + 1, chunkSize: CS, plannedBytes: first.plannedBytes, idle: true });
    assert.deepEqual(second, { chunks: [{ index: 1, offset: CS, size: 1 }], plannedBytes: CS + 1 });
  });

  void it('re-plans a tail planned earlier as a full chunk after growth (same index, bigger size)', () => {
    const tail = planChunks({ committedBytes: 0, window: UNBOUNDED, size: 15, chunkSize: CS, plannedBytes: 0, idle: true });
    assert.deepEqual(tail.chunks.at(-1), { index: 1, offset: 10, size: 5 });
    assert.equal(tail.plannedBytes, 15);

    const grown = planChunks({ committedBytes: 0, window: UNBOUNDED, size: 27, chunkSize: CS, plannedBytes: tail.plannedBytes, idle: false });
    assert.deepEqual(grown.chunks, [{ index: 1, offset: 10, size: 10 }]);
    assert.equal(grown.plannedBytes, 20);
  });

  void it('re-plans a tail as a bigger tail when the file grows within the chunk and is idle again', () => {
    const plan = planChunks({ committedBytes: 0, window: UNBOUNDED, size: 18, chunkSize: CS, plannedBytes: 15, idle: true });
    assert.deepEqual(plan, { chunks: [{ index: 1, offset: 10, size: 8 }], plannedBytes: 18 });
  });

  void it('does not re-plan a tail while growth stays inside its chunk and the file is not idle', () => {
    assert.deepEqual(planChunks({ committedBytes: 0, window: UNBOUNDED, size: 18, chunkSize: CS, plannedBytes: 15, idle: false }), { chunks: [], plannedBytes: 15 });
  });

  void it('re-plans nothing when nothing is new', () => {
    for (const [size, plannedBytes] of [
      [30, 30],
      [35, 35],
      [35, 30],
    ] as const) {
      const idle = size === plannedBytes;
      assert.deepEqual(planChunks({ committedBytes: 0, window: UNBOUNDED, size, chunkSize: CS, plannedBytes, idle }), { chunks: [], plannedBytes });
      assert.deepEqual(planChunks({ committedBytes: 0, window: UNBOUNDED, size, chunkSize: CS, plannedBytes, idle: false }), { chunks: [], plannedBytes });
    }
  });

  void it('never lowers plannedBytes, even if the file shrinks', () => {
    assert.deepEqual(planChunks({ committedBytes: 0, window: UNBOUNDED, size: 12, chunkSize: CS, plannedBytes: 35, idle: true }), { chunks: [], plannedBytes: 35 });
    assert.deepEqual(planChunks({ committedBytes: 0, window: UNBOUNDED, size: 35, chunkSize: CS, plannedBytes: 35, idle: false }), { chunks: [], plannedBytes: 35 });
  });

  void it('numbers chunks by offset / chunkSize, not by byte offset', () => {
    const chunkSize = 1024;
    const plan = planChunks({ committedBytes: 0, window: UNBOUNDED, size: 5 * chunkSize, chunkSize, plannedBytes: 2 * chunkSize + 100, idle: false });
    assert.deepEqual(
      plan.chunks.map((c) => [c.index, c.offset, c.size]),
      [
        [2, 2048, 1024],
        [3, 3072, 1024],
        [4, 4096, 1024],
      ],
    );
  });

  void it('over a growing file: plannedBytes never decreases, chunks are well formed, and the last plan of each index is the final file', () => {
    const chunkSize = 7;
    const steps: { size: number; idle: boolean }[] = [
      { size: 0, idle: false },
      { size: 3, idle: false },
      { size: 3, idle: true },
      { size: 6, idle: false },
      { size: 9, idle: false },
      { size: 9, idle: true },
      { size: 9, idle: true },
      { size: 14, idle: false },
      { size: 15, idle: false },
      { size: 30, idle: false },
      { size: 31, idle: true },
      { size: 31, idle: false },
      { size: 44, idle: false },
      { size: 49, idle: true },
      { size: 50, idle: true },
    ];
    let plannedBytes = 0;
    const latest = new Map<number, ChunkRange>();
    for (const { size, idle } of steps) {
      const plan = planChunks({ committedBytes: 0, window: UNBOUNDED, size, chunkSize, plannedBytes, idle });
      assert.ok(plan.plannedBytes >= plannedBytes, `plannedBytes ${plan.plannedBytes} >= ${plannedBytes}`);
      assert.ok(plan.plannedBytes <= size || plan.plannedBytes === plannedBytes);
      assertWellFormed(plan.chunks, chunkSize);
      if (plan.chunks.length > 0) {
        const first = plan.chunks[0];
        const last = plan.chunks.at(-1);
        assert.ok(first && last);
        // Starts at the chunk holding the old end, and ends exactly at the new end.
        assert.equal(first.index, Math.floor(plannedBytes / chunkSize));
        assert.equal(last.offset + last.size, plan.plannedBytes);
        if (!idle) assert.equal(plan.plannedBytes % chunkSize, 0, 'not idle: only full chunks');
        for (const chunk of plan.chunks) {
          const before = latest.get(chunk.index);
          if (before) assert.ok(chunk.size > before.size, `chunk ${chunk.index} re-planned only when bigger`);
          latest.set(chunk.index, chunk);
        }
      } else {
        assert.equal(plan.plannedBytes, plannedBytes);
      }
      plannedBytes = plan.plannedBytes;
    }
    assert.equal(plannedBytes, 50);
    assert.deepEqual(
      [...latest.values()].sort((a, b) => a.index - b.index),
      chunkRanges(50, chunkSize),
    );
  });
});

void describe('planChunks window', () => {
  const CS = 10;
  const plan = (input: { size: number; plannedBytes: number; committedBytes: number; idle?: boolean; window?: number }) =>
    planChunks({ chunkSize: CS, idle: false, window: 4, ...input });

  void it('plans at most `window` chunks past the committed prefix, however big the file', () => {
    const first = plan({ size: 1e12, plannedBytes: 0, committedBytes: 0 });
    assert.deepEqual(first.chunks.map((c) => c.index), [0, 1, 2, 3]);
    assert.equal(first.plannedBytes, 40);
    assert.deepEqual(plan({ size: 1e12, plannedBytes: 40, committedBytes: 0 }).chunks, [], 'nothing more until chunks are committed');
  });

  void it('slides as the committed prefix grows', () => {
    const next = plan({ size: 1e12, plannedBytes: 40, committedBytes: 20 });
    assert.deepEqual(next.chunks.map((c) => c.index), [4, 5]);
    assert.equal(next.plannedBytes, 60);
  });

  void it('plans the tail of an idle file only once the window reaches it', () => {
    assert.equal(plan({ size: 95, plannedBytes: 40, committedBytes: 40, idle: true }).plannedBytes, 80);
    const last = plan({ size: 95, plannedBytes: 80, committedBytes: 60, idle: true });
    assert.deepEqual(last.chunks.map((c) => [c.index, c.size]), [[8, 10], [9, 5]]);
    assert.equal(last.plannedBytes, 95);
  });
});
