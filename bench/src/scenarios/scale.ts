// Scale: what the worker's finalize sweep and the dashboard's reads cost with 1,000 and with
// 50,000 finished streams kept in Redis (issue 13: they must not grow with that number), and
// Redis memory per finished stream. Each size gets a private redis-server seeded through the real
// StreamStore (testkit's StreamSeeder), then the real worker and dashboard as processes.
import { Redis } from 'ioredis';
import { redisKeyPrefix } from '@vcu/config';
import { buildMetadata, chunkRanges } from '@vcu/domain';
import { type Target, chunkKey, createS3Client, metadataKey, putJson } from '@vcu/storage';
import { AppProcess, type FinishedSpec, StreamSeeder, freePort } from '@vcu/testkit';
import type { Bench } from '../context.js';
import { stopApp } from '../measure/apps.js';
import { type PrivatePlace, onPrivatePlace } from '../measure/private-place.js';
import { EventTally } from '../measure/tally.js';
import { appEnv, pidsOf } from '../measure/vcu-run.js';
import { redisUsedMemory } from '../redis.js';
import { settings } from '../settings.js';
import { MiB, fmt, log, median, quantile, sleep } from '../util.js';

/** The apps' settings: sweeps every 250 ms; live streams idle at once and within their upload grace (pending) all along. */
export const SCALE_ENV = { LOG_LEVEL: 'debug', FINALIZE_EVERY_MS: '250', STREAM_IDLE_MS: '1000', JOB_LOCK_MS: '600000' } as const;
const CHUNK_SIZE = 10 * MiB;
const LIVE = 5;
/** Sweeps ignored after the worker starts, then sweeps measured. */
export const SWEEP_WARMUP = 3;
const SWEEPS = 40;
const REQUESTS = 30;
/** Rows per page, as the streams page asks (apps/dashboard/src/web/streams.ts). */
export const PAGE_SIZE = 50;
/** The issue's target for a finished stream whose file is still there. */
export const BYTES_PER_STREAM_TARGET = 600;

export interface Timing {
  readonly median: number;
  readonly p95: number;
  readonly count: number;
}

export const REQUEST_NAMES = ['first page', 'deep page', 'summary', 'one stream'] as const;
export type RequestName = (typeof REQUEST_NAMES)[number];

export interface ScaleRun {
  readonly finished: number;
  readonly present: number;
  readonly gone: number;
  readonly live: number;
  readonly seedSeconds: number;
  /** used_memory growth per stream seeded: complete with the file there, complete with the file gone, all finished. */
  readonly bytesPerPresent: number;
  readonly bytesPerGone: number;
  readonly bytesPerFinished: number;
  /** MEMORY USAGE of one finished stream's keys (file there): its hash, its path key, and its share of streams:all. */
  readonly keyBytes: { readonly hash: number; readonly path: number; readonly allEntry: number };
  /** streams: idle unfinished; gone: gone due looked at; present: kept streams whose file it looked at; retired: of those, found gone. */
  readonly sweep: Timing & { readonly streams: number; readonly gone: number; readonly present: number; readonly retired: number };
  readonly requests: Readonly<Record<RequestName, Timing>>;
  /** How many streams are newer than the deep page's first. */
  readonly deepAt: number;
  readonly redisVersion: string;
  readonly exits: readonly (number | 'killed')[];
  readonly problems: Readonly<Record<string, number>>;
}

export interface ScaleResult {
  readonly runs: readonly ScaleRun[];
  readonly env: Readonly<Record<string, string>>;
}

type ScalePlace = PrivatePlace;

function timing(xs: readonly number[]): Timing {
  return { median: median(xs), p95: quantile(xs, 0.95), count: xs.length };
}

export async function scale(bench: Bench): Promise<ScaleResult> {
  const sizes = bench.options.quick ? [1000, 5000] : [1000, 50_000];
  const runs: ScaleRun[] = [];
  for (const n of sizes) runs.push(await scaleRun(bench, n));
  return { runs, env: SCALE_ENV };
}

