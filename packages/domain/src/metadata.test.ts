import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type MetadataInput, buildMetadata } from './metadata.js';

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function input(overrides: Partial<MetadataInput> = {}): MetadataInput {
  return {
    streamId: '0123456789abcdef01234567',
    revision: 3,
    pathBytes: Buffer.from('cam1/clip.mp4'),
    size: 25,
    mtimeMs: Date.UTC(2024, 0, 2, 3, 4, 5, 678),
    chunkSize: 10,
    chunks: [
      { index: 0, offset: 0, size: 10, sha256: 'a'.repeat(64) },
      { index: 1, offset: 10, size: 10, sha256: 'b'.repeat(64) },
      { index: 2, offset: 20, size: 5, sha256: 'c'.repeat(64) },
    ],
    keyOf: (index) => `videos/0123456789abcdef01234567/chunk-${String(index).padStart(6, '0')}`,
    sha256: 'f'.repeat(64),
    container: { recognisedMp4: true, firstBox: 'ftyp' },
    createdAtMs: Date.UTC(2024, 0, 2, 3, 0, 0, 0),
    completedAtMs: Date.UTC(2024, 0, 2, 3, 5, 0, 1),
    mp4: { mp4: null, reason: 'not probed in this test' },
    ...overrides,
  };
}

void describe('buildMetadata', () => {
  void it('builds schema version 1 with the stream facts', () => {
    const meta = buildMetadata(input());
    assert.equal(meta.schemaVersion, 1);
    assert.equal(meta.streamId, '0123456789abcdef01234567');
    assert.equal(meta.revision, 3);
    assert.equal(meta.chunkSize, 10);
    assert.equal(meta.sha256, 'f'.repeat(64));
    assert.deepEqual(meta.source, { path: 'cam1/clip.mp4', size: 25, modifiedAt: '2024-01-02T03:04:05.678Z' });
  });

  void it('keeps a path that is not UTF-8 readable in source.path and exact in source.pathBytes', () => {
    const raw = Buffer.concat([Buffer.from('cams/bad'), Buffer.from([0xff, 0xfe]), Buffer.from('.mp4')]);
    const meta = buildMetadata(input({ pathBytes: raw }));
    assert.equal(meta.source.path, 'cams/bad\uFFFD\uFFFD.mp4');
    assert.ok(Buffer.from(meta.source.pathBytes ?? '', 'base64').equals(raw));
    const parsed = JSON.parse(JSON.stringify(meta)) as typeof meta;
    assert.ok(Buffer.from(parsed.source.pathBytes ?? '', 'base64').equals(raw), 'survives JSON');
    // a UTF-8 name, control characters and all, is its own lossless form
    const esc = buildMetadata(input({ pathBytes: Buffer.from('esc\u001b[31m\nred.mp4') }));
    assert.equal(esc.source.path, 'esc\u001b[31m\nred.mp4');
    assert.equal('pathBytes' in esc.source, false);
  });

  void it('writes every timestamp as ISO-8601 UTC ending in Z', () => {
    const meta = buildMetadata(input());
    for (const stamp of [meta.source.modifiedAt, meta.createdAt, meta.completedAt]) {
      assert.match(stamp, ISO_UTC);
    }
    assert.equal(meta.createdAt, '2024-01-02T03:00:00.000Z');
    assert.equal(meta.completedAt, '2024-01-02T03:05:00.001Z');
  });

  void it('takes each chunk key from keyOf and keeps offsets, sizes, hashes and order', () => {
    const asked: number[] = [];
    const meta = buildMetadata(
      input({
        keyOf: (index) => {
          asked.push(index);
          return `k/${index}`;
        },
      }),
    );
    assert.deepEqual(asked, [0, 1, 2]);
    assert.deepEqual(meta.chunks, [
      { index: 0, key: 'k/0', offset: 0, size: 10, sha256: 'a'.repeat(64) },
      { index: 1, key: 'k/1', offset: 10, size: 10, sha256: 'b'.repeat(64) },
      { index: 2, key: 'k/2', offset: 20, size: 5, sha256: 'c'.repeat(64) },
    ]);
  });

  void it('uses the default key layout unchanged', () => {
    const meta = buildMetadata(input());
    assert.equal(meta.chunks[2]?.key, 'videos/0123456789abcdef01234567/chunk-000002');
  });

  void it('handles a stream with no chunks', () => {
    const meta = buildMetadata(input({ size: 0, chunks: [], container: { recognisedMp4: false, firstBox: null } }));
    assert.deepEqual(meta.chunks, []);
    assert.deepEqual(meta.container, { recognisedMp4: false, firstBox: null });
  });

  void it('says what the container is, as given', () => {
    assert.deepEqual(buildMetadata(input()).container, { recognisedMp4: true, firstBox: 'ftyp' });
  });
});

void describe('buildMetadata mp4 facts', () => {
  void it('carries the probe: facts, or null with the reason', () => {
    const facts = { durationSeconds: 3 };
    assert.deepEqual(buildMetadata(input({ mp4: { mp4: facts } })).mp4, facts);
    assert.equal(buildMetadata(input({ mp4: { mp4: facts } })).mp4Reason, undefined);
    const none = buildMetadata(input({ mp4: { mp4: null, reason: 'no moov box found' } }));
    assert.equal(none.mp4, null);
    assert.equal(none.mp4Reason, 'no moov box found');
  });
});
