import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Harness, randomBytes, sleep } from '../harness.js';
import { TcpProxy } from '../outage.js';
import { RedisServer, freePort } from '@vcu/testkit';
import { assertReassembles } from '../faults-util.js';

const REDIS_PASSWORD = 'redis-pw-Xq7!secret';
const DASHBOARD_PASSWORD = 'dashboard-pw-Zr4secret';
const ENDPOINT_PASSWORD = 'endpoint-pw-Kd9secret';

/**
 * Row 7 of the security review: secrets in REDIS_URL (user-info, or a `password` query
 * parameter) and in S3_ENDPOINT's user-info. The real apps run against a private redis-server
 * that requires the password and the real S3 server; no output line and no /healthz answer may
 * hold a secret.
 */
void describe('no secret in any log line or response', () => {
  let redis: RedisServer;
  let h: Harness;
  let proxy: TcpProxy;
  let secrets: string[] = [];
  const answers: string[] = [];

  before(async () => {
    redis = await RedisServer.start({ persistent: false, password: REDIS_PASSWORD });
    h = await Harness.create({ redisUrl: `redis://:${encodeURIComponent(REDIS_PASSWORD)}@127.0.0.1:${redis.port}` });
    proxy = await TcpProxy.start(h.env['S3_ENDPOINT'] ?? '');
    const s3Secret = h.env['S3_SECRET_KEY'] ?? '';
    secrets = [REDIS_PASSWORD, encodeURIComponent(REDIS_PASSWORD), DASHBOARD_PASSWORD, ENDPOINT_PASSWORD];
    // the embedded S3 server's secret is also its access key id, which is no secret
    if (s3Secret !== '' && s3Secret !== h.env['S3_ACCESS_KEY']) secrets.push(s3Secret);
  });
  after(async () => {
    await proxy.close();
    await h.close();
    await redis.destroy();
  });

  /** Every line every app wrote, and every HTTP answer the test received. */
  const everything = () => [...h.apps.flatMap((a) => [...a.raw, ...a.lines.map((l) => JSON.stringify(l))]), ...answers];
  function assertNoSecret(): void {
    const text = everything();
    assert.ok(text.length > 20, 'there is output to check');
    for (const secret of secrets) {
      const leaks = text.filter((line) => line.includes(secret));
      assert.deepEqual(leaks, [], `a secret appears in ${leaks.length} line(s)`);
    }
  }
  async function answer(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
    const res = await fetch(url, { headers });
    const body = await res.text();
    answers.push(`${url} ${res.status} ${JSON.stringify(Object.fromEntries(res.headers))} ${body}`);
    return { status: res.status, body };
  }

  void it('runs the watcher, worker and dashboard with Redis passwords in REDIS_URL, shows none, and uploads a file', async () => {
    const port = redis.port;
    const [watcherMetrics, workerMetrics, dashboardPort] = [await freePort(), await freePort(), await freePort()];
    // the password as user-info, as a query parameter, and with an ACL user name
    const worker = h.start('worker', { REDIS_URL: `redis://127.0.0.1:${port}/?password=${encodeURIComponent(REDIS_PASSWORD)}`, METRICS_PORT: String(workerMetrics) });
    await worker.waitFor('worker ready');
    const watcher = h.start('watcher', { METRICS_PORT: String(watcherMetrics) });
    await watcher.waitFor('watching');
    const dashboard = h.start('dashboard', {
      REDIS_URL: `redis://default:${encodeURIComponent(REDIS_PASSWORD)}@127.0.0.1:${port}`,
      DASHBOARD_PORT: String(dashboardPort),
      DASHBOARD_PASSWORD,
      ...proxy.env,
    });
    await dashboard.waitFor('dashboard ready');
    await dashboard.waitFor('connected to Redis');

    for (const app of [worker, watcher, dashboard]) {
      const starting = app.events('app.starting')[0];
      assert.match(String(starting?.['redis']), /:\*\*\*@|password=\*\*\*/, `${app.name}'s start-up line shows the Redis URL redacted`);
    }

    const data = randomBytes(3 * 64 * 1024 + 17);
    await h.write('clip.mp4', data);
    await assertReassembles(h, await h.waitForMetadata('clip.mp4', data), data, 'clip.mp4');

    const board = `http://127.0.0.1:${dashboardPort}`;
    const credentials = { authorization: `Basic ${Buffer.from(`admin:${DASHBOARD_PASSWORD}`).toString('base64')}` };
    assert.deepEqual(await answer(`${board}/healthz`), { status: 200, body: '{"ok":true}\n' });
    assert.deepEqual(await answer(`${board}/healthz`, credentials), { status: 200, body: '{"ok":true,"redis":"up","s3":"up"}\n' });
    assert.deepEqual(await answer(`http://127.0.0.1:${workerMetrics}/healthz`), { status: 200, body: '{"ok":true,"redis":"up","s3":"up","files":"up"}\n' });
    assert.deepEqual(await answer(`http://127.0.0.1:${watcherMetrics}/healthz`), { status: 200, body: '{"ok":true,"redis":"up","s3":"not checked","files":"up"}\n' });
    await answer(`${board}/queues`, credentials);
    await answer(`${board}/api/streams`, credentials);
    await answer(`${board}/queues/api/queues`, credentials);
    await answer(`${board}/metrics`);
    await answer(`http://127.0.0.1:${workerMetrics}/metrics`);

    // error text on the way: S3 gone for the dashboard, reported with the credentials and in its log
    await proxy.stop();
    try {
      await sleep(2500); // past the health cache
      assert.deepEqual(await answer(`${board}/healthz`), { status: 503, body: '{"ok":false}\n' });
      assert.equal((await answer(`${board}/healthz`, credentials)).status, 503);
      await dashboard.waitForEvent('health.part-down', 5000, (l) => l['part'] === 's3');
    } finally {
      await proxy.start();
    }
    assertNoSecret();
  });

  void it('refuses S3_ENDPOINT with a user name and password at start, naming the variable, the value redacted', async () => {
    const endpoint = new URL(h.env['S3_ENDPOINT'] ?? 'http://127.0.0.1:7480');
    endpoint.username = 'AKIAENDPOINTUSER';
    endpoint.password = ENDPOINT_PASSWORD;
    for (const name of ['worker', 'dashboard'] as const) {
      const app = h.start(name, { S3_ENDPOINT: endpoint.href, DASHBOARD_PASSWORD, DASHBOARD_PORT: String(await freePort()) });
      assert.equal(await app.exited, 2, `${name} stops at start`);
      const output = app.raw.join('\n');
      assert.match(output, /S3_ENDPOINT="http:\/\/\*\*\*:\*\*\*@127\.0\.0\.1:\d+\/": expected a URL without a user name or password.*S3_ACCESS_KEY and S3_SECRET_KEY/);
      assert.doesNotMatch(output, /AKIAENDPOINTUSER/, 'nor its user name');
    }
    assertNoSecret();
  });

  void it('shows a wrong REDIS_URL redacted in the settings error', async () => {
    const app = h.start('watcher', { REDIS_URL: `http://127.0.0.1:${redis.port}/?password=${encodeURIComponent(REDIS_PASSWORD)}` });
    assert.equal(await app.exited, 2);
    assert.match(app.raw.join('\n'), /REDIS_URL="http:\/\/127\.0\.0\.1:\d+\/\?password=\*\*\*": expected a URL starting with redis:\/\//);
    assertNoSecret();
  });
});
