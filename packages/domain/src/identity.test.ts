import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type FileFacts, type KnownVersion, changedMsOf, decideVersion, streamIdFor } from './identity.js';

const file: FileFacts = {
  path: 'cam1/clip.mp4',
  dev: '2049',
  ino: '123456',
  birthtimeNs: '1700000000000000000',
  size: 1000,
  mtimeNs: '1700000001000000000',
};

function known(overrides: Partial<KnownVersion> = {}): KnownVersion {
  return { dev: file.dev, ino: file.ino, birthtimeNs: file.birthtimeNs, generation: 2, size: file.size, status: 'active', ...overrides };
}

void describe('decideVersion', () => {
  void it('is the same file whatever device number a host gives it: a shared folder (NFS, SMB) has one per host that mounts it', () => {
    assert.deepEqual(decideVersion(known({ dev: '2050' }), file), { kind: 'same' });
    assert.deepEqual(decideVersion(known({ dev: '' }), file), { kind: 'same' });
  });

  void it('is replaced when the inode or the birth time differs', () => {
    assert.deepEqual(decideVersion(known({ ino: '654321' }), file), { kind: 'replaced', generation: 0 });
    assert.deepEqual(decideVersion(known({ birthtimeNs: '1700000000000000001' }), file), { kind: 'replaced', generation: 0 });
  });

  void it('is new with generation 0 when nothing is known', () => {
    assert.deepEqual(decideVersion(undefined, file), { kind: 'new', generation: 0 });
  });

  void it('is the same for the same file at the same size', () => {
    assert.deepEqual(decideVersion(known(), file), { kind: 'same' });
  });

  void it('is the same for a file that grew, active or already complete', () => {
    assert.deepEqual(decideVersion(known({ size: 10 }), file), { kind: 'same' });
    assert.deepEqual(decideVersion(known({ size: 10, status: 'complete' }), file), { kind: 'same' });
    assert.deepEqual(decideVersion(known({ status: 'complete' }), { ...file, size: file.size + 1 }), { kind: 'same' });
  });

  void it('is the same when only the mtime changed', () => {
    assert.deepEqual(decideVersion(known(), { ...file, mtimeNs: '1800000000000000000' }), { kind: 'same' });
  });

  void it('is replaced when the inode differs', () => {
    assert.deepEqual(decideVersion(known({ ino: '999' }), file), { kind: 'replaced', generation: 0 });
  });

  void it('is replaced when the birth time differs', () => {
    assert.deepEqual(decideVersion(known({ birthtimeNs: '1600000000000000000' }), file), { kind: 'replaced', generation: 0 });
  });

  void it('is replaced rather than truncated when another, shorter file took the name', () => {
    assert.deepEqual(decideVersion(known({ ino: '999', size: 5000 }), file), { kind: 'replaced', generation: 0 });
  });

  void it('is truncated, with the next generation, when the file is shorter than known', () => {
    assert.deepEqual(decideVersion(known({ size: file.size + 1 }), file), { kind: 'truncated', generation: 3 });
    assert.deepEqual(decideVersion(known({ size: 5000, status: 'complete', generation: 0 }), { ...file, size: 0 }), {
      kind: 'truncated',
      generation: 1,
    });
  });

  void it('is truncated, with the next generation, whatever its size, once the known stream was retired because its file was emptied', () => {
    assert.deepEqual(decideVersion(known({ size: 10, status: 'complete', generation: 1, reason: 'truncated' }), file), { kind: 'truncated', generation: 2 });
    assert.deepEqual(decideVersion(known({ size: 10, status: 'complete', generation: 1 }), file), { kind: 'same' }, 'grown, not emptied: the same stream');
  });

  void it('is restarted, with the next generation, when the known stream was aborted', () => {
    assert.deepEqual(decideVersion(known({ status: 'aborted' }), file), { kind: 'restarted', generation: 3 });
    assert.deepEqual(decideVersion(known({ status: 'aborted', generation: 0, size: 10 }), file), {
      kind: 'restarted',
      generation: 1,
    });
  });
});

void describe('streamIdFor', () => {
  const id = streamIdFor(file, 0);

  void it('is 24 lowercase hex characters', () => {
    assert.match(id, /^[0-9a-f]{24}$/);
  });

  void it('is deterministic', () => {
    assert.equal(streamIdFor({ path: file.path, ino: file.ino, birthtimeNs: file.birthtimeNs }, 0), id);
    assert.equal(streamIdFor(file, 0), id);
  });

  void it('ignores size and mtime', () => {
    const other: FileFacts = { ...file, size: 1, mtimeNs: '1' };
    assert.equal(streamIdFor(other, 0), id);
  });

  void it('differs by path, inode, birth time and generation', () => {
    const others = [
      streamIdFor({ ...file, path: 'cam1/clip2.mp4' }, 0),
      streamIdFor({ ...file, path: 'CAM1/clip.mp4' }, 0),
      streamIdFor({ ...file, ino: '123457' }, 0),
      streamIdFor({ ...file, birthtimeNs: '0' }, 0),
      streamIdFor(file, 1),
      streamIdFor(file, 2),
    ];
    for (const other of others) {
      assert.match(other, /^[0-9a-f]{24}$/);
      assert.notEqual(other, id);
    }
    assert.equal(new Set(others).size, others.length, 'every variation has its own id');
  });

  void it('does not confuse fields when a value could be shifted into the next one', () => {
    assert.notEqual(
      streamIdFor({ path: 'a', ino: '12', birthtimeNs: '3' }, 0),
      streamIdFor({ path: 'a', ino: '1', birthtimeNs: '23' }, 0),
    );
  });
});

void describe('changedMsOf', () => {
  const ms = (n: number): string => String(BigInt(n) * 1_000_000n);
  void it('is the change time when a modification time was set back', () => {
    assert.equal(changedMsOf({ mtimeNs: ms(1_000), ctimeNs: ms(9_000) }), 9_000);
  });
  void it('is the modification time where it is later, or the only one known', () => {
    assert.equal(changedMsOf({ mtimeNs: ms(5_000), ctimeNs: ms(4_000) }), 5_000);
    assert.equal(changedMsOf({ mtimeNs: ms(5_000) }), 5_000);
  });
});
