import { isUtf8 } from 'node:buffer';

/**
 * File names as vcu holds them. Linux names are bytes, not text, and a name need not be valid
 * UTF-8; but a path travels through Redis (ioredis writes strings as UTF-8), JSON and job
 * payloads as a JS string. So a name is held in one lossless, unambiguous string form:
 *
 * - a name that is valid UTF-8 is its own string, unchanged (nearly every name);
 * - each byte that is not part of a valid UTF-8 sequence is written as U+0000 followed by two
 *   lowercase hex digits (`bad\xff.mp4` is `'bad\u0000ff.mp4'`). NUL never occurs in a Linux
 *   file name, so this cannot be mistaken for anything else, and the string is valid Unicode
 *   (no lone surrogates) that survives UTF-8, JSON and Redis as it is.
 *
 * Only file system calls need the raw bytes ({@link nameToBytes}); people see {@link printable};
 * metadata.json's readable `source.path` is {@link lossyName}.
 */
const ESCAPE = '\u0000';

/** Whether `bytes[i]` lies in [lo, hi]. */
function within(bytes: Uint8Array, i: number, lo: number, hi: number): boolean {
  const b = bytes[i];
  return b !== undefined && b >= lo && b <= hi;
}

/**
 * Length of the well-formed UTF-8 sequence starting at `i` (Unicode Table 3-7), or 0 when the
 * byte there starts none: a lone continuation byte, an overlong form, a surrogate, a code point
 * above U+10FFFF, a sequence cut short. NUL counts as not well-formed here: it is escaped too.
 */
function sequenceLength(bytes: Uint8Array, i: number): number {
  const b = bytes[i] ?? 0;
  if (b >= 0x01 && b <= 0x7f) return 1;
  const tail = (from: number, n: number): boolean => {
    for (let k = from; k < from + n; k++) if (!within(bytes, k, 0x80, 0xbf)) return false;
    return true;
  };
  if (b >= 0xc2 && b <= 0xdf) return tail(i + 1, 1) ? 2 : 0;
  // second byte ranges that rule out overlongs (E0, F0), surrogates (ED) and > U+10FFFF (F4)
  const second: Record<number, readonly [number, number]> = { 0xe0: [0xa0, 0xbf], 0xed: [0x80, 0x9f], 0xf0: [0x90, 0xbf], 0xf4: [0x80, 0x8f] };
  const [lo, hi] = second[b] ?? [0x80, 0xbf];
  if (b >= 0xe0 && b <= 0xef) return within(bytes, i + 1, lo, hi) && tail(i + 2, 1) ? 3 : 0;
  if (b >= 0xf0 && b <= 0xf4) return within(bytes, i + 1, lo, hi) && tail(i + 2, 2) ? 4 : 0;
  return 0;
}

/** In a `u` regular expression a pair is one code point, so this finds only halves of pairs. */
const LONE_SURROGATE = /\p{Cs}/u;

const hex2 = (byte: number): string => byte.toString(16).padStart(2, '0');

/** The name (or `/`-separated path) these raw bytes spell, in vcu's string form. Lossless. */
export function nameFromBytes(bytes: Uint8Array): string {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (isUtf8(buffer) && !buffer.includes(0)) return buffer.toString('utf8');
  let out = '';
  let start = 0;
  let i = 0;
  while (i < buffer.length) {
    const n = sequenceLength(buffer, i);
    if (n > 0) {
      i += n;
      continue;
    }
    out += `${buffer.toString('utf8', start, i)}${ESCAPE}${hex2(buffer[i] ?? 0)}`;
    i += 1;
    start = i;
  }
  return out + buffer.toString('utf8', start);
}

/**
 * The raw bytes of a name in vcu's string form: what the file system is given. Throws a
 * RangeError for a string that is no such form (a NUL not followed by two lowercase hex
 * digits, or a lone surrogate, which no name decodes to).
 */