async function scaleRun(bench: Bench, n: number): Promise<ScaleRun> {
  // the default REDIS_PREFIX: the server is the bench's own, and key lengths count in its memory
  return onPrivatePlace(bench, { id: bench.nextId(`scale${n}`), redisPrefix: 'vcu' }, (place, apps) => measureAt(bench, place, n, apps));
}

/** Seeds `n` finished streams and the live ones; returns used_memory growth per kind and what to ask the dashboard for. */
async function seed(bench: Bench, place: ScalePlace, n: number) {
  const seeder = new StreamSeeder(place.redis, redisKeyPrefix(place.redisPrefix), CHUNK_SIZE);
  const t0 = Date.now();
  // the live streams first: they load the store's scripts, which are no stream's memory
  await seeder.seedLive(LIVE, place.dir);
  // the files of the finished streams still there are on disk: finalize looks at a batch of them per sweep
  const specs = await seeder.withFiles(Array.from({ length: n }, (_, i) => seeder.finished(i)), place.dir);
  const present = specs.filter((s) => s.goneAgoMs === undefined);
  const gone = specs.filter((s) => s.goneAgoMs !== undefined);
  const before = await redisUsedMemory(place.redis);
  await seeder.seedFinished(present);
  const afterPresent = await redisUsedMemory(place.redis);
  await seeder.seedFinished(gone);
  const afterGone = await redisUsedMemory(place.redis);
  const seedSeconds = (Date.now() - t0) / 1000;
  log(`scale ${n}: seeded ${present.length} finished streams with their file, ${gone.length} gone, ${LIVE} live in ${fmt(seedSeconds)} s`);
  // every seeded stream at a few depths reads back as vcu leaves it
  for (const spec of [0, 1, Math.floor(n / 2), n - 2, n - 1].map((i) => specs[i])) {
    if (spec === undefined) continue;
    const { problems } = await seeder.check(spec);
    if (problems.length > 0) throw new Error(`scale: seeded stream ${spec.id} reads back wrong: ${problems.join('; ')}`);
  }
  // the stream /api/streams/<id> is asked for: an old one, complete, its metadata.json in S3
  const detail = present[Math.floor(present.length * 0.9)];
  if (detail === undefined) throw new Error('scale: no stream to detail');
  await putMetadata(bench, place.s3Prefix, detail);
  return {
    keyBytes: await keyBytesOf(seeder, place.redis, detail),
    detail,
    present: present.length,
    gone: gone.length,
    seedSeconds,
    bytesPerPresent: (afterPresent - before) / present.length,
    bytesPerGone: (afterGone - afterPresent) / gone.length,
    bytesPerFinished: (afterGone - before) / n,
  };
}

/** Where one finished stream's bytes are: MEMORY USAGE of its keys, and its share of the all-streams index. */
async function keyBytesOf(seeder: StreamSeeder, redis: Redis, spec: FinishedSpec): Promise<ScaleRun['keyBytes']> {
  const keys = seeder.store.keys;
  const usage = async (key: string): Promise<number> => Number((await redis.memory('USAGE', key, 'SAMPLES', 0)) ?? NaN);
  const [hash, pathKey, all, members] = await Promise.all([usage(keys.stream(spec.id)), usage(keys.path(spec.file.path)), usage(keys.all()), redis.zcard(keys.all())]);
  return { hash, path: pathKey, allEntry: all / members };
}

