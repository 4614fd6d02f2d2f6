import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FileFacts } from '@vcu/domain';
import type { ChunkRecord } from '@vcu/state';
import { settled } from './digests.js';

const ns = (ms: number): string => String(BigInt(ms) * 1_000_000n);
const HOUR = 3_600_000;
const T = 1_800_000_000_000;
/** Written an hour before T; linked into WATCH_DIR at T (a new change time, the same bytes). */
const facts: FileFacts = { path: 'a.mp4', dev: '1', ino: '2', birthtimeNs: ns(T - HOUR), size: 10, mtimeNs: ns(T - HOUR), ctimeNs: ns(T) };
const record = (readAt: number, readCtimeNs?: string): ChunkRecord => ({ size: 10, sha256: 'x', etag: '"e"', uploadedAt: '', readAt, ...(readCtimeNs === undefined ? {} : { readCtimeNs }) });

void describe('settled: a chunk read after the file last changed needs no second read at finalize', () => {
  void it('holds for a file only linked in (its change time as at the read), read at once', () => {
    const linked = { ...facts, ctimeNs: ns(T + 7) };
    assert.equal(settled(record(T + 100, ns(T + 7)), linked), true);
  });
  void it('fails once the change time moved after the read (a rewrite with the mtime set back)', () => {
    assert.equal(settled(record(T + 100, ns(T + 7)), { ...facts, ctimeNs: ns(T + 5007) }), false);
  });
  void it('fails for bytes read less than 2 s after the modification time', () => {
    assert.equal(settled(record(T - HOUR + 1500, ns(T - HOUR)), { ...facts, ctimeNs: ns(T - HOUR) }), false);
  });
  void it('where the change time is kept in whole seconds, also needs it 2 s old', () => {
    const coarse = { ...facts, ctimeNs: ns(T) };
    assert.equal(BigInt(coarse.ctimeNs) % 1_000_000_000n, 0n, 'T is a whole second');
    assert.equal(settled(record(T + 100, ns(T)), coarse), false);
    assert.equal(settled(record(T + 2500, ns(T)), coarse), true);
    assert.equal(settled(record(T + 100, ns(T + 7)), { ...facts, ctimeNs: ns(T + 7) }), true, 'a change time with milliseconds is fine-grained');
  });

  void it('without the change time of the read (restored records), needs the change time itself 2 s old', () => {
    assert.equal(settled(record(T + 100), facts), false);
    assert.equal(settled(record(T + 2500), facts), true);
    assert.equal(settled(undefined, facts), false);
  });
});
