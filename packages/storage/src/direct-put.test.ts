import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeKey } from './direct-put.js';

void describe('encodeKey', () => {
  void it('keeps slashes and RFC 3986 unreserved characters', () => {
    assert.equal(encodeKey('v/0123abcd/00001'), 'v/0123abcd/00001');
    assert.equal(encodeKey('a-b_c.d~e/f'), 'a-b_c.d~e/f');
  });

  void it('percent-encodes everything else, including what encodeURIComponent leaves (!\'()*), as SigV4 signs it', () => {
    assert.equal(encodeKey("cams/a b+c!'()*&=.mp4"), 'cams/a%20b%2Bc%21%27%28%29%2A%26%3D.mp4');
    assert.equal(encodeKey('ü/€'), '%C3%BC/%E2%82%AC');
  });

  void it('keeps empty segments (a key with // or a trailing /)', () => {
    assert.equal(encodeKey('a//b/'), 'a//b/');
  });
});
