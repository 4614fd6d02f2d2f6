import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MissingValueError, dockerBytes, goDurationMs, interpolate, parseDotenv, requiredVariables } from './compose.js';

// deploy.test.ts trusts these to behave as Docker Compose does; each case is a rule of the
// Compose specification's interpolation section or of compose-go's .env reader.
void describe('compose interpolation, as the deploy tests read docker-compose.yml', () => {
  const env = { SET: 'v', EMPTY: '' };

  void it('keeps an empty value with `-` and replaces it with `:-`', () => {
    assert.equal(interpolate('${EMPTY-d}', env), '');
    assert.equal(interpolate('${EMPTY:-d}', env), 'd');
    assert.equal(interpolate('${UNSET-d}', env), 'd');
    assert.equal(interpolate('${UNSET-}', env), '');
    assert.equal(interpolate('${SET:-d}', env), 'v');
  });

  void it('refuses an unset variable with `?` and an empty one too with `:?`, naming it', () => {
    assert.throws(() => interpolate('${UNSET?say how}', env), (err: unknown) => err instanceof MissingValueError && err.variable === 'UNSET' && err.hint === 'say how');
    assert.equal(interpolate('${EMPTY?x}', env), '');
    assert.throws(() => interpolate('${EMPTY:?x}', env), MissingValueError);
    assert.equal(interpolate('${SET:?x}', env), 'v');
  });

  void it('handles `+`, `$NAME`, `$$`, nested defaults and several variables in one value', () => {
    assert.equal(interpolate('${SET:+yes}${EMPTY:+no}${EMPTY+set}', env), 'yesset');
    assert.equal(interpolate('$SET/$UNSET/$$SET', env), 'v//$SET');
    assert.equal(interpolate('${UNSET:-${SET}x}', env), 'vx');
    assert.equal(interpolate('${A:-127.0.0.1}:${B:-3000}:3000', env), '127.0.0.1:3000:3000');
  });

  void it('lists the required variables of a file', () => {
    assert.deepEqual([...requiredVariables('a: ${A:?x}\nb: ${B?y}\nc: ${C:-z}')], ['A', 'B']);
  });

  void it('reads .env files: comments, export, quotes, inline comments, references, last line wins', () => {
    const parsed = parseDotenv(
      ['# comment', '', 'A=1', 'export B = two words ', "C='${A} $x'", 'D="${A}\\n"', 'E=${A}2 # note', 'F=#kept', 'A=3', 'G='].join('\n'),
    );
    assert.deepEqual(parsed, { A: '3', B: 'two words', C: '${A} $x', D: '1\n', E: '12', F: '#kept', G: '' });
  });

  void it('reads Go durations and Docker memory sizes', () => {
    assert.equal(goDurationMs('40s'), 40_000);
    assert.equal(goDurationMs('1m30s'), 90_000);
    assert.equal(goDurationMs('30000ms10s'), 40_000);
    assert.throws(() => goDurationMs('30000'));
    assert.equal(dockerBytes('300m'), 300 * 1024 ** 2);
    assert.equal(dockerBytes('1g'), 1024 ** 3);
    assert.equal(dockerBytes('512MB'), 512 * 1024 ** 2);
    assert.throws(() => dockerBytes('lots'));
  });
});
