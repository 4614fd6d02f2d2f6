import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { type AppProcess, freePort } from '@vcu/testkit';
import { Harness } from '../harness.js';

const PASSWORD = 'logins-test-dashboard-pw';
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/**
 * A GET from a chosen loopback address: each 127.0.0.x is another client to the dashboard, so a
 * client locked out here does not lock out the rest of the test (which uses 127.0.0.1).
 */
function get(url: string, { from, authorization }: { from: string; authorization?: string }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { localAddress: from, headers: authorization === undefined ? {} : { authorization }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
  });
}

/** Row 6 of the security review: password guessing at full speed, and framing Bull Board. */
void describe('dashboard: failed logins are limited and logged, pages cannot be framed', () => {
  let h: Harness;
  let dashboard: AppProcess;
  let url = '';
  let port = 0;

  before(async () => {
    h = await Harness.create();
    port = await freePort();
    url = `http://127.0.0.1:${port}`;
    dashboard = h.start('dashboard', { DASHBOARD_PORT: String(port), DASHBOARD_PASSWORD: PASSWORD });
    await dashboard.waitFor('dashboard ready');
  });
  after(async () => h.close());

  void it('answers 11+ wrong passwords from one client with 429 and Retry-After, logged once, never the password', async () => {
    const target = `http://127.0.0.2:${port}/queues/api/queues`;
    const first: number[] = [];
    for (let i = 0; i < 10; i += 1) first.push((await get(target, { from: '127.0.0.2', authorization: basic('admin', `wrong-guess-${i}`) })).status);
    assert.deepEqual(first, Array<number>(10).fill(401), 'the first 10 wrong passwords are answered 401');

    // then a burst, as a password-guessing tool sends it
    const burst = await Promise.all(
      Array.from({ length: 200 }, (_, i) => get(target, { from: '127.0.0.2', authorization: basic(i % 2 ? 'root' : 'admin', `burst-guess-${i}`) })),
    );
    assert.ok(burst.every((a) => a.status === 429), `every later attempt is refused: ${[...new Set(burst.map((a) => a.status))].join(',')}`);
    const retryAfter = Number(burst[0]?.headers['retry-after']);
    assert.ok(retryAfter > 0 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    assert.match(burst[0]?.body ?? '', /too many failed logins from your address: try again in \d+ s/);

    const right = await get(target, { from: '127.0.0.2', authorization: basic('admin', PASSWORD) });
    assert.equal(right.status, 429, 'the right password does not get in while locked out (it would tell the guesser it is right)');
    const elsewhere = await get(`${url}/queues/api/queues`, { from: '127.0.0.1', authorization: basic('admin', PASSWORD) });
    assert.equal(elsewhere.status, 200, 'other clients are not locked out');

    const fromThisClient = (l: { readonly [field: string]: unknown }) => l['client'] === '127.0.0.2';
    const failed = dashboard.find(/^dashboard login failed/, fromThisClient);
    const locked = dashboard.events('dashboard.login-throttled', fromThisClient);
    assert.equal(failed.length, 1, 'the first failure is logged, not every attempt');
    assert.equal(locked.length, 1, 'the lock-out is logged once');
    assert.deepEqual([failed[0]?.level, failed[0]?.['client'], failed[0]?.['user']], ['warn', '127.0.0.2', 'admin']);
    assert.deepEqual([locked[0]?.level, locked[0]?.['client'], locked[0]?.['failures']], ['warn', '127.0.0.2', 10]);
    const output = [...dashboard.raw, ...dashboard.lines.map((l) => JSON.stringify(l))].join('\n');
    assert.doesNotMatch(output, /guess|logins-test-dashboard-pw/, 'no password, wrong or right, is logged');
  });

  void it('puts X-Frame-Options: DENY and a CSP with frame-ancestors none on every response', async () => {
    for (let i = 0; i < 10; i += 1) await get(`http://127.0.0.3:${port}/queues`, { from: '127.0.0.3', authorization: basic('admin', 'x') });
    const answers: [string, Answer][] = [
      ['Bull Board page', await get(`${url}/queues`, { from: '127.0.0.1', authorization: basic('admin', PASSWORD) })],
      ['streams page', await get(`${url}/streams`, { from: '127.0.0.1', authorization: basic('admin', PASSWORD) })],
      ['401', await get(`${url}/queues`, { from: '127.0.0.1' })],
      ['404', await get(`${url}/no-such-page`, { from: '127.0.0.1', authorization: basic('admin', PASSWORD) })],
      ['health', await get(`${url}/healthz`, { from: '127.0.0.1' })],
      ['metrics', await get(`${url}/metrics`, { from: '127.0.0.1' })],
      ['429', await get(`http://127.0.0.3:${port}/queues`, { from: '127.0.0.3' })],
    ];
    const forged = await fetch(`${url}/queues/api/queues/chunks/add`, { method: 'POST', headers: { origin: 'https://evil.example', 'content-type': 'text/plain' }, body: 'x' });
    answers.push(['403', { status: forged.status, headers: Object.fromEntries(forged.headers), body: await forged.text() }]);
    assert.deepEqual(answers.map(([label, a]) => [label, a.status]), [
      ['Bull Board page', 200],
      ['streams page', 200],
      ['401', 401],
      ['404', 404],
      ['health', 200],
      ['metrics', 200],
      ['429', 429],
      ['403', 403],
    ]);
    for (const [label, a] of answers) {
      assert.equal(a.headers['x-frame-options'], 'DENY', label);
      assert.match(String(a.headers['content-security-policy']), /(^|; )frame-ancestors 'none'(;|$)/, label);
      assert.equal(a.headers['x-content-type-options'], 'nosniff', label);
    }
  });

  void it("keeps Bull Board's page working under its CSP: every script and style it loads is served by the dashboard itself", async () => {
    const auth = basic('admin', PASSWORD);
    const page = await get(`${url}/queues/`, { from: '127.0.0.1', authorization: auth });
    assert.equal(page.status, 200);
    const csp = String(page.headers['content-security-policy']);
    assert.match(csp, /(^|; )script-src 'self'(;|$)/);
    const base = /<base href="([^"]*)"/.exec(page.body)?.[1] ?? '/queues/';
    const referenced = [...page.body.matchAll(/<(script|link)\b[^>]*?(?:src|href)="([^"]+)"/g)].map((m) => ({ tag: m[1] ?? '', ref: m[2] ?? '' }));
    assert.ok(referenced.filter((r) => r.tag === 'script').length >= 2, page.body);
    // inline scripts would be blocked by script-src 'self': the page has none but its JSON config block
    for (const script of page.body.matchAll(/<script\b([^>]*)>([^<]*)<\/script>/g)) {
      const attributes = script[1] ?? '';
      assert.ok(/\bsrc=/.test(attributes) || /type="application\/json"/.test(attributes), `no inline script: <script${attributes}>`);
    }
    const external = referenced.filter((r) => /^https?:/.test(r.ref)).map((r) => r.ref);
    // Bull Board links a Google Fonts stylesheet; the CSP refuses it on purpose and the system font is used
    assert.deepEqual(external.map((ref) => new URL(ref).host), ['fonts.googleapis.com'], 'nothing else comes from another origin');
    const local = referenced.filter((r) => !/^https?:/.test(r.ref));
    assert.ok(local.length >= 4, JSON.stringify(local));
    for (const { ref } of local) {
      const asset = await get(new URL(ref, new URL(base, url)).href, { from: '127.0.0.1', authorization: auth });
      assert.equal(asset.status, 200, ref);
      assert.equal(asset.headers['x-frame-options'], 'DENY', ref);
    }
  });
});
