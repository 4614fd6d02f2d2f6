import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createStallDetector } from './workers.js';

void describe('finalize stall detector', () => {
  void it('says stuck once a job has waited the whole time with no sweep running', () => {
    const d = createStallDetector(20_000);
    assert.equal(d.check({ active: 0, waiting: ['a'] }, 0), undefined);
    assert.equal(d.check({ active: 0, waiting: ['a', 'b'] }, 10_000), undefined);
    assert.equal(d.check({ active: 0, waiting: ['b', 'a'] }, 20_000), 20_000);
  });

  void it('starts over when a sweep runs (a long one holds the others back) or nothing waits', () => {
    const d = createStallDetector(20_000);
    d.check({ active: 0, waiting: ['a'] }, 0);
    assert.equal(d.check({ active: 1, waiting: ['a'] }, 15_000), undefined);
    assert.equal(d.check({ active: 0, waiting: ['a'] }, 25_000), undefined);
    assert.equal(d.check({ active: 0, waiting: [] }, 30_000), undefined);
    assert.equal(d.check({ active: 0, waiting: ['a'] }, 40_000), undefined);
    assert.equal(d.check({ active: 0, waiting: ['a'] }, 60_000), 20_000);
  });

  void it('does not count the time of jobs taken meanwhile: sweeps that run keep it quiet', () => {
    const d = createStallDetector(20_000);
    d.check({ active: 0, waiting: ['a'] }, 0);
    d.check({ active: 0, waiting: ['b'] }, 15_000);
    assert.equal(d.check({ active: 0, waiting: ['c'] }, 30_000), undefined);
    d.reset();
    assert.equal(d.check({ active: 0, waiting: ['c'] }, 35_000), undefined);
  });
});
