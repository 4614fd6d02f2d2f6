import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { isRawName, keyPart, lossyName, nameFromBytes, nameToBytes, printable, printableJson } from './names.js';

const bytes = (...parts: (string | number[])[]): Buffer => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))));

/** Characters that must never be printed or put in a key as they are. */
// eslint-disable-next-line no-control-regex -- looking for control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e]/;

/** Every escape of a name: NUL and two hex digits per byte that is not UTF-8. */
const esc = (...values: number[]): string => values.map((b) => `\u0000${b.toString(16).padStart(2, '0')}`).join('');

/** Asserts `raw` reads as `name` and `name` gives `raw` back. */
function roundTrip(raw: Buffer, name: string): void {
  assert.equal(nameFromBytes(raw), name, `decode ${raw.toString('hex')}`);
  assert.ok(nameToBytes(name).equals(raw), `encode ${JSON.stringify(name)}`);
}

void describe('file names that are not UTF-8', () => {
  void it('leaves valid UTF-8 names as they are', () => {
    for (const name of ['a.mp4', 'cams/2026-01-01 12:00.mp4', 'é/ü.MP4', '映像.mp4', '🎥 clip.mp4', 'ok\uFFFD.mp4', 'esc\u001b[31m\nred.mp4', '\u{10FFFF}', '\uD7FF\uE000']) {
      roundTrip(Buffer.from(name, 'utf8'), name);
      assert.equal(isRawName(name), false, name);
      assert.equal(lossyName(name), name);
    }
  });

  void it('escapes lone continuation bytes and bytes that never start a sequence', () => {
    roundTrip(bytes('a', [0x80], 'b'), `a${esc(0x80)}b`);
    roundTrip(bytes([0xbf, 0xbf]), esc(0xbf, 0xbf));
    roundTrip(bytes('bad', [0xff, 0xfe], '.mp4'), `bad${esc(0xff, 0xfe)}.mp4`);
    roundTrip(bytes([0xf5, 0x80, 0x80, 0x80]), esc(0xf5, 0x80, 0x80, 0x80));
    // a valid sequence right after an escaped byte is kept
    roundTrip(bytes([0x80], 'é'), `${esc(0x80)}é`);
  });

  void it('escapes overlong forms byte by byte', () => {
    roundTrip(bytes([0xc0, 0xaf]), esc(0xc0, 0xaf)); // '/' in two bytes
    roundTrip(bytes([0xc1, 0xbf]), esc(0xc1, 0xbf));
    roundTrip(bytes([0xe0, 0x80, 0xaf]), esc(0xe0, 0x80, 0xaf));
    roundTrip(bytes([0xe0, 0x9f, 0xbf]), esc(0xe0, 0x9f, 0xbf));
    roundTrip(bytes([0xf0, 0x80, 0x80, 0xaf]), esc(0xf0, 0x80, 0x80, 0xaf));
    roundTrip(bytes([0xf0, 0x8f, 0xbf, 0xbf]), esc(0xf0, 0x8f, 0xbf, 0xbf));
    // the smallest forms that are not overlong are valid
    roundTrip(bytes([0xc2, 0x80]), '\u0080');
    roundTrip(bytes([0xe0, 0xa0, 0x80]), '\u0800');
    roundTrip(bytes([0xf0, 0x90, 0x80, 0x80]), '\u{10000}');
  });

  void it('escapes surrogates encoded in UTF-8 (CESU-8, WTF-8)', () => {
    roundTrip(bytes([0xed, 0xa0, 0x80]), esc(0xed, 0xa0, 0x80)); // U+D800
    roundTrip(bytes([0xed, 0xbf, 0xbf]), esc(0xed, 0xbf, 0xbf)); // U+DFFF
    roundTrip(bytes([0xed, 0xa0, 0xbd, 0xed, 0xb2, 0xa9]), esc(0xed, 0xa0, 0xbd, 0xed, 0xb2, 0xa9)); // a pair, CESU-8
    roundTrip(bytes([0xed, 0x9f, 0xbf]), '\uD7FF');
  });

  void it('escapes code points above U+10FFFF', () => {
    roundTrip(bytes([0xf4, 0x90, 0x80, 0x80]), esc(0xf4, 0x90, 0x80, 0x80));
    roundTrip(bytes([0xf7, 0xbf, 0xbf, 0xbf]), esc(0xf7, 0xbf, 0xbf, 0xbf));
    roundTrip(bytes([0xf4, 0x8f, 0xbf, 0xbf]), '\u{10FFFF}');
  });

  void it('escapes sequences cut short, at the end and in the middle', () => {
    roundTrip(bytes('a', [0xc3]), `a${esc(0xc3)}`);
    roundTrip(bytes('a', [0xe2, 0x82]), `a${esc(0xe2, 0x82)}`);
    roundTrip(bytes('a', [0xf0, 0x9f, 0x8e]), `a${esc(0xf0, 0x9f, 0x8e)}`);
    roundTrip(bytes([0xe2, 0x82], 'A'), `${esc(0xe2, 0x82)}A`);
    roundTrip(bytes([0xf0, 0x9f], '🎥'), `${esc(0xf0, 0x9f)}🎥`);
  });

  void it('escapes NUL too, so that every byte string has exactly one name', () => {
    roundTrip(bytes('a', [0x00], 'b'), `a${esc(0x00)}b`);
  });

  void it('round-trips any bytes, into a string that UTF-8, JSON and a Redis client keep as it is', () => {
    const pool = [0x00, 0x2f, 0x41, 0x7f, 0x80, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff];
    for (let n = 0; n < 3000; n++) {
      const random = randomBytes(1 + (n % 24));
      // half the cases drawn from the bytes that matter, to meet every boundary often
      const raw = n % 2 === 0 ? random : Buffer.from([...random].map((b) => pool[b % pool.length] ?? 0));
      const name = nameFromBytes(raw);
      assert.ok(nameToBytes(name).equals(raw), raw.toString('hex'));
      assert.equal(Buffer.from(name, 'utf8').toString('utf8'), name, 'survives UTF-8 (no lone surrogates)');
      assert.equal((JSON.parse(JSON.stringify({ name })) as { name: string }).name, name);
      assert.equal(nameFromBytes(nameToBytes(name)), name);
      assert.equal(isRawName(name), !isUtf8(raw) || raw.includes(0));
      assert.equal(lossyName(name), raw.toString('utf8'), 'the lossy form is what Node decodes');
    }
  });

  void it('refuses strings that are no name', () => {
    assert.throws(() => nameToBytes('a\u0000zz'), RangeError);
    assert.throws(() => nameToBytes('a\u0000FF'), RangeError, 'lowercase only: one form per byte');
    assert.throws(() => nameToBytes('a\u0000f'), RangeError);
    assert.throws(() => nameToBytes('a\uD800b'), RangeError);
  });

  void it('gives the lossy form Node, chokidar and the command line decode to', () => {
    assert.equal(lossyName(`bad${esc(0xff, 0xfe)}.mp4`), 'bad\uFFFD\uFFFD.mp4');
    assert.equal(lossyName(`a${esc(0xe2, 0x82)}`), 'a\uFFFD');
  });
});

