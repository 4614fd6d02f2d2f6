import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { printable } from '@vcu/files';
import type { AppProcess } from '@vcu/testkit';
import { type TestBrowser, browserMissing, openBrowser } from './browser.js';
import { Harness, randomBytes, waitUntil } from './harness.js';
import { failNextChunkJob } from './jobs-util.js';
import { freePort } from '@vcu/testkit';

const CHUNK = 64 * 1024;
const PASSWORD = 'streams-page-pw';
/** A name that would be markup, a terminal escape and a second line if anything rendered it raw. */
const HOSTILE = 'evil\u001b[31m<img src=x onerror=alert(1)>\n.mp4';

const rowOf = (path: string): string => `#streams-body tr:has(a.name:text-is(${JSON.stringify(printable(path))}))`;

void describe('the streams page and Bull Board in a real browser (Chromium)', { skip: browserMissing() }, () => {
  let h: Harness;
  let url: string;
  let browser: TestBrowser;
  const problems: string[] = [];

  before(async () => {
    h = await Harness.create({ chunkSize: CHUNK });
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const dashboard: AppProcess = h.start('dashboard', { DASHBOARD_PORT: String(port), DASHBOARD_PASSWORD: PASSWORD });
    await dashboard.waitFor('dashboard ready');
    await h.start('watcher').waitFor('watching');
    browser = await openBrowser({ username: 'admin', password: PASSWORD });
    // what must never happen on the page: a script error, a CSP refusal, a request elsewhere, a dialog
    browser.page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    browser.page.on('console', (m) => void (m.type() === 'error' && problems.push(`console: ${m.text()} (${m.location().url})`)));
    browser.page.on('request', (r) => void (!r.url().startsWith(url) && problems.push(`request to another origin: ${r.url()}`)));
    browser.page.on('dialog', (d) => void problems.push(`dialog: ${d.message()}`));
    browser.page.on('response', (r) => void (r.status() >= 400 && problems.push(`${r.status()} for ${r.url()}`)));
  });
  after(async () => {
    await browser?.close();
    await h?.close();
  });

  void it('shows streams appear and reach 100 %, a stuck one as failed until retried, the chart, and a stream with its chunks and metadata.json', async () => {
    const { page, step } = browser;
    await step('open the streams page', async () => {
      await page.goto(`${url}/streams`);
      await page.locator('#live', { hasText: 'live' }).waitFor();
      await page.locator('#empty').waitFor();
    });

    const stuckData = randomBytes(3 * CHUNK);
    await h.write('stuck.mp4', stuckData);
    const stuck = await failNextChunkJob(h);
    await h.start('worker').waitFor('worker ready');
    const files = { 'a.mp4': randomBytes(5 * CHUNK + 123), 'cams/b.mp4': randomBytes(CHUNK), [HOSTILE]: randomBytes(2 * CHUNK) };
    for (const [name, data] of Object.entries(files)) await h.write(name, data);

    await step('rows appear and reach 100 %', async () => {
      for (const name of Object.keys(files)) {
        await page.locator(`${rowOf(name)} .state.complete`).waitFor({ timeout: 60_000 });
        assert.equal(await page.locator(`${rowOf(name)} .pct`).textContent(), '100%');
        assert.equal(await page.locator(`${rowOf(name)} [role=progressbar]`).getAttribute('aria-valuenow'), '100');
      }
      await page.locator(`${rowOf('stuck.mp4')} .state.failed`).waitFor({ timeout: 20_000 });
      await page.locator('#count-failed', { hasText: /^1$/ }).waitFor();
      await page.locator('#count-complete', { hasText: /^3$/ }).waitFor();
      assert.equal(await page.locator('#streams-body tr').count(), 4);
      assert.equal(await page.locator('img').count(), 0, 'a name is text, never markup');
    });

    await step('the chart draws the throughput', async () => {
      // polled from here: a function sent into the page would be eval, which its CSP refuses
      const points = async (): Promise<number> => Number(await page.locator('#chart').getAttribute('data-points'));
      await waitUntil(async () => (await points()) >= 2, 20_000, 'the chart draws two points');
      assert.match((await page.locator('#chart path.line').getAttribute('d')) ?? '', /^M[\d.]+,[\d.]+ L/);
      assert.match((await page.locator('#chart-top').textContent()) ?? '', /\/s$/);
    });

    await step("a stream's view: its chunks and its metadata.json", async () => {
      await page.locator(`${rowOf('a.mp4')} a.name`).click();
      await page.waitForURL(/\/streams\/[0-9a-f]{24}$/);
      const id = page.url().split('/').at(-1) ?? '';
      await page.locator('#d-chunks tr').nth(5).waitFor();
      assert.deepEqual(await page.locator('#d-chunks .state').allTextContents(), Array<string>(6).fill('uploaded'));
      assert.equal(await page.locator('#d-name').textContent(), 'a.mp4');
      const link = page.locator('#metadata-link');
      assert.equal(await link.getAttribute('href'), `/api/streams/${id}/metadata.json`);
      await link.click();
      await page.waitForURL(/metadata\.json$/);
      const shown = JSON.parse((await page.locator('body').textContent()) ?? '') as { streamId: string; source: { path: string } };
      assert.deepEqual([shown.streamId, shown.source.path], [id, 'a.mp4']);
    });

    await step('the stuck stream shows its failed chunk, then completes once retried, live', async () => {
      await page.goto(`${url}/streams/${stuck.streamId}`);
      await page.locator(`#d-chunks tr[data-index="${stuck.index}"] .state.failed`).waitFor();
      assert.equal((await h.cli('retry-failed')).code, 0);
      await page.locator('#metadata-link').waitFor({ timeout: 30_000 });
      assert.deepEqual(await page.locator('#d-chunks .state').allTextContents(), Array<string>(3).fill('uploaded'));
      await page.goto(`${url}/streams`);
      await page.locator('#count-complete', { hasText: /^4$/ }).waitFor({ timeout: 20_000 });
      await page.locator('#count-failed', { hasText: /^0$/ }).waitFor();
    });
    assert.deepEqual(problems, []);
  });

  void it('opens Bull Board on both queues', async () => {
    await browser.step('Bull Board', async (page) => {
      await page.goto(`${url}/queues`);
      for (const queue of ['chunks', 'finalize']) await page.locator(`a[href$="/queue/${queue}"]`).first().waitFor();
    });
  });
});
