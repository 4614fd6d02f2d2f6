import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { describeContainer, firstBoxType } from './container.js';

/** An ISO-BMFF box header: 4-byte big-endian size, then the 4-character type. */
function box(type: string, rest = ''): Buffer {
  const size = Buffer.alloc(4);
  size.writeUInt32BE(8 + rest.length);
  return Buffer.concat([size, Buffer.from(type, 'latin1'), Buffer.from(rest, 'latin1')]);
}

void describe('describeContainer', () => {
  void it('recognises an MP4 whose first box is ftyp', () => {
    assert.deepEqual(describeContainer(box('ftyp', 'isom')), { recognisedMp4: true, firstBox: 'ftyp' });
  });

  void it('recognises other ISO-BMFF first boxes', () => {
    for (const type of ['moov', 'mdat', 'styp', 'free', 'moof']) {
      assert.deepEqual(describeContainer(box(type)), { recognisedMp4: true, firstBox: type });
    }
  });

  void it('does not recognise plain text', () => {
    assert.deepEqual(describeContainer(Buffer.from('hello world')), { recognisedMp4: false, firstBox: 'o wo' });
  });

  void it('does not recognise box types in the wrong case', () => {
    assert.equal(describeContainer(box('FTYP')).recognisedMp4, false);
  });

  void it('has no first box for an empty file or a head shorter than 8 bytes', () => {
    assert.deepEqual(describeContainer(Buffer.alloc(0)), { recognisedMp4: false, firstBox: null });
    assert.deepEqual(describeContainer(Buffer.from('\0\0\0\x08fty')), { recognisedMp4: false, firstBox: null });
  });
});

void describe('firstBoxType', () => {
  void it('reads bytes 4..8 as the box type', () => {
    assert.equal(firstBoxType(box('ftyp', 'isom')), 'ftyp');
    assert.equal(firstBoxType(box('mdat')), 'mdat');
    assert.equal(firstBoxType(Buffer.from('hello world')), 'o wo');
  });

  void it('is null for fewer than 8 bytes', () => {
    assert.equal(firstBoxType(Buffer.alloc(0)), null);
    assert.equal(firstBoxType(Buffer.from('1234567')), null);
    assert.equal(firstBoxType(box('ftyp').subarray(0, 7)), null);
  });

  void it('is null when the type bytes are not printable ASCII', () => {
    assert.equal(firstBoxType(Buffer.from([0, 0, 0, 8, 0x66, 0x74, 0x79, 0x00])), null);
    assert.equal(firstBoxType(Buffer.from([0, 0, 0, 8, 0xff, 0xfe, 0xfd, 0xfc])), null);
  });
});
