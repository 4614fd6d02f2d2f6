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
    assert.equal(settled(record(T + 100, ns(T)), facts), true);
  });
  void it('fails once the change time moved after the read (a rewrite with the mtime set back)', () => {
    assert.equal(settled(record(T + 100, ns(T)), { ...facts, ctimeNs: ns(T + 5000) }), false);
  });
  void it('fails for bytes read less than 2 s after the modification time', () => {
    assert.equal(settled(record(T - HOUR + 1500, ns(T - HOUR)), { ...facts, ctimeNs: ns(T - HOUR) }), false);
  });
  void it('without the change time of the read (restored records), needs the change time itself 2 s old', () => {
    assert.equal(settled(record(T + 100), facts), false);
    assert.equal(settled(record(T + 2500), facts), true);
    assert.equal(settled(undefined, facts), false);
  });
});
