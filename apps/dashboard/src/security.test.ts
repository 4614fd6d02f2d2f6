import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CONTENT_SECURITY_POLICY, forgeryRefusal } from './security.js';

const HOST = 'dash.example:3000';
const req = (method: string, headers: Record<string, string> = {}) => ({ method, headers: { host: HOST, ...headers } });
const json = { 'content-type': 'application/json', 'content-length': '2' };

void describe('forgeryRefusal', () => {
  void it('lets every GET, HEAD and OPTIONS through, whatever their origin', () => {
    for (const method of ['GET', 'HEAD', 'OPTIONS']) {
      assert.equal(forgeryRefusal(req(method, { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' })), undefined);
    }
  });

  void it('refuses what another site can make a browser send: forms and text/plain, with cached credentials', () => {
    const cases: Record<string, string>[] = [
      { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example', 'content-type': 'text/plain', 'content-length': '5' },
      { 'sec-fetch-site': 'same-site', origin: 'https://other.dash.example', 'content-type': 'application/x-www-form-urlencoded', 'content-length': '5' },
      { origin: 'https://evil.example', 'content-type': 'multipart/form-data; boundary=x', 'content-length': '5' }, // a browser without Sec-Fetch-*
      { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' }, // no body at all
      { origin: 'null', ...json }, // a sandboxed frame
      { origin: 'http://dash.example:3001', ...json }, // another port is another origin
    ];
    for (const headers of cases) {
      assert.match(forgeryRefusal(req('POST', headers)) ?? '', /came from another site/, JSON.stringify(headers));
      assert.match(forgeryRefusal(req('PUT', headers)) ?? '', /came from another site/);
    }
  });

  void it('lets same-origin JSON through, and a body-less change such as Bull Board\'s retry', () => {
    assert.equal(forgeryRefusal(req('POST', { 'sec-fetch-site': 'same-origin', origin: 'http://dash.example:3000', ...json })), undefined);
    assert.equal(forgeryRefusal(req('POST', { 'sec-fetch-site': 'same-origin', 'content-type': 'Application/JSON; charset=utf-8', 'content-length': '2' })), undefined);
    assert.equal(forgeryRefusal(req('PUT', { 'sec-fetch-site': 'same-origin', 'content-length': '0' })), undefined);
    assert.equal(forgeryRefusal(req('DELETE', { origin: 'http://dash.example:3000' })), undefined);
    assert.equal(forgeryRefusal(req('PATCH', { 'sec-fetch-site': 'none', ...json })), undefined);
  });

  void it('trusts Sec-Fetch-Site over a Host header a reverse proxy rewrote', () => {
    assert.equal(forgeryRefusal(req('POST', { 'sec-fetch-site': 'same-origin', origin: 'https://vcu.example.org', ...json })), undefined);
  });

  void it('compares the origin with the Host header by scheme default ports', () => {
    assert.equal(forgeryRefusal({ method: 'POST', headers: { host: 'vcu.example.org', origin: 'https://vcu.example.org', ...json } }), undefined);
    assert.equal(forgeryRefusal({ method: 'POST', headers: { host: 'vcu.example.org:443', origin: 'https://vcu.example.org', ...json } }), undefined);
    assert.match(forgeryRefusal({ method: 'POST', headers: { origin: 'https://vcu.example.org', ...json } }) ?? '', /another site/);
  });

  void it('accepts a change from a client that is not a browser (no Origin, no Sec-Fetch-Site) only as JSON', () => {
    assert.equal(forgeryRefusal(req('POST', json)), undefined);
    assert.match(forgeryRefusal(req('POST', { 'content-type': 'text/plain', 'content-length': '5' })) ?? '', /must send JSON/);
  });

  void it('refuses a same-origin change that is not JSON, or a body without a type', () => {
    const site = { 'sec-fetch-site': 'same-origin' };
    assert.match(forgeryRefusal(req('POST', { ...site, 'content-type': 'text/plain', 'content-length': '5' })) ?? '', /must send JSON/);
    assert.match(forgeryRefusal(req('POST', { ...site, 'content-type': 'text/plain' })) ?? '', /must send JSON/);
    assert.match(forgeryRefusal(req('POST', { ...site, 'content-length': '5' })) ?? '', /must send JSON/);
    assert.match(forgeryRefusal(req('POST', { ...site, 'transfer-encoding': 'chunked' })) ?? '', /must send JSON/);
    assert.match(forgeryRefusal(req('POST', { ...site, 'content-type': 'application/json-seq', 'content-length': '5' })) ?? '', /must send JSON/);
  });
});

void describe('CONTENT_SECURITY_POLICY', () => {
  void it('forbids framing, plugins, inline scripts and other origins', () => {
    const directives = new Map(CONTENT_SECURITY_POLICY.split(';').map((d) => {
      const [name = '', ...values] = d.trim().split(/\s+/);
      return [name, values.join(' ')];
    }));
    assert.equal(directives.get('frame-ancestors'), "'none'");
    assert.equal(directives.get('object-src'), "'none'");
    assert.equal(directives.get('script-src'), "'self'");
    assert.equal(directives.get('default-src'), "'self'");
    assert.doesNotMatch(CONTENT_SECURITY_POLICY, /unsafe-eval|https?:|\*/);
  });
});
