import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type AppProcess, freePort } from '@vcu/testkit';
import { Harness } from '../harness.js';

const PASSWORD = 'forgery-test-dashboard-pw';
const credentials = { authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}` };
const EVIL = 'https://evil.example';

/**
 * Row 5 of the security review: a page on another site makes the browser of a dashboard user,
 * who has Basic credentials cached, send changes to Bull Board's API. Each request here is what
 * such a browser sends (its Origin and Sec-Fetch-Site headers, the credentials it attaches).
 */
void describe('a request forged by another site cannot change anything on the dashboard', () => {
  let h: Harness;
  let dashboard: AppProcess;
  let url = '';
  const addJob = () => `${url}/queues/api/queues/chunks/add`;
  const jobs = async () => {
    const counts = await h.jobCounts('chunks');
    return Object.values(counts).reduce((sum, n) => sum + n, 0);
  };

  before(async () => {
    h = await Harness.create();
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    dashboard = h.start('dashboard', { DASHBOARD_PORT: String(port), DASHBOARD_PASSWORD: PASSWORD });
    await dashboard.waitFor('dashboard ready');
  });
  after(async () => h.close());

  void it('refuses a cross-site text/plain or form POST to add a job with 403 and a clear reason; no job is created', async () => {
    const forged: { label: string; headers: Record<string, string>; body?: string }[] = [
      // <form enctype="text/plain"> or fetch(…, { mode: 'no-cors', credentials: 'include' }) from a current browser
      { label: 'text/plain', headers: { origin: EVIL, 'sec-fetch-site': 'cross-site', 'content-type': 'text/plain' }, body: '{"name":"x","data":{}}' },
      { label: 'form', headers: { origin: EVIL, 'sec-fetch-site': 'cross-site', 'content-type': 'application/x-www-form-urlencoded' }, body: 'name=x' },
      { label: 'multipart', headers: { origin: EVIL, 'sec-fetch-site': 'same-site', 'content-type': 'multipart/form-data; boundary=b' }, body: '--b--' },
      // an older browser that sends Origin but no Sec-Fetch-Site
      { label: 'form, no Sec-Fetch-Site', headers: { origin: EVIL, 'content-type': 'application/x-www-form-urlencoded' }, body: 'name=x' },
      // a POST without a body from a no-cors fetch
      { label: 'no body', headers: { origin: EVIL, 'sec-fetch-site': 'cross-site' } },
      // a sandboxed iframe
      { label: 'Origin: null', headers: { origin: 'null', 'content-type': 'text/plain' }, body: 'x' },
    ];
    for (const { label, headers, body } of forged) {
      const res = await fetch(addJob(), { method: 'POST', headers: { ...credentials, ...headers }, body });
      assert.equal(res.status, 403, label);
      assert.match(await res.text(), /must come from the dashboard's own pages, and this one came from another site/, label);
      assert.equal(res.headers.get('x-frame-options'), 'DENY');
    }
    assert.equal(await jobs(), 0, 'no job was created');
    // and the other changing routes of Bull Board the same way: retry, clean, pause
    for (const route of ['/queues/api/queues/chunks/retry/failed', '/queues/api/queues/chunks/clean/completed', '/queues/api/queues/pause']) {
      const res = await fetch(`${url}${route}`, { method: 'PUT', headers: { ...credentials, origin: EVIL, 'sec-fetch-site': 'cross-site' } });
      assert.equal(res.status, 403, route);
    }
    const queues = (await (await fetch(`${url}/queues/api/queues`, { headers: credentials })).json()) as { queues: { name: string; isPaused: boolean }[] };
    assert.ok(queues.queues.every((q) => !q.isPaused), 'no queue was paused');
    assert.equal(dashboard.find(/^dashboard refused a request that may be forged by another site$/).length, 1, 'logged once a minute, not per request');
  });

  void it('refuses a same-origin change that is not JSON', async () => {
    const res = await fetch(addJob(), {
      method: 'POST',
      headers: { ...credentials, origin: url, 'sec-fetch-site': 'same-origin', 'content-type': 'text/plain' },
      body: '{"name":"x","data":{}}',
    });
    assert.equal(res.status, 403);
    assert.match(await res.text(), /must send JSON \(Content-Type: application\/json\)/);
    assert.equal(await jobs(), 0);
  });

  void it("lets Bull Board's own buttons work: same-origin JSON with credentials, and body-less PUTs", async () => {
    const sameOrigin = { ...credentials, origin: url, 'sec-fetch-site': 'same-origin' };
    const added = await fetch(addJob(), {
      method: 'POST',
      headers: { ...sameOrigin, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'from-the-board', data: { note: 'added by hand' }, options: {} }),
    });
    assert.equal(added.status, 200, await added.clone().text());
    assert.equal(await jobs(), 1, 'the job was created');
    // Bull Board sends pause and resume as PUT without a body or a content type
    for (const action of ['pause', 'resume']) {
      const res = await fetch(`${url}/queues/api/queues/chunks/${action}`, { method: 'PUT', headers: sameOrigin });
      assert.equal(res.status, 200, action);
    }
    // a client that is not a browser (curl, a script) sends neither header: it cannot be forged by a site
    const scripted = await fetch(`${url}/queues/api/queues/chunks/clean/completed`, { method: 'PUT', headers: credentials });
    assert.equal(scripted.status, 200);
  });

  void it('refuses a forged request before authentication: 403, not counted as a failed login', async () => {
    const res = await fetch(addJob(), { method: 'POST', headers: { origin: EVIL, 'content-type': 'text/plain' }, body: 'x' });
    assert.equal(res.status, 403);
    assert.equal(dashboard.find(/^dashboard login failed/).length, 0, 'a forged request is not a login attempt');
  });
});
