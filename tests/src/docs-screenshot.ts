/**
 * Takes the README's screenshots of the streams page (docs/streams.png, docs/stream.png) in a
 * real run: the real apps against Redis and S3 (as the tests find them), a minute of files of
 * several sizes, one recording still growing, one stream stuck on a failed chunk job, one file
 * deleted before its upload. Needs Chromium (/usr/bin/chromium).
 *   pnpm build && S3_ENDPOINT=… node tests/dist/docs-screenshot.js [folder, default docs]
 */
import { appendFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { browserMissing, openBrowser } from './browser.js';
import { Harness, randomBytes, waitUntil } from './harness.js';
import { failNextChunkJob } from './jobs-util.js';
import { freePort } from '@vcu/testkit';

const MiB = 1024 * 1024;
const PASSWORD = 'screenshot';
const folder = path.resolve(process.argv[2] ?? 'docs');

/** Files written one after another, a few seconds apart, so the chart has something to show. */
const FILES: [string, number][] = [
  ['cams/front-door/2026-05-01T08-00.mp4', 48],
  ['cams/garage/2026-05-01T08-00.mp4', 24],
  ['interviews/ana-take-3.mp4', 96],
  ['cams/front-door/2026-05-01T08-15.mp4', 40],
  ['drone/flight 12 (raw).mp4', 160],
  ['cams/garage/2026-05-01T08-15.mp4', 20],
  ['interviews/ana-take-4.mp4', 64],
];

async function main(): Promise<void> {
  const missing = browserMissing();
  if (missing !== undefined) throw new Error(missing);
  const h = await Harness.create({ chunkSize: 8 * MiB, streamIdleMs: 5000, concurrency: 2 });
  try {
    const port = await freePort();
    await h.start('dashboard', { DASHBOARD_PORT: String(port), DASHBOARD_PASSWORD: PASSWORD }).waitFor('dashboard ready');
    await h.start('watcher').waitFor('watching');
    // before any worker: one stream stuck on a failed chunk job, one whose file goes away
    await h.write('cams/lobby/2026-05-01T07-45.mp4', randomBytes(30 * MiB));
    await failNextChunkJob(h);
    await h.write('tmp/export-cancelled.mp4', randomBytes(12 * MiB));
    await waitUntil(async () => ((await h.jobCounts())['waiting'] ?? 0) >= 5, 30_000, 'the chunk jobs wait');
    await rm(h.file('tmp/export-cancelled.mp4'));
    await h.start('worker').waitFor('worker ready');
    const recording = record(h, 'cams/lobby/2026-05-01T08-30.mp4', 70_000);
    for (const [name, mib] of FILES) {
      await h.write(name, randomBytes(mib * MiB));
      await sleep(7000);
    }
    await sleep(10_000);
    await shoot(`http://127.0.0.1:${port}`);
    await recording;
  } finally {
    await h.close();
  }
}

/** Appends 1 MiB every 250 ms for `ms`: a recording in progress. */
async function record(h: Harness, name: string, ms: number): Promise<void> {
  await h.write(name, randomBytes(MiB));
  for (const end = Date.now() + ms; Date.now() < end; ) {
    await sleep(250);
    await appendFile(h.file(name), randomBytes(MiB));
  }
}

async function shoot(url: string): Promise<void> {
  const browser = await openBrowser({ username: 'admin', password: PASSWORD });
  try {
    const { page } = browser;
    await page.goto(`${url}/streams`);
    await page.locator('#live', { hasText: 'live' }).waitFor();
    await page.screenshot({ path: path.join(folder, 'streams.png') });
    await page.locator('#streams-body a.name', { hasText: 'ana-take-3' }).click();
    await page.locator('#metadata-link').waitFor();
    await page.screenshot({ path: path.join(folder, 'stream.png') });
    process.stdout.write(`screenshots in ${folder}: streams.png, stream.png\n`);
  } finally {
    await browser.close();
  }
}

await main();
