import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StreamOutcome } from './context.js';
import { SWEEP_LIMIT, nextPage } from './sweep.js';

const none: Record<StreamOutcome, number> = { complete: 0, pending: 0, changed: 0, aborted: 0, stuck: 0, skipped: 0, failed: 0 };

void describe('nextPage: where the next scheduled sweep starts among the idle streams', () => {
  void it('passes over a full page of streams that cannot finish yet', () => {
    assert.equal(nextPage(0, SWEEP_LIMIT, { ...none, stuck: SWEEP_LIMIT }), SWEEP_LIMIT);
    assert.equal(nextPage(SWEEP_LIMIT, SWEEP_LIMIT, { ...none, pending: SWEEP_LIMIT }), 2 * SWEEP_LIMIT);
  });

  void it('does not count the streams that left the idle set (finished, aborted, changed)', () => {
    assert.equal(nextPage(100, SWEEP_LIMIT, { ...none, complete: 200, aborted: 10, changed: 40, stuck: 250 }), 100 + 250);
  });

  void it('starts from the oldest again once a page came back short (every idle stream was seen)', () => {
    assert.equal(nextPage(SWEEP_LIMIT, SWEEP_LIMIT - 1, { ...none, stuck: SWEEP_LIMIT - 1 }), 0);
    assert.equal(nextPage(0, 0, none), 0);
  });
});
