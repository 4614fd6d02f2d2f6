#!/usr/bin/env node
// pnpm bench [-- --only=ceiling,e2e,scaling,many,growing] [--quick]
// Measures vcu against the S3 server in S3_ENDPOINT (default: the Ceph RGW on 127.0.0.1:7480) and
// writes BENCHMARKS.md. See bench/README.md for what each number means.
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, openSync, closeSync, readSync, writeFileSync, statSync } from 'node:fs';
import { link, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ROOT, Redis, deletePrefix, deleteRedisPrefix, log, s3Client, s3sdk, sleep, startApp } from './lib.mjs';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = (args.find((a) => a.startsWith('--only='))?.slice(7) ?? 'ceiling,e2e,scaling,many,growing').split(',');
const MiB = 1024 * 1024;
const FILE_SIZE = (quick ? 32 : 256) * MiB;
const FILES = 4;
const MANY = quick ? 500 : 5000;
const BUCKET = process.env.S3_BUCKET ?? 'vcu-bench';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const DATA = process.env.VCU_BENCH_DATA ?? '/tmp/vcu-bench-data';
const client = s3Client();
const redis = new Redis(REDIS_URL);
const results = {};
const mbps = (bytes, seconds) => bytes / 1e6 / seconds;

function ensureData() {
  mkdirSync(DATA, { recursive: true });
  const files = [];
  for (let i = 0; i < FILES; i += 1) {
    const file = path.join(DATA, `big-${FILE_SIZE / MiB}MiB-${i}.mp4`);
    if (!existsSync(file) || statSync(file).size !== FILE_SIZE) {
      log(`generating ${file}`);
      writeFileSync(file, '');
      for (let w = 0; w < FILE_SIZE; w += 16 * MiB) appendFileSync(file, randomBytes(Math.min(16 * MiB, FILE_SIZE - w)));
    }
    files.push(file);
  }
  return files;
}

async function ensureBucket() {
  await client.send(new s3sdk.CreateBucketCommand({ Bucket: BUCKET })).catch(() => undefined);
}

/** 1. plain PutObject of the same files' 10 MiB ranges, N in flight. */
async function ceiling(files) {
  const rows = [];
  for (const inflight of [1, 2, 4, 8]) {
    const prefix = `ceiling-${Date.now()}/`;
    const ranges = files.flatMap((file) => Array.from({ length: FILE_SIZE / (10 * MiB) + 1 }, (_, i) => ({ file, offset: i * 10 * MiB })))
      .map((r) => ({ ...r, size: Math.min(10 * MiB, FILE_SIZE - r.offset) }))
      .filter((r) => r.size > 0);
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: inflight }, async () => {
        while (next < ranges.length) {
          const r = ranges[next++];
          const body = Buffer.allocUnsafe(r.size);
          const fd = openSync(r.file, 'r');
          readSync(fd, body, 0, r.size, r.offset);
          closeSync(fd);
          const md5 = createHash('md5').update(body).digest('base64');
          await client.send(new s3sdk.PutObjectCommand({ Bucket: BUCKET, Key: `${prefix}${path.basename(r.file)}-${r.offset}`, Body: body, ContentMD5: md5 }));
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    rows.push({ inflight, mbps: mbps(FILES * FILE_SIZE, seconds) });
    log(`ceiling ${inflight} in flight: ${rows.at(-1).mbps.toFixed(1)} MB/s`);
    await deletePrefix(client, BUCKET, prefix);
  }
  return rows;
}

/** Runs the real watcher and `workers` workers; links `files` in; waits for their metadata. */
async function endToEnd(files, { workers = 1, env = {}, label }) {
  const id = `b${Date.now().toString(36)}`;
  const dir = await mkdtemp(path.join(path.dirname(DATA), 'vcu-bench-watch-'));
  const common = {
    REDIS_URL, REDIS_PREFIX: `vcubench-${id}`, S3_ENDPOINT: process.env.S3_ENDPOINT ?? 'http://127.0.0.1:7480',
    S3_ACCESS_KEY: process.env.S3_ACCESS_KEY ?? 'rgwadmin', S3_SECRET_KEY: process.env.S3_SECRET_KEY ?? 'rgwadminsecret',
    S3_BUCKET: BUCKET, S3_PREFIX: `${id}/`, WATCH_DIR: dir, LOG_FORMAT: 'json', LOG_LEVEL: 'info', METRICS_PORT: '0', ...env,
  };
  const completed = new Map();
  const uploads = [];
  const onLine = (l) => {
    if (l.message === 'stream complete: metadata.json written') completed.set(l.path, Date.parse(l.timestamp));
    if (l.message === 'chunk uploaded') uploads.push(l);
  };
  const procs = [];
  for (let i = 0; i < workers; i += 1) procs.push(startApp('worker', common, onLine));
  await Promise.all(procs.map((p) => p.waitFor('worker ready')));
  const watcher = startApp('watcher', common, onLine);
  await watcher.waitFor('watching');
  procs.push(watcher);
  const usedBefore = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? 0);

  const started = Date.now();
  const names = typeof files === 'function' ? await files(dir) : await Promise.all(files.map(async (f, i) => {
    const name = `f${i}.mp4`;
    await link(f, path.join(dir, name));
    return name;
  }));
  const bytes = names.reduce((sum, n) => sum + statSync(path.join(dir, n)).size, 0);
  while (completed.size < names.length) {
    if (Date.now() - started > 20 * 60_000) throw new Error(`${label}: only ${completed.size}/${names.length} finished`);
    await sleep(50);
  }
  const seconds = (Math.max(...completed.values()) - started) / 1000;
  const stats = procs.map((p) => ({ name: p.name, ...p.stats() }));
  const usedAfter = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? 0);
  const keys = await deleteRedisPrefix(redis, common.REDIS_PREFIX);
  await Promise.all(procs.map((p) => p.stop()));
  await deleteRedisPrefix(redis, common.REDIS_PREFIX);
  await deletePrefix(client, BUCKET, common.S3_PREFIX);
  await rm(dir, { recursive: true, force: true });
  const cpu = stats.reduce((s, p) => s + p.cpu, 0);
  const result = {
    label, files: names.length, bytes, seconds, mbps: mbps(bytes, seconds), filesPerSecond: names.length / seconds,
    cpuPerGiB: cpu / (bytes / 1024 ** 3), peakRss: stats.map((p) => `${p.name} ${(p.peakRss / MiB).toFixed(0)} MiB`).join(', '),
    watcherRss: stats.find((p) => p.name === 'watcher')?.peakRss ?? 0,
    workerRss: Math.max(...stats.filter((p) => p.name === 'worker').map((p) => p.peakRss)),
    redisPerStream: (usedAfter - usedBefore) / names.length, keysPerStream: keys / names.length, uploads, completed,
  };
  log(`${label}: ${result.mbps.toFixed(1)} MB/s, ${result.filesPerSecond.toFixed(1)} files/s, ${result.cpuPerGiB.toFixed(2)} CPU s/GiB, ${result.peakRss}`);
  return result;
}