/** The metadata.json finalize would have written for this seeded stream. */
async function putMetadata(bench: Bench, s3Prefix: string, spec: FinishedSpec): Promise<void> {
  const mtimeMs = Number(BigInt(spec.file.mtimeNs) / 1_000_000n);
  const metadata = buildMetadata({
    streamId: spec.id,
    revision: 1,
    pathBytes: Buffer.from(spec.file.path),
    size: spec.file.size,
    mtimeMs,
    chunkSize: spec.chunkSize,
    chunks: chunkRanges(spec.file.size, spec.chunkSize).map((r) => ({ ...r, sha256: StreamSeeder.recordOf(spec, r.index).sha256 })),
    keyOf: (index) => chunkKey(s3Prefix, spec.id, index),
    sha256: StreamSeeder.recordOf(spec, 0).sha256,
    container: { recognisedMp4: false, firstBox: null },
    createdAtMs: spec.createdAt,
    completedAtMs: spec.createdAt + 3000,
    mp4: { mp4: null, reason: 'seeded by the bench: no file' },
  });
  await putJson(metadataTarget(), metadataKey(s3Prefix, spec.id), metadata);
}

let seededMetadata: Target | undefined;

/** Where seeded metadata.json goes: vcu's own client (putJson sends through what createS3Client sets up), made once. */
function metadataTarget(): Target {
  seededMetadata ??= {
    bucket: settings.bucket,
    client: createS3Client({
      endpoint: settings.endpoint,
      region: settings.region,
      accessKeyId: settings.accessKey === '' ? undefined : settings.accessKey,
      secretAccessKey: settings.secretKey === '' ? undefined : settings.secretKey,
      forcePathStyle: settings.forcePathStyle !== 'false',
      connectTimeoutMs: 5000,
      requestTimeoutMs: 120_000,
    }),
  };
  return seededMetadata;
}

async function measureAt(bench: Bench, place: ScalePlace, n: number, apps: AppProcess[]): Promise<ScaleRun> {
  const seeded = await seed(bench, place, n);
  const redisVersion = /redis_version:(\S+)/.exec(await place.redis.info('server'))?.[1] ?? '?';
  const tally = new EventTally({ keepUploads: false });
  const sweeps: { ms: number; streams: number; gone: number; present: number }[] = [];
  let retired = 0;
  const env = appEnv(place, place.server.url, SCALE_ENV);
  const worker = new AppProcess('worker', { HOME: process.env['HOME'] ?? '/tmp', ...env }, {
    keepLines: 200,
    onLine: (line) => {
      tally.take('worker', line);
      if (line['event'] === 'finalize.swept' && line['sweep'] === 'scheduled') sweeps.push({ ms: Number(line['ms']), streams: Number(line['streams']), gone: Number(line['gone']), present: Number(line['present']) });
      if (line['event'] === 'streams.reconciled') retired += Number(line['count']);
    },
  });
  apps.push(worker);
  const port = await freePort();
  const dashboard = new AppProcess('dashboard', { HOME: process.env['HOME'] ?? '/tmp', ...env, LOG_LEVEL: 'info', DASHBOARD_HOST: '127.0.0.1', DASHBOARD_PORT: String(port), DASHBOARD_AUTH: 'off' }, { keepLines: 200, onLine: (line) => tally.take('dashboard', line) });
  apps.push(dashboard);
  await Promise.all([worker.waitForEvent('worker.ready', 60_000), dashboard.waitForEvent('dashboard.ready', 60_000)]);
  bench.disturbances.check(pidsOf(apps));

  await waitForSweeps(sweeps, worker, n);
  const measured = sweeps.slice(SWEEP_WARMUP, SWEEP_WARMUP + SWEEPS);
  const requests = await timeRequests(`http://127.0.0.1:${port}`, n, seeded.detail);
  const exits = await Promise.all(apps.map((a) => stopApp(a)));
  const sweep = { ...timing(measured.map((s) => s.ms)), streams: median(measured.map((s) => s.streams)), gone: median(measured.map((s) => s.gone)), present: median(measured.map((s) => s.present)), retired };
  log(`scale ${n}: sweep median ${fmt(sweep.median, 2)} ms (p95 ${fmt(sweep.p95, 2)}), looking at ${sweep.streams} streams; ${REQUEST_NAMES.map((r) => `${r} ${fmt(requests.timings[r].median, 1)} ms`).join(', ')}`);
  return {
    finished: n,
    present: seeded.present,
    gone: seeded.gone,
    live: LIVE,
    seedSeconds: seeded.seedSeconds,
    keyBytes: seeded.keyBytes,
    bytesPerPresent: seeded.bytesPerPresent,
    bytesPerGone: seeded.bytesPerGone,
    bytesPerFinished: seeded.bytesPerFinished,
    sweep,
    requests: requests.timings,
    deepAt: requests.deepAt,
    redisVersion,
    exits,
    // DASHBOARD_AUTH=off is the bench's choice, and the dashboard says so
    problems: Object.fromEntries([...tally.problems].filter(([k]) => !k.endsWith('dashboard.auth-off'))),
  };
}

