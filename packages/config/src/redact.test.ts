import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redactText, redactUrl } from './redact.js';

void describe('redactUrl', () => {
  void it('hides the password of the user-info and keeps the user name', () => {
    assert.equal(redactUrl('redis://vcu:hunter2@redis.internal:6379/0'), 'redis://vcu:***@redis.internal:6379/0');
    assert.equal(redactUrl('rediss://:hunter2@h:6380'), 'rediss://:***@h:6380');
    assert.equal(redactUrl('http://AKIA:hunter2@minio:9000'), 'http://AKIA:***@minio:9000/');
  });

  void it('hides the user name too when asked', () => {
    assert.equal(redactUrl('http://AKIA:hunter2@minio:9000', { hideUser: true }), 'http://***:***@minio:9000/');
    assert.equal(redactUrl('http://AKIA@minio:9000', { hideUser: true }), 'http://***@minio:9000/');
    assert.equal(redactUrl('http://minio:9000', { hideUser: true }), 'http://minio:9000');
    assert.equal(redactUrl('http://AKIA:hunter2@bad host', { hideUser: true }), 'http://***:***@bad host');
  });

  void it('hides secret query parameters, whatever their case, and keeps the others', () => {
    assert.equal(redactUrl('redis://h:6379/?password=hunter2'), 'redis://h:6379/?password=***');
    assert.equal(redactUrl('redis://h:6379/?db=2&Password=hunter2&family=6'), 'redis://h:6379/?db=2&Password=***&family=6');
    assert.equal(redactUrl('redis://h/?pass=a&pwd=b&token=c&secret=d&sentinelPassword=e'), 'redis://h/?pass=***&pwd=***&token=***&secret=***&sentinelPassword=***');
    assert.equal(redactUrl('redis://h/?password=a&password=b'), 'redis://h/?password=***');
  });

  void it('leaves a URL without secrets exactly as it was', () => {
    for (const url of ['redis://127.0.0.1:6379', 'redis://user@host:6379', 'http://minio:9000', 'redis://h:6379/?db=2&family=6']) {
      assert.equal(redactUrl(url), url);
    }
  });

  void it('hides the credentials of a URL that does not parse, up to the last @', () => {
    assert.equal(redactUrl('redis://user:hunter2@bad host:6379'), 'redis://user:***@bad host:6379');
    assert.equal(redactUrl('redis://:hunter@2secret@host:badport'), 'redis://:***@host:badport');
    assert.equal(redactUrl('redis://bad host:6379/?password=hunter2'), 'redis://bad host:6379/?password=***');
    assert.equal(redactUrl('not a url'), 'not a url');
  });
});

void describe('redactText', () => {
  void it('redacts every URL in free text and nothing else', () => {
    const text = 'cannot reach redis://u:hunter2@db:6379 (via http://h:1/?token=abc), retrying: ECONNREFUSED 10.0.0.1:6379';
    assert.equal(redactText(text), 'cannot reach redis://u:***@db:6379 (via http://h:1/?token=***), retrying: ECONNREFUSED 10.0.0.1:6379');
    assert.equal(redactText('no url here: password=hunter2 stays only without a URL'), 'no url here: password=hunter2 stays only without a URL');
  });

  void it('handles URLs in quotes and at the end of a sentence', () => {
    assert.equal(redactText('endpoint "http://a:b@host:9000" failed.'), 'endpoint "http://a:***@host:9000/" failed.');
    assert.equal(redactText('failed: redis://:pw@host:6379.'), 'failed: redis://:***@host:6379.');
    assert.equal(redactText("at 'redis://:pw@host:6379'."), "at 'redis://:***@host:6379'.");
  });

  void it('redacts each of several URLs written together, and leaves the text around them', () => {
    assert.equal(redactText(`{"a":"http://h/x","b":"redis://u:pw@h2:6379"}`), `{"a":"http://h/x","b":"redis://u:***@h2:6379"}`);
    assert.equal(redactText(`["http://minio:9000/b",'redis://u:secret@r:6379']`), `["http://minio:9000/b",'redis://u:***@r:6379']`);
    assert.equal(redactText(`{"url":"http://h/?token=abc","n":1}`), `{"url":"http://h/?token=***","n":1}`);
    assert.equal(redactText('http://h/x,redis://u:pw@h2:6379 down'), 'http://h/x,redis://u:***@h2:6379 down');
  });

  void it('hides a password that holds a quote', () => {
    for (const text of [`x redis://u:pa'ss@h:6379`, `x redis://u:pa"ss@h:6379 y`, `{"url":"redis://u:pa'ss@h:6379","n":1}`]) {
      const shown = redactText(text);
      assert.ok(!shown.includes('pa') && !shown.includes('ss@'), shown);
    }
  });
});
