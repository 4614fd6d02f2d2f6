import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '@vcu/logger';
import type { FinalizeDeps, StreamOutcome } from './context.js';
import { SWEEP_LIMIT, createFinalize, nextPage } from './sweep.js';

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

void describe('a ready sweep', () => {
  void it('takes the ready set again until it is empty: streams made ready while it ran are not left to the scheduled sweep', async () => {
    // the ready set as three takes see it: a stream became ready during each of the first two
    const takes = [['s1'], ['s2', 's3'], [], ['never taken']];
    const taken: number[] = [];
    const store = {
      takeReady: (_before: number, limit: number) => {
        taken.push(limit);
        return Promise.resolve(takes.shift() ?? []);
      },
      // streams gone meanwhile: each is settled as 'skipped', with no file or S3 work
      getMany: (ids: readonly string[]) => Promise.resolve(ids.map(() => undefined)),
    };
    const deps = { store, streamIdleMs: 5000, watchDir: '/nonexistent', logger: createLogger({ level: 'error', format: 'json' }) } as unknown as FinalizeDeps;
    const counts = await createFinalize(deps)({ data: { ready: true } });
    assert.equal(counts.skipped, 3, 'every stream of the first two takes was settled');
    assert.equal(taken.length, 3, 'the third, empty take ends the sweep');
  });
});