async function waitForSweeps(sweeps: readonly unknown[], worker: AppProcess, n: number): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (sweeps.length < SWEEP_WARMUP + SWEEPS) {
    if (!worker.running) throw new Error(`scale ${n}: the worker exited:\n${worker.tail()}`);
    if (Date.now() > deadline) throw new Error(`scale ${n}: ${sweeps.length} finalize sweeps in 120 s`);
    await sleep(100);
  }
}

interface Page {
  readonly streams: readonly { readonly id: string }[];
  readonly next: string | null;
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`scale: GET ${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/**
 * The cursor of a page about 90% deep into the list, the way the page reaches it: following
 * each page's `next` (1,000 rows at a time, or 100 below 10,000 streams).
 */
async function deepCursor(base: string, n: number): Promise<{ cursor: string; at: number }> {
  const step = n >= 10_000 ? 1000 : 100;
  let at = 0;
  let cursor: string | null = null;
  while (at + step <= 0.9 * n) {
    const page: Page = await getJson<Page>(`${base}/api/streams?limit=${step}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
    if (page.next === null) break;
    cursor = page.next;
    at += page.streams.length;
  }
  if (cursor === null) throw new Error(`scale: no page after the first of ${n} streams`);
  return { cursor, at };
}

/** Each request REQUESTS times (after 3 untimed), taking turns, from sending to the whole body read (ms). */
async function timeRequests(base: string, n: number, detail: FinishedSpec): Promise<{ timings: Record<RequestName, Timing>; deepAt: number }> {
  const deep = await deepCursor(base, n);
  const urls: Record<RequestName, string> = {
    'first page': `${base}/api/streams?limit=${PAGE_SIZE}`,
    'deep page': `${base}/api/streams?limit=${PAGE_SIZE}&cursor=${encodeURIComponent(deep.cursor)}`,
    summary: `${base}/api/summary`,
    'one stream': `${base}/api/streams/${detail.id}`,
  };
  // what each answers, once: a page of PAGE_SIZE, the stream with its chunks from metadata.json
  const deepPage = await getJson<Page>(urls['deep page']);
  if (deepPage.streams.length !== PAGE_SIZE) throw new Error(`scale: the deep page holds ${deepPage.streams.length} streams`);
  const one = await getJson<{ chunks: unknown[] }>(urls['one stream']);
  if (one.chunks.length !== detail.chunks) throw new Error(`scale: /api/streams/${detail.id} shows ${one.chunks.length} chunks, not ${detail.chunks}`);
  const ms: Record<RequestName, number[]> = { 'first page': [], 'deep page': [], summary: [], 'one stream': [] };
  for (let round = -3; round < REQUESTS; round += 1) {
    for (const name of REQUEST_NAMES) {
      const t = performance.now();
      const res = await fetch(urls[name]);
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`scale: GET ${urls[name]}: ${res.status}`);
      if (round >= 0) ms[name].push(performance.now() - t);
    }
  }
  const timings = Object.fromEntries(REQUEST_NAMES.map((r) => [r, timing(ms[r])])) as Record<RequestName, Timing>;
  return { timings, deepAt: deep.at };
}