async function manyFiles() {
  const staging = path.join(DATA, `many-${MANY}`);
  let seed = 42;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const sizes = Array.from({ length: MANY }, () => Math.floor(64 * 1024 + rand() * (MiB - 64 * 1024)));
  if (!existsSync(path.join(staging, `s${MANY - 1}.mp4`))) {
    log(`generating ${MANY} small files`);
    mkdirSync(staging, { recursive: true });
    const pool = randomBytes(2 * MiB);
    sizes.forEach((size, i) => {
      const body = Buffer.concat([Buffer.from(`file ${i}\n`), pool.subarray(i % MiB, (i % MiB) + size)]).subarray(0, size);
      writeFileSync(path.join(staging, `s${i}.mp4`), body);
    });
  }
  return endToEnd(async (dir) => {
    const names = sizes.map((_, i) => `s${i}.mp4`);
    await Promise.all(names.map((n) => link(path.join(staging, n), path.join(dir, n))));
    return names;
  }, { label: `${MANY} small files` });
}

async function growing() {
  const seconds = quick ? 5 : 10;
  const writes = [];
  const r = await endToEnd(async (dir) => {
    const file = path.join(dir, 'live.mp4');
    await writeFile(file, '');
    for (let i = 0; i < seconds * 10; i += 1) {
      appendFileSync(file, randomBytes(MiB));
      writes.push({ end: (i + 1) * MiB, at: Date.now() });
      await sleep(100);
    }
    return ['live.mp4'];
  }, { label: 'growing file' });
  const chunk = 10 * MiB;
  const delays = r.uploads
    .filter((u) => u.bytes === chunk)
    .map((u) => Date.parse(u.timestamp) - (writes.find((w) => w.end >= (u.chunk + 1) * chunk)?.at ?? 0))
    .sort((a, b) => a - b);
  const lastWrite = writes.at(-1).at;
  return {
    chunks: delays.length,
    medianChunkMs: delays[Math.floor(delays.length / 2)] ?? NaN,
    maxChunkMs: delays.at(-1) ?? NaN,
    metadataMs: (r.completed.get('live.mp4') ?? NaN) - lastWrite,
  };
}