export function nameToBytes(name: string): Buffer {
  if (LONE_SURROGATE.test(name)) throw new RangeError(`not a file name: ${JSON.stringify(name)} holds a lone surrogate`);
  if (!name.includes(ESCAPE)) return Buffer.from(name, 'utf8');
  const parts: Buffer[] = [];
  let start = 0;
  for (let at = name.indexOf(ESCAPE); at >= 0; at = name.indexOf(ESCAPE, start)) {
    const hex = name.slice(at + 1, at + 3);
    if (!/^[0-9a-f]{2}$/.test(hex)) throw new RangeError(`not a file name: ${JSON.stringify(name)} has a NUL not followed by two lowercase hex digits`);
    parts.push(Buffer.from(name.slice(start, at), 'utf8'), Buffer.from([Number.parseInt(hex, 16)]));
    start = at + 3;
  }
  parts.push(Buffer.from(name.slice(start), 'utf8'));
  return Buffer.concat(parts);
}

/** True when the name's bytes are not valid UTF-8 (file system calls then need its bytes). */
export function isRawName(name: string): boolean {
  return name.includes(ESCAPE);
}

/**
 * The name as readable text, losing what is not UTF-8: each invalid sequence becomes U+FFFD, as
 * Node (and chokidar, and the command line) decode it. metadata.json's `source.path`.
 */
export function lossyName(name: string): string {
  return isRawName(name) ? nameToBytes(name).toString('utf8') : name;
}

/**
 * Characters that must not reach a terminal, a log line or an object key as they are: C0
 * controls (newline, ESC…), DEL, C1 controls, the Unicode line and paragraph separators, and the
 * bidirectional controls that can make a name read as another (U+061C, U+200E/F, U+202A-E,
 * U+2066-9). Each pattern also matches a byte of a name that is not UTF-8 (group 1: its hex).
 */
const UNSAFE_CLASS = '\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u2028-\\u202e\\u2066-\\u2069';
const UNSAFE = new RegExp(`\\u0000([0-9a-f]{2})|[${UNSAFE_CLASS}]`, 'g');
const UNSAFE_OR_BACKSLASH = new RegExp(`\\u0000([0-9a-f]{2})|[\\\\${UNSAFE_CLASS}]`, 'g');
const SHORT: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** The UTF-8 bytes of `text`, each written by `write`. */
const eachByte = (text: string, write: (hex: string) => string): string => [...Buffer.from(text, 'utf8')].map((b) => write(hex2(b))).join('');

/**
 * Text (a name in vcu's string form, or any text holding one) safe to print on one line: a
 * backslash doubled, newline, CR and tab as `\n` `\r` `\t`, every other unsafe character as
 * `\xNN` for each of its UTF-8 bytes (ESC is `\x1b`, U+0085 `\xc2\x85`), and each byte of a name
 * that is not UTF-8 as `\xNN`. Every `\xNN` shown is thus one byte of the name.
 */
export function printable(text: string): string {
  return text.replace(UNSAFE_OR_BACKSLASH, (match: string, byte: string | undefined) => {
    if (byte !== undefined) return `\\x${byte}`;
    return SHORT[match] ?? eachByte(match, (hex) => `\\x${hex}`);
  });
}

/**
 * A name as part of an S3 object key (ASSEMBLE_KEY's `{name}` and `{path}`): valid UTF-8, each
 * unsafe character percent-encoded by its UTF-8 bytes (`%1B`, `%0A`) and each byte that is not
 * UTF-8 by itself (`%FF`); everything else, `%` included, as it is.
 */
export function keyPart(name: string): string {
  return name.replace(UNSAFE, (match: string, byte: string | undefined) => {
    if (byte !== undefined) return `%${byte.toUpperCase()}`;
    return eachByte(match, (hex) => `%${hex.toUpperCase()}`);
  });
}

/**
 * JSON text of `value` that is safe to print: JSON escapes C0 controls itself; each other unsafe
 * character (DEL, C1, separators, bidirectional controls) is escaped as `\uXXXX`. Still JSON.
 */
export function printableJson(value: unknown): string {
  const json = JSON.stringify(value) ?? String(value);
  return json.replace(UNSAFE, (match: string) => [...match].map((c) => `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`).join(''));
}