void describe('printable', () => {
  void it('shows control characters, backslashes and bytes that are not UTF-8 escaped, on one line', () => {
    assert.equal(printable('esc\u001b[31mred\nline.mp4'), 'esc\\x1b[31mred\\nline.mp4');
    assert.equal(printable(`bad${esc(0xff, 0xfe)}.mp4`), 'bad\\xff\\xfe.mp4');
    assert.equal(printable('a\\xff.mp4'), 'a\\\\xff.mp4', 'a real backslash cannot pass for an escape');
    assert.equal(printable('tab\there\rcr\u0007bell\u007fdel'), 'tab\\there\\rcr\\x07bell\\x7fdel');
    assert.equal(printable('c1\u0085\u009b'), 'c1\\xc2\\x85\\xc2\\x9b');
    assert.equal(printable('ls\u2028ps\u2029'), 'ls\\xe2\\x80\\xa8ps\\xe2\\x80\\xa9');
    assert.equal(printable('evil\u202egpj.mp4'), 'evil\\xe2\\x80\\xaegpj.mp4');
    assert.equal(printable('a\u0000'), 'a\\x00');
  });

  void it('leaves ordinary text alone', () => {
    for (const text of ['a.mp4', 'cams/é 映像 🎥.mp4', 'ok\uFFFD', '']) assert.equal(printable(text), text);
  });

  void it('printableJson escapes what JSON leaves raw, and stays JSON', () => {
    const value = { path: 'a\u001b\n\u0085\u007f\u202e.mp4', n: 1 };
    const json = printableJson(value);
    assert.equal(json, '{"path":"a\\u001b\\n\\u0085\\u007f\\u202e.mp4","n":1}');
    assert.deepEqual(JSON.parse(json), value);
  });

  void it('never lets a control character through', () => {
    for (let n = 0; n < 2000; n++) {
      const shown = printable(nameFromBytes(randomBytes(1 + (n % 32))));
      assert.doesNotMatch(shown, UNSAFE);
    }
  });
});

void describe('keyPart', () => {
  void it('percent-encodes control characters and bytes that are not UTF-8, and nothing else', () => {
    assert.equal(keyPart(`cams/bad${esc(0xff, 0xfe)}.mp4`), 'cams/bad%FF%FE.mp4');
    assert.equal(keyPart('esc\u001b[31m\nred.mp4'), 'esc%1B[31m%0Ared.mp4');
    assert.equal(keyPart('c1\u0085 del\u007f'), 'c1%C2%85 del%7F');
    assert.equal(keyPart('a b\\c%41 é 映像.mp4'), 'a b\\c%41 é 映像.mp4');
  });

  void it('always gives valid UTF-8 without control characters', () => {
    for (let n = 0; n < 1000; n++) {
      const key = keyPart(nameFromBytes(randomBytes(1 + (n % 32))));
      assert.equal(Buffer.from(key, 'utf8').toString('utf8'), key);
      assert.doesNotMatch(key, UNSAFE);
    }
  });
});