function machine() {
  const cpus = os.cpus();
  return `${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, ${(os.totalmem() / 1024 ** 3).toFixed(0)} GiB RAM, Node ${process.version}, S3: ${process.env.S3_ENDPOINT ?? 'Ceph RGW 16 on 127.0.0.1:7480'} (same machine)`;
}

function report() {
  const c = results.ceiling;
  const best = c ? Math.max(...c.map((r) => r.mbps)) : undefined;
  const ratio = (x) => (best ? `${(x / best).toFixed(2)}` : 'n/a');
  const lines = [
    '# vcu benchmarks',
    '',
    `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC with \`pnpm bench${quick ? ' -- --quick' : ''}\` on one machine: ${machine()}.`,
    'Every figure of one run shares the machine, the S3 server and the data; bench/README.md says how each is taken.',
    '',
  ];
  if (c) {
    lines.push('## Ceiling: plain PutObject of the same 10 MiB ranges', '', '| in flight | MB/s |', '|---|---|');
    for (const r of c) lines.push(`| ${r.inflight} | ${r.mbps.toFixed(1)} |`);
    lines.push('', `Ceiling: **${best.toFixed(1)} MB/s**.`, '');
  }
  if (results.e2e) {
    const e = results.e2e;
    lines.push('## vcu end to end (defaults)', '', `${e.files} files of ${FILE_SIZE / MiB} MiB hard-linked into the watched folder; time from the first link to the last metadata.json.`, '',
      '| MB/s | ratio to ceiling | seconds | CPU s per GiB (watcher + worker) | peak RSS |', '|---|---|---|---|---|',
      `| ${e.mbps.toFixed(1)} | ${ratio(e.mbps)} | ${e.seconds.toFixed(2)} | ${e.cpuPerGiB.toFixed(2)} | ${e.peakRss} |`, '');
  }
  if (results.scaling) {
    lines.push('## Scaling', '', '| setup | MB/s | ratio to ceiling | CPU s per GiB | peak RSS |', '|---|---|---|---|---|');
    for (const s of results.scaling) lines.push(`| ${s.label} | ${s.mbps.toFixed(1)} | ${ratio(s.mbps)} | ${s.cpuPerGiB.toFixed(2)} | ${s.peakRss} |`);
    lines.push('');
  }
  if (results.many) {
    const m = results.many;
    lines.push('## Many small files', '', `${m.files} files of 64 KiB–1 MiB (${(m.bytes / 1e9).toFixed(2)} GB) linked in at once.`, '',
      '| files/s to metadata | MB/s | Redis memory per stream | Redis keys per stream | watcher peak RSS | worker peak RSS |', '|---|---|---|---|---|---|',
      `| ${m.filesPerSecond.toFixed(1)} | ${m.mbps.toFixed(1)} | ${(m.redisPerStream / 1024).toFixed(1)} KiB | ${m.keysPerStream.toFixed(1)} | ${(m.watcherRss / MiB).toFixed(0)} MiB | ${(m.workerRss / MiB).toFixed(0)} MiB |`, '');
  }
  if (results.growing) {
    const g = results.growing;
    lines.push('## A growing file', '', 'A writer appends 1 MiB every 100 ms; chunks are 10 MiB.', '',
      '| full chunks | chunk bytes written → uploaded, median | max | last write → metadata.json |', '|---|---|---|---|',
      `| ${g.chunks} | ${g.medianChunkMs} ms | ${g.maxChunkMs} ms | ${g.metadataMs} ms |`, '',
      'With SEAL_WHEN_CLOSED (default on outside containers) a closed file is finished at once; otherwise add STREAM_IDLE_MS (5000) and up to FINALIZE_EVERY_MS (1000).', '');
  }
  writeFileSync(path.join(ROOT, 'BENCHMARKS.md'), `${lines.join('\n')}\n`);
  log('wrote BENCHMARKS.md');
}

await ensureBucket();
const files = ensureData();
if (only.includes('ceiling')) results.ceiling = await ceiling(files);
if (only.includes('e2e')) results.e2e = await endToEnd(files, { label: 'defaults' });
if (only.includes('scaling')) {
  results.scaling = [];
  for (const workers of [1, 2, 4]) results.scaling.push(await endToEnd(files, { workers, label: `${workers} worker process${workers > 1 ? 'es' : ''}` }));
  for (const c of [1, 2, 4, 8, 16]) results.scaling.push(await endToEnd(files, { env: { WORKER_CONCURRENCY: String(c) }, label: `1 worker, WORKER_CONCURRENCY ${c}` }));
}
if (only.includes('many')) results.many = await manyFiles();
if (only.includes('growing')) results.growing = await growing();
report();
await redis.quit();
client.destroy();
