import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { createAuth } from './auth.js';
import { LoginLimiter } from './login-limiter.js';

const basic = (text: string) => ({ authorization: `Basic ${Buffer.from(text).toString('base64')}` });

void describe('createAuth', () => {
  const lines: { message: string; meta: Record<string, unknown> }[] = [];
  const logger = { log: (_level: string, message: string, meta: Record<string, unknown>) => lines.push({ message, meta }) };
  let url = '';
  let close: () => void = () => undefined;
  before(async () => {
    const app = express();
    app.use(createAuth({ user: 'admin', password: 'right-password', logger, limiter: new LoginLimiter({ maxFailures: 3, windowMs: 60_000 }) }).middleware);
    app.get('/', (_req, res) => res.send('in\n'));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    close = () => server.close();
  });
  after(() => close());

  void it('asks without counting, lets the right password in, and refuses a client after too many wrong ones', async () => {
    assert.equal((await fetch(url)).status, 401);
    assert.equal((await fetch(url, { headers: basic('admin:right-password') })).status, 200);
    const statuses: number[] = [];
    for (const tried of ['admin:guess-1', 'root:guess-2', 'admin:guess-3', 'admin:guess-4', 'no-colon-secret']) {
      statuses.push((await fetch(url, { headers: basic(tried) })).status);
    }
    assert.deepEqual(statuses, [401, 401, 401, 429, 429]);
    const locked = await fetch(url, { headers: basic('admin:right-password') });
    assert.equal(locked.status, 429, 'the right password does not help while locked out: it would tell a guesser it is right');
    const retryAfter = Number(locked.headers.get('retry-after'));
    assert.ok(retryAfter > 0 && retryAfter <= 60, String(retryAfter));
    assert.match(await locked.text(), /too many failed logins/);

    assert.deepEqual(
      lines.map((l) => l.meta['event']),
      ['dashboard.login-failed', 'dashboard.login-throttled'],
    );
    assert.equal(lines[1]?.meta['refusedForS'], 60);
    assert.deepEqual([lines[0]?.meta['client'], lines[0]?.meta['user']], ['127.0.0.1', 'admin']);
    assert.deepEqual(lines[1]?.meta['users'], ['admin', 'root']);
    const all = JSON.stringify(lines);
    for (const secret of ['guess', 'right-password', 'no-colon-secret']) assert.ok(!all.includes(secret), all);
  });
});
