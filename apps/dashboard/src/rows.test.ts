import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChunkRecord } from '@vcu/state';
import { stateOf, streamDetail, streamRow } from './rows.js';
import type { ListedStream } from './streams-data.js';

const stream = (fields: Partial<ListedStream> = {}): ListedStream => ({
  id: '0123456789abcdef01234567',
  path: 'cams/a.mp4',
  dev: '1',
  ino: '2',
  birthtimeNs: '3',
  generation: 0,
  chunkSize: 100,
  size: 450,
  mtimeNs: '4',
  plannedBytes: 400,
  idle: false,
  committedChunks: 2,
  committedBytes: 200,
  status: 'active',
  revision: 0,
  recovered: false,
  reason: undefined,
  createdAt: Date.UTC(2026, 0, 1),
  updatedAt: Date.UTC(2026, 0, 1, 0, 1),
  completedAt: undefined,
  deletingAs: undefined,
  chunksDone: 3,
  ...fields,
});

const record = (size: number): ChunkRecord => ({ size, sha256: 'ab'.repeat(32), etag: '"e"', uploadedAt: '2026-01-01T00:00:05.000Z' });

void describe('stateOf', () => {
  void it('is the status, but failed for an unfinished stream waiting on a chunk whose job failed for good', () => {
    assert.equal(stateOf({ status: 'active', committedChunks: 2 }), 'active');
    assert.equal(stateOf({ status: 'active', committedChunks: 2 }, [{ index: 3, size: 100 }]), 'failed');
    assert.equal(stateOf({ status: 'active', committedChunks: 2 }, [{ index: 1, size: 100 }]), 'active', 'a chunk uploaded since it failed');
    assert.equal(stateOf({ status: 'aborted', committedChunks: 0 }, [{ index: 0, size: 100 }]), 'aborted');
    assert.equal(stateOf({ status: 'complete', committedChunks: 5 }), 'complete');
  });
});

void describe('streamRow', () => {
  void it('keeps the path as vcu holds it and adds a name fit to show', () => {
    const row = streamRow(stream({ path: 'evil\u001b[31m\n<b>\u0000ff.mp4' }), undefined, 12.5);
    assert.equal(row.path, 'evil\u001b[31m\n<b>\u0000ff.mp4');
    assert.equal(row.name, 'evil\\x1b[31m\\n<b>\\xff.mp4');
    assert.deepEqual([row.chunksTotal, row.chunksDone, row.state, row.bytesPerSecond, row.completedAt], [5, 3, 'active', 12.5, null]);
    assert.equal(row.createdAt, '2026-01-01T00:00:00.000Z');
    assert.ok(!('reason' in row));
  });

  void it('shows a size never seen (-1) as 0', () => {
    assert.deepEqual([streamRow(stream({ size: -1 }), [], null).size, streamRow(stream({ size: -1 }), [], null).chunksTotal], [0, 0]);
  });
});

void describe('streamDetail', () => {
  void it("lists every chunk's state and counts them; links metadata.json once it is written", () => {
    // chunk 0 and 1 uploaded, 2 recorded at an older size, 3 planned, 4 (50 bytes) not planned yet
    const records = new Map([
      [0, record(100)],
      [1, record(100)],
      [2, record(60)],
    ]);
    const detail = streamDetail({ stream: stream(), records, failed: [], bytesPerSecond: null, prefix: 'videos/', now: 0 });
    assert.deepEqual(
      detail.chunks.map((c) => [c.index, c.offset, c.size, c.state]),
      [
        [0, 0, 100, 'uploaded'],
        [1, 100, 100, 'uploaded'],
        [2, 200, 100, 'changed'],
        [3, 300, 100, 'queued'],
        [4, 400, 50, 'not-planned'],
      ],
    );
    assert.deepEqual(detail.chunkCounts, { uploaded: 2, changed: 1, queued: 1, failed: 0, 'not-planned': 1 });
    assert.equal(detail.metadata, null);
    const failed = streamDetail({ stream: stream({ revision: 2 }), records, failed: [{ index: 3, size: 100 }], bytesPerSecond: null, prefix: 'videos/', now: 0 });
    assert.equal(failed.chunks[3]?.state, 'failed');
    assert.equal(failed.stream.state, 'failed');
    assert.deepEqual(failed.metadata, { key: 'videos/0123456789abcdef01234567/metadata.json', url: '/api/streams/0123456789abcdef01234567/metadata.json' });
  });
});
