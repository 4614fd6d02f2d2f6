import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Sample, SampleRing, committedBetween } from './samples.js';

/** A sample at `at` of streams given as id → [committedBytes, createdAt]. */
function sample(at: number, streams: Record<string, [number, number]>, whole = true, since = -Infinity): Sample {
  return {
    at,
    whole,
    since,
    streams: new Map(Object.entries(streams).map(([id, [committedBytes, createdAt]]) => [id, { committedBytes, createdAt, committedChunks: 0, status: 'active' }])),
  };
}

void describe('committedBetween', () => {
  void it('sums what each stream committed since the sample before', () => {
    assert.equal(committedBetween(sample(0, { a: [100, -5], b: [0, -5] }), sample(5000, { a: [600, -5], b: [250, -5] })), 750);
  });

  void it('counts a stream new since the sample before whole: a small file can come and go between two samples', () => {
    assert.equal(committedBetween(sample(0, { a: [100, -5] }), sample(5000, { a: [100, -5], fresh: [4096, 2000] })), 4096);
  });

  void it('counts nothing for a stream that shrank (a chunk to upload again) or went away (forgotten)', () => {
    assert.equal(committedBetween(sample(0, { a: [1000, -5], gone: [50, -5] }), sample(5000, { a: [400, -5] })), 0);
  });

  void it('after a read cut at its limit, counts a stream it missed only if it was created after that read', () => {
    const cut = sample(1000, { a: [10, 0] }, false);
    assert.equal(committedBetween(cut, sample(6000, { a: [10, 0], older: [700, 500], newer: [300, 2000] })), 300);
  });

  void it('does not count the whole of a finished stream the sample before left out that an append reopened', () => {
    const before = sample(10_000, { a: [10, 9000] }, true, 4000);
    assert.equal(committedBetween(before, sample(15_000, { a: [20, 9000], reopened: [9_000_000, 100], fresh: [500, 12_000] })), 510);
  });
});

void describe('SampleRing', () => {
  void it('keeps a throughput point per sample after the first, for keepMs', () => {
    const ring = new SampleRing(10_000, 30_000);
    ring.add(sample(0, { a: [0, -1] }));
    assert.equal(ring.points.length, 0, 'one sample is no rate yet');
    ring.add(sample(5000, { a: [5000, -1] }));
    ring.add(sample(10_000, { a: [15_000, -1] }));
    assert.deepEqual(ring.points, [
      { from: 0, at: 5000, bytesPerSecond: 1000 },
      { from: 5000, at: 10_000, bytesPerSecond: 2000 },
    ]);
    ring.add(sample(20_000, { a: [15_000, -1] }));
    assert.deepEqual(
      ring.points.map((p) => p.at),
      [10_000, 20_000],
      'points older than keepMs are dropped',
    );
  });

  void it("averages a stream's rate over the window, from its start when it is newer", () => {
    const ring = new SampleRing(60_000, 10_000);
    assert.equal(ring.rateOf('a'), null);
    ring.add(sample(0, { a: [0, -1] }));
    assert.equal(ring.rateOf('a'), null, 'one sample: unknown');
    ring.add(sample(5000, { a: [10_000, -1] }));
    ring.add(sample(10_000, { a: [30_000, -1], b: [8000, 8000] }));
    assert.equal(ring.rateOf('a'), 3000, '30 000 bytes in 10 s');
    assert.equal(ring.rateOf('b'), 8000 / 5, 'created between the last two samples: timed over that interval');
    ring.add(sample(15_000, { a: [30_000, -1], b: [8000, 8000] }));
    assert.equal(ring.rateOf('a'), 2000, 'the window slid: 20 000 bytes in 10 s');
    assert.equal(ring.rateOf('gone'), null);
  });
});
