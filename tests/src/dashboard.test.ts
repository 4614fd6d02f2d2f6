import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type AppProcess, freePort } from '@vcu/testkit';
import { Harness, randomBytes, sleep, waitUntil } from './harness.js';
import { TcpProxy } from './outage.js';

const CHUNK = 64 * 1024;
const PASSWORD = 'dash-pw-for-tests';

const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

/** Reads one sample of a Prometheus text exposition, e.g. `vcu_chunks_uploaded_total`. */
function sample(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels}`) && /[ {]/.test(l.charAt(name.length)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

void describe('dashboard, health and metrics', () => {
  let h: Harness;
  let proxy: TcpProxy;
  let workerProxy: TcpProxy;
  let dashboardUrl: string;
  let workerMetricsUrl: string;
  let dashboard: AppProcess;
  let worker: AppProcess;
  before(async () => {
    h = await Harness.create({ chunkSize: CHUNK });
    proxy = await TcpProxy.start(h.env['S3_ENDPOINT'] ?? '');
    workerProxy = await TcpProxy.start(h.env['S3_ENDPOINT'] ?? '');
    const dashboardPort = await freePort();
    const workerMetricsPort = await freePort();
    dashboardUrl = `http://127.0.0.1:${dashboardPort}`;
    workerMetricsUrl = `http://127.0.0.1:${workerMetricsPort}`;
    // the dashboard and the worker reach S3 through proxies the test can cut
    worker = h.start('worker', { METRICS_PORT: String(workerMetricsPort), ...workerProxy.env });
    await worker.waitFor('worker ready');
    await h.start('watcher').waitFor('watching');
    dashboard = h.start('dashboard', { DASHBOARD_PORT: String(dashboardPort), DASHBOARD_PASSWORD: PASSWORD, ...proxy.env });
    await dashboard.waitFor('dashboard ready');
  });
  after(async () => {
    await proxy.close();
    await workerProxy.close();
    await h.close();
  });

  void it('asks for credentials: 401 without, 401 with a wrong password, 200 with the right one', async () => {
    assert.equal((await fetch(`${dashboardUrl}/queues`)).status, 401);
    assert.equal((await fetch(`${dashboardUrl}/queues`, { headers: basic('admin', 'wrong') })).status, 401);
    assert.equal((await fetch(`${dashboardUrl}/api/streams`)).status, 401);
    const ok = await fetch(`${dashboardUrl}/queues`, { headers: basic('admin', PASSWORD) });
    assert.equal(ok.status, 200);
    assert.match(await ok.text(), /<html/i);
  });

  void it('Bull Board lists both vcu queues', async () => {
    const res = await fetch(`${dashboardUrl}/queues/api/queues`, { headers: basic('admin', PASSWORD) });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { queues: { name: string; readOnlyMode?: boolean }[] };
    assert.deepEqual(body.queues.map((q) => q.name).sort(), ['chunks', 'finalize']);
    assert.ok(body.queues.every((q) => q.readOnlyMode !== true), 'actions are available unless DASHBOARD_READ_ONLY');
  });

  void it('metrics match an upload the test performed; the streams view shows it', async () => {
    const data = randomBytes(5 * CHUNK + 123);
    await h.write('measured.mp4', data);
    const metadata = await h.waitForMetadata('measured.mp4', data);

    const worker = await (await fetch(`${workerMetricsUrl}/metrics`)).text();
    assert.equal(sample(worker, 'vcu_chunks_uploaded_total'), 6);
    assert.equal(sample(worker, 'vcu_bytes_uploaded_total'), data.length);
    assert.equal(sample(worker, 'vcu_chunk_upload_duration_seconds_count'), 6);
    assert.equal(sample(worker, 'vcu_streams_completed_total'), 1);
    assert.equal(sample(worker, 'vcu_s3_up'), 1);
    assert.equal(sample(worker, 'vcu_redis_up'), 1);

    const board = await (await fetch(`${dashboardUrl}/metrics`)).text();
    assert.ok((sample(board, 'vcu_queue_jobs', '{queue="chunks",state="completed"') ?? 0) >= 6, board.slice(0, 400));
    assert.equal(sample(board, 'vcu_active_streams'), 0);
    assert.equal(sample(board, 'vcu_finalize_lag_seconds'), 0);
    assert.match(board, /^vcu_process_resident_memory_bytes/m);

    const streams = (await (await fetch(`${dashboardUrl}/api/streams`, { headers: basic('admin', PASSWORD) })).json()) as {
      streams: { id: string; path: string; status: string; size: number; committedBytes: number; chunksDone: number; chunksTotal: number }[];
    };
    const row = streams.streams.find((s) => s.id === metadata.streamId);
    assert.deepEqual(
      row && { path: row.path, status: row.status, size: row.size, committed: row.committedBytes, done: row.chunksDone, total: row.chunksTotal },
      { path: 'measured.mp4', status: 'complete', size: data.length, committed: data.length, done: 6, total: 6 },
    );
    // the page itself is drawn by its script (streams-page.test.ts drives it in a browser)
    const html = await (await fetch(`${dashboardUrl}/streams`, { headers: basic('admin', PASSWORD) })).text();
    assert.match(html, /<script type="module" src="\/static\/streams\.js">/);
  });

  void it('/healthz is 200 while Redis and S3 answer and 503 when S3 is gone; the reason only with credentials, and in the log', async () => {
    const up = await fetch(`${dashboardUrl}/healthz`);
    assert.equal(up.status, 200);
    assert.deepEqual(await up.json(), { ok: true });
    assert.deepEqual(await (await fetch(`${dashboardUrl}/healthz`, { headers: basic('admin', PASSWORD) })).json(), { ok: true, redis: 'up', s3: 'up' });
    assert.equal((await fetch(`${dashboardUrl}/healthz`, { headers: basic('admin', 'wrong') })).status, 401, 'wrong credentials are a failed login');
    await proxy.stop();
    try {
      await sleep(2500); // past the health cache
      const down = await fetch(`${dashboardUrl}/healthz`);
      assert.equal(down.status, 503);
      assert.deepEqual(await down.json(), { ok: false }, 'no host names or error text for anyone');
      const detailed = await fetch(`${dashboardUrl}/healthz`, { headers: basic('admin', PASSWORD) });
      assert.equal(detailed.status, 503);
      const body = (await detailed.json()) as { ok: boolean; redis: string; s3: string };
      assert.equal(body.ok, false);
      assert.equal(body.redis, 'up');
      assert.match(body.s3, /ECONNREFUSED|socket|connect/i, 'the reason, for a caller with the credentials');
      const logged = await dashboard.waitForEvent('health.part-down', 5000, (l) => l['part'] === 's3');
      assert.equal(logged['reason'], body.s3);
      const metrics = await (await fetch(`${dashboardUrl}/metrics`)).text();
      assert.equal(sample(metrics, 'vcu_s3_up'), 0);
    } finally {
      await proxy.start();
    }
  });

  void it("a worker's own /healthz says up or down per part, never why; the reason goes to its log", async () => {
    const up = await fetch(`${workerMetricsUrl}/healthz`);
    assert.deepEqual([up.status, await up.json()], [200, { ok: true, redis: 'up', s3: 'up', files: 'up' }]);
    await workerProxy.stop();
    try {
      // the answer is cached for 2 s: the next fresh one says S3 is down
      let down = await fetch(`${workerMetricsUrl}/healthz`);
      await waitUntil(async () => (down = await fetch(`${workerMetricsUrl}/healthz`)).status === 503, 10_000, 'the health answer says S3 is down');
      assert.deepEqual([down.status, await down.json()], [503, { ok: false, redis: 'up', s3: 'down', files: 'up' }]);
      const logged = await worker.waitForEvent('health.part-down', 5000, (l) => l['part'] === 's3');
      assert.match(String(logged['reason']), /ECONNREFUSED|socket|connect/i);
      await fetch(`${workerMetricsUrl}/healthz`);
      assert.equal(worker.events('health.part-down', (l) => l['part'] === 's3').length, 1, 'said once a minute, not per probe');
    } finally {
      await workerProxy.start();
    }
  });
});

