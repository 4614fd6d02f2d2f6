import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { type AppProcess, freePort, RedisServer } from '@vcu/testkit';
import { Harness, randomBytes, sleep } from '../harness.js';
import { assertReassembles } from '../faults-util.js';

const RIGHT = 'right-redis-pw-Vt3secret';
const WRONG = 'wrong-redis-pw-Hs8secret';
const REFUSED = /^Redis refused the password: the password or ACL user name in REDIS_URL is wrong/;

/** AUTH commands the server refused so far (INFO commandstats). */
async function authFailures(admin: Redis): Promise<number> {
  const info = await admin.info('commandstats');
  return Number(/^cmdstat_auth:.*\bfailed_calls=(\d+)/m.exec(info)?.[1] ?? 0);
}

/**
 * Row 8 of the security review: a wrong Redis password was logged as "Redis unreachable". Every
 * app now says what it is, at error level, once a minute at most while it retries, and carries on
 * by itself once the password is right.
 */
void describe('a wrong Redis password is reported as such', () => {
  let redis: RedisServer;
  let admin: Redis;
  let h: Harness;

  before(async () => {
    redis = await RedisServer.start({ persistent: false, password: RIGHT });
    admin = new Redis({ port: redis.port, host: '127.0.0.1', password: RIGHT, lazyConnect: true, maxRetriesPerRequest: 1 });
    admin.on('error', () => undefined);
    h = await Harness.create({ redisUrl: `redis://:${WRONG}@127.0.0.1:${redis.port}` });
  });
  after(async () => {
    admin.disconnect();
    await h.close();
    await redis.destroy();
  });

  void it('by the watcher, the worker and the dashboard: at error level, naming the connection, once while it retries, without the password; then they carry on when it is fixed', async () => {
    const before = await authFailures(admin);
    const watcherMetrics = await freePort();
    const worker = h.start('worker');
    const watcher = h.start('watcher', { METRICS_PORT: String(watcherMetrics) });
    const dashboard = h.start('dashboard', { DASHBOARD_PORT: String(await freePort()), DASHBOARD_PASSWORD: 'pw' });
    const apps: AppProcess[] = [worker, watcher, dashboard];
    const first = await Promise.all(apps.map((app) => app.waitFor(REFUSED, 20_000)));
    for (const [i, line] of first.entries()) {
      const app = apps[i];
      assert.equal(line.level, 'error', `${app?.name}: at error level`);
      assert.equal(line['connection'], `vcu-${app?.name}`, 'names the connection');
      assert.equal(line['code'], 'WRONGPASS');
    }
    // retries go on (several AUTH attempts per app), the line is not repeated
    await sleep(12_000);
    const attempts = (await authFailures(admin)) - before;
    assert.ok(attempts >= 3 * 5, `the apps kept retrying: ${attempts} refused AUTH attempts`);
    for (const app of apps) {
      assert.equal(app.find(REFUSED).length, 1, `${app.name} said it once, not on each of its retries`);
      assert.equal(app.find(/unreachable|connection lost/i).length, 0, `${app.name} does not call it an outage`);
      assert.ok(app.running, `${app.name} keeps running`);
    }
    const health = await fetch(`http://127.0.0.1:${watcherMetrics}/healthz`);
    assert.deepEqual([health.status, await health.json()], [503, { ok: false, redis: 'down', s3: 'not checked', files: 'up' }]);

    // an operator fixes the password on the server side: no restart needed
    await admin.config('SET', 'requirepass', WRONG);
    await Promise.all(apps.map((app) => app.waitFor('connected to Redis', 20_000)));
    await worker.waitFor('worker ready', 20_000);
    await watcher.waitFor('watching', 20_000);
    const data = randomBytes(2 * 64 * 1024 + 5);
    await h.write('after-the-fix.mp4', data);
    const metadata = await h.waitForMetadata('after-the-fix.mp4', data);
    await assertReassembles(h, metadata, data, 'after-the-fix.mp4');

    const output = apps.flatMap((a) => [...a.raw, ...a.lines.map((l) => JSON.stringify(l))]);
    for (const secret of [RIGHT, WRONG]) assert.deepEqual(output.filter((line) => line.includes(secret)), [], 'no password in any line');
  });

  void it('without a password in REDIS_URL: NOAUTH, said as such', async () => {
    const worker = h.start('worker', { REDIS_URL: `redis://127.0.0.1:${redis.port}`, METRICS_PORT: '0' });
    const line = await worker.waitFor(/^Redis requires a password and REDIS_URL has none/, 20_000);
    assert.deepEqual([line.level, line['connection'], line['code']], ['error', 'vcu-worker', 'NOAUTH']);
    await worker.stop();
  });
});
