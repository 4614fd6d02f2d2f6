import assert from 'node:assert/strict';
import { appendFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import type { AppProcess } from '@vcu/testkit';
import { Harness, randomBytes, waitUntil } from './harness.js';
import { failNextChunkJob } from './jobs-util.js';
import { freePort } from '@vcu/testkit';

const CHUNK = 64 * 1024;
const PASSWORD = 'streams-api-pw';
const AUTH = { authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}` };

interface Row { id: string; path: string; name: string; state: string; size: number; committedBytes: number; chunksDone: number; chunksTotal: number }
interface Page { streams: Row[]; next: string | null }
interface Detail { stream: Row; chunks: { index: number; state: string }[]; chunkCounts: Record<string, number>; metadata: { key: string; url: string } | null }
interface Summary { counts: Record<string, number>; countsComplete: boolean; throughput: { everyMs: number; points: { from: string; at: string; bytesPerSecond: number }[] } }

void describe('the streams API (/api/streams, /api/streams/:id, /api/summary)', () => {
  let h: Harness;
  let url: string;
  let dashboard: AppProcess;
  let worker: AppProcess;
  const get = async (path: string, headers: Record<string, string> = AUTH) => fetch(`${url}${path}`, { headers });
  const json = async <T>(path: string): Promise<T> => {
    const res = await get(path);
    assert.equal(res.status, 200, `${path}: ${res.status} ${await res.clone().text()}`);
    return (await res.json()) as T;
  };

  before(async () => {
    h = await Harness.create({ chunkSize: CHUNK });
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    // the dashboard first, so that its samples see every byte committed
    dashboard = h.start('dashboard', { DASHBOARD_PORT: String(port), DASHBOARD_PASSWORD: PASSWORD });
    await dashboard.waitFor('dashboard ready');
    await h.start('watcher').waitFor('watching');
  });
  after(async () => h.close());

  void it('asks for the password on every route of the page and its data', async () => {
    for (const path of ['/streams', '/streams/0123456789abcdef01234567', '/static/streams.js', '/static/streams.css', '/api/streams', '/api/summary', '/api/streams/0123456789abcdef01234567', '/api/streams/0123456789abcdef01234567/metadata.json']) {
      assert.equal((await get(path, {})).status, 401, path);
    }
    const page = await get('/streams');
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    assert.match(await page.text(), /<script type="module" src="\/static\/streams\.js"><\/script>/);
    assert.match((await get('/static/streams.js')).headers.get('content-type') ?? '', /javascript/);
  });

  void it('lists, pages, details and counts streams; a failed chunk job shows its stream failed until retried; the throughput adds up', async () => {
    const stuckData = randomBytes(3 * CHUNK);
    await h.write('stuck.mp4', stuckData);
    const failed = await failNextChunkJob(h);
    worker = h.start('worker');
    await worker.waitFor('worker ready');
    const files = { 'a.mp4': randomBytes(5 * CHUNK + 123), 'cams/b.mp4': randomBytes(CHUNK), 'c.mp4': randomBytes(2 * CHUNK + 1) };
    for (const [name, data] of Object.entries(files)) await h.write(name, data);
    const metadata = await Promise.all(Object.entries(files).map(([name, data]) => h.waitForMetadata(name, data)));

    // the whole list (metadata.json is written just before a stream is marked complete), and the same streams a page at a time
    let all: Page = await json<Page>('/api/streams');
    await waitUntil(async () => (all = await json<Page>('/api/streams')).streams.filter((s) => s.state === 'complete').length === 3, 20_000, 'the three files show complete');
    assert.equal(all.streams.length, 4);
    assert.equal(all.next, null);
    const paged: string[] = [];
    let next: string | null = '';
    while (next !== null) {
      const page: Page = await json<Page>(`/api/streams?limit=1&cursor=${encodeURIComponent(next)}`);
      assert.ok(page.streams.length === 1, JSON.stringify(page));
      paged.push(...page.streams.map((s) => s.id));
      next = page.next;
    }
    assert.deepEqual(paged, all.streams.map((s) => s.id), 'pages hold every stream once, in the same order');
    for (const bad of ['limit=0', 'limit=abc', 'limit=1001', 'cursor=nope', 'limit=1&limit=2']) assert.equal((await get(`/api/streams?${bad}`)).status, 400, bad);

    const a = all.streams.find((s) => s.path === 'a.mp4');
    assert.deepEqual(a && [a.state, a.size, a.committedBytes, a.chunksDone, a.chunksTotal, a.name], ['complete', 5 * CHUNK + 123, 5 * CHUNK + 123, 6, 6, 'a.mp4']);
    const detail = await json<Detail>(`/api/streams/${a?.id ?? ''}`);
    assert.deepEqual(detail.chunks.map((c) => `${c.index}:${c.state}`), ['0:uploaded', '1:uploaded', '2:uploaded', '3:uploaded', '4:uploaded', '5:uploaded']);
    assert.equal(detail.metadata?.key, `${h.env['S3_PREFIX'] ?? ''}${a?.id ?? ''}/metadata.json`);
    const served = await json<{ streamId: string; sha256: string }>(detail.metadata?.url ?? '');
    const written = metadata.find((m) => m.source.path === 'a.mp4');
    assert.deepEqual([served.streamId, served.sha256], [written?.streamId, written?.sha256], 'the link serves the metadata.json in S3');
    for (const path of ['/api/streams/ffffffffffffffffffffffff', '/api/streams/not-an-id', `/api/streams/${failed.streamId}/metadata.json`]) assert.equal((await get(path)).status, 404, path);

    // the stuck stream: failed (the sampler reads the failed set every few seconds), its chunk too
    let stuck: Detail | undefined;
    await waitUntil(async () => (stuck = await json<Detail>(`/api/streams/${failed.streamId}`)).stream.state === 'failed', 20_000, 'the stuck stream shows failed');
    assert.equal(stuck?.chunks[failed.index]?.state, 'failed');
    assert.equal(stuck?.chunkCounts['failed'], 1);
    let summary: Summary | undefined;
    await waitUntil(async () => (summary = await json<Summary>('/api/summary')).counts['complete'] === 3, 20_000, 'the summary counts 3 complete');
    assert.deepEqual(summary?.counts, { active: 0, complete: 3, aborted: 0, failed: 1 });

    assert.equal((await h.cli('retry-failed')).code, 0);
    await h.waitForMetadata('stuck.mp4', stuckData);
    const total = [stuckData, ...Object.values(files)].reduce((sum, d) => sum + d.length, 0);
    const committed = (s: Summary): number => s.throughput.points.reduce((sum, p) => sum + (p.bytesPerSecond * (Date.parse(p.at) - Date.parse(p.from))) / 1000, 0);
    await waitUntil(async () => (summary = await json<Summary>('/api/summary')).counts['complete'] === 4, 20_000, 'the summary counts 4 complete');
    await waitUntil(async () => Math.abs(committed((summary = await json<Summary>('/api/summary'))) - total) < 100, 20_000, `the chart adds up to the ${total} bytes committed`).catch((err: unknown) => {
      throw new Error(`${String(err)}: ${JSON.stringify(summary?.throughput.points.filter((p) => p.bytesPerSecond > 0))}`);
    });
    assert.deepEqual(summary?.counts, { active: 0, complete: 4, aborted: 0, failed: 0 });
    assert.equal(dashboard.events('dashboard.sample-failed').length, 0);
  });

  void it("shows a finished file that grew with its last revision's chunks, in S3, while it is checked again", async () => {
    const data = randomBytes(3 * CHUNK + 7);
    await h.write('grows.mp4', data);
    const first = await h.waitForMetadata('grows.mp4', data);
    await worker.stop();
    const grown = Buffer.concat([data, randomBytes(CHUNK)]);
    await appendFile(h.file('grows.mp4'), grown.subarray(data.length));
    const row = async (): Promise<Row | undefined> => (await json<Page>('/api/streams')).streams.find((s) => s.id === first.streamId);
    await waitUntil(async () => (await row())?.size === grown.length, 20_000, 'the grown file is seen');
    // reopened: Redis dropped its chunk records at completion; revision 1's chunks are in S3
    assert.deepEqual(await row().then((r) => r && [r.state, r.chunksDone, r.chunksTotal]), ['active', 4, 5]);
    const detail = await json<Detail>(`/api/streams/${first.streamId}`);
    assert.deepEqual(detail.chunks.slice(0, 4).map((c) => `${c.index}:${c.state}`), ['0:uploaded', '1:uploaded', '2:uploaded', '3:changed'], JSON.stringify(detail.chunks));
    assert.notEqual(detail.chunks[4]?.state, 'uploaded');
    assert.notEqual(detail.metadata, null, 'revision 1 is still linked');

    worker = h.start('worker');
    const second = await h.waitForMetadata('grows.mp4', grown);
    assert.deepEqual([second.streamId, second.revision], [first.streamId, 2]);
    // metadata.json is written just before the stream is marked complete
    let done: Detail | undefined;
    await waitUntil(async () => (done = await json<Detail>(`/api/streams/${first.streamId}`)).stream.state === 'complete', 20_000, 'the grown stream shows complete');
    assert.deepEqual([done?.stream.chunksDone, done?.chunkCounts['uploaded']], [5, 5]);
  });
});
