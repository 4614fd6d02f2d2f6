import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeError, prettyLine } from './index.js';

const line = (data: Record<string, unknown>): string =>
  prettyLine({ level: 'info', message: 'stream started', timestamp: '2026-01-02T03:04:05.678Z', app: 'watcher', module: 'streams', ...data });

void describe('readable log lines (LOG_FORMAT=pretty)', () => {
  void it('shows a line as a sentence and its data', () => {
    assert.equal(line({ path: 'a.mp4', size: 3 }), '03:04:05.678 info  [watcher/streams] stream started  path=a.mp4 size=3');
    assert.equal(line({ path: 'cams/a b.mp4' }), '03:04:05.678 info  [watcher/streams] stream started  path="cams/a b.mp4"');
  });

  void it('never passes a control character of a file name to the terminal, and stays one line', () => {
    const shown = line({ path: 'esc\u001b[2J\u001b]0;title\u0007\nfake line\r\u0085.mp4', err: new Error('no such file: bad\u0000ff\u0000fe.mp4'), list: ['x\u007f\u009b'] });
    // eslint-disable-next-line no-control-regex -- looking for control characters is the point
    assert.doesNotMatch(shown, /[\u0000-\u001f\u007f-\u009f]/);
    assert.ok(shown.includes('path="esc\\x1b[2J\\x1b]0;title\\x07\\nfake line\\r\\xc2\\x85.mp4"'), shown);
    assert.ok(shown.includes('err="no such file: bad\\xff\\xfe.mp4"'), shown);
    assert.ok(shown.includes('list=["x\\u007f\\u009b"]'), shown);
  });

  void it('keeps a backslash and a quote from passing for an escape or the end of a value', () => {
    assert.ok(line({ path: 'a\\x1b "q".mp4' }).endsWith('path="a\\\\x1b \\"q\\".mp4"'));
  });
});

void describe('describeError', () => {
  void it('gives message and code, with any URL in it shown without its password', () => {
    const err = Object.assign(new Error('connect failed to redis://app:hunter2@redis:6379'), { code: 'ECONNREFUSED' });
    assert.equal(describeError(err), 'connect failed to redis://app:***@redis:6379 (ECONNREFUSED)');
    assert.equal(describeError('bad http://h/?token=abc'), 'bad http://h/?token=***');
  });
});
