import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chartShape, formatAge, formatBytes, formatRate, percent, roundUp } from './web/format.js';

void describe('the streams page formatting', () => {
  void it('writes bytes, rates and ages as people read them', () => {
    assert.deepEqual([0, 1023, 1536, 10 * 1024 ** 2, 1.5 * 1024 ** 3].map(formatBytes), ['0 B', '1023 B', '1.50 KiB', '10.0 MiB', '1.50 GiB']);
    assert.equal(formatBytes(-1), '–');
    assert.deepEqual([null, 0, 2.4 * 1024 ** 2].map(formatRate), ['–', '0 B/s', '2.40 MiB/s']);
    assert.deepEqual([0, 42_000, 185_000, 900_000, 7_800_000, 3 * 86_400_000 + 4 * 3_600_000].map(formatAge), ['0 s', '42 s', '3 min 5 s', '15 min', '2 h 10 min', '3 d 4 h']);
  });

  void it('rounds progress down, so 100 % means all of it', () => {
    assert.equal(percent(999, 1000), 99);
    assert.equal(percent(1000, 1000), 100);
    assert.equal(percent(0, 0), 0);
    assert.equal(percent(0, 0, 100), 100);
  });

  void it('tops the chart at a round value in the unit it is shown in', () => {
    assert.equal(roundUp(0), 1);
    assert.equal(roundUp(700), 1000);
    assert.equal(roundUp(47.7 * 1024 ** 2), 50 * 1024 ** 2);
    assert.equal(roundUp(1024 ** 2), 1024 ** 2);
    assert.equal(roundUp(1.2 * 1024 ** 3), 2 * 1024 ** 3);
  });

  void it('draws points by time, now on the right, and breaks the line where samples are missing', () => {
    const shape = chartShape({
      points: [
        { at: -1000, value: 5 }, // before the span: not drawn
        { at: 0, value: 0 },
        { at: 5, value: 10 },
        { at: 10, value: 5 },
        { at: 50, value: 10 }, // 40 ms after the one before: a gap
        { at: 55, value: 0 },
      ],
      now: 100,
      spanMs: 100,
      gapMs: 12,
      width: 200,
      height: 50,
    });
    assert.equal(shape.shown, 5);
    assert.equal(shape.top, 10);
    assert.equal(shape.line, 'M0.0,50.0 L10.0,0.0 L20.0,25.0 M100.0,0.0 L110.0,50.0');
    assert.equal(shape.area, 'M0.0,50 L0.0,50.0 L10.0,0.0 L20.0,25.0 L20.0,50 Z M100.0,50 L100.0,0.0 L110.0,50.0 L110.0,50 Z');
  });
});
