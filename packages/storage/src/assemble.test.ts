import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assembledKey } from './assemble.js';

void describe('assembledKey', () => {
  const values = { prefix: 'v/', streamId: '0123456789abcdef01234567' };

  void it('fills the template with the file name and path', () => {
    assert.equal(assembledKey('{prefix}{streamId}/{name}', { ...values, path: 'cams/a b.mp4' }), 'v/0123456789abcdef01234567/a b.mp4');
    assert.equal(assembledKey('{prefix}{path}.{streamId}', { ...values, path: 'cams/a.mp4' }), 'v/cams/a.mp4.0123456789abcdef01234567');
  });

  void it('percent-encodes control characters and bytes that are not UTF-8, so the key is valid UTF-8 on one line', () => {
    const raw = 'cams/bad\u0000ff\u0000fe.mp4';
    assert.equal(assembledKey('{prefix}{streamId}/{name}', { ...values, path: raw }), 'v/0123456789abcdef01234567/bad%FF%FE.mp4');
    assert.equal(assembledKey('{prefix}{streamId}/{path}', { ...values, path: 'esc\u001b[31m\nred.mp4' }), 'v/0123456789abcdef01234567/esc%1B[31m%0Ared.mp4');
  });
});