void describe('dashboard settings', () => {
  let h: Harness;
  before(async () => {
    h = await Harness.create();
  });
  after(async () => h.close());

  void it('refuses to start without a password, and says so', async () => {
    const dashboard = h.start('dashboard', { DASHBOARD_PORT: String(await freePort()) });
    assert.equal(await dashboard.exited, 2);
    assert.match(dashboard.raw.join('\n'), /DASHBOARD_PASSWORD="": expected a password/);
  });

  void it('listens on DASHBOARD_HOST only', async () => {
    const port = await freePort();
    const dashboard = h.start('dashboard', { DASHBOARD_PORT: String(port), DASHBOARD_PASSWORD: PASSWORD, DASHBOARD_HOST: '127.0.0.1' });
    const ready = await dashboard.waitFor('dashboard ready');
    assert.deepEqual([ready['url'], ready['host']], [`http://127.0.0.1:${port}/`, '127.0.0.1']);
    assert.equal((await fetch(`http://127.0.0.1:${port}/queues`)).status, 401, 'it answers on 127.0.0.1');
    await assert.rejects(fetch(`http://127.0.0.2:${port}/queues`), 'not reachable on another address of this machine');
    await dashboard.stop();
    const wrong = h.start('dashboard', { DASHBOARD_PORT: String(port), DASHBOARD_PASSWORD: PASSWORD, DASHBOARD_HOST: 'dash.example.org' });
    assert.equal(await wrong.exited, 2);
    assert.match(wrong.raw.join('\n'), /DASHBOARD_HOST="dash\.example\.org": expected an IP address to listen on/);
  });

  void it('serves without a password only when DASHBOARD_AUTH=off is set, with a warning; read-only mode', async () => {
    const port = await freePort();
    const dashboard = h.start('dashboard', { DASHBOARD_PORT: String(port), DASHBOARD_AUTH: 'off', DASHBOARD_READ_ONLY: 'true' });
    await dashboard.waitFor('dashboard ready');
    assert.equal(dashboard.find(/^DASHBOARD_AUTH=off/).length, 1);
    const res = await fetch(`http://127.0.0.1:${port}/queues/api/queues`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { queues: { readOnlyMode?: boolean }[] };
    assert.ok(body.queues.length === 2 && body.queues.every((q) => q.readOnlyMode === true));
  });
});
