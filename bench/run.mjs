#!/usr/bin/env node
// pnpm bench [-- --only=ceiling,e2e,scaling,many,growing] [--quick] [--repeat=N] [--out=FILE]
//
// Measures vcu against the S3 server in S3_ENDPOINT (default: the Ceph RGW on 127.0.0.1:7480)
// and Redis in REDIS_URL, with the real watcher and worker processes, and writes a report
// (BENCHMARKS.md for a full run). bench/README.md says what each number means.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { link, mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  GiB,
  MiB,
  ROOT,
  Redis,
  clkTck,
  cpuDelta,
  cpuSnapshot,
  deletePrefix,
  describeS3,
  gcCommand,
  getText,
  gitFacts,
  listPrefix,
  log,
  machineFacts,
  mbps,
  procStats,
  redisKeyShapes,
  redisUsedMemory,
  runGc,
  s3Client,
  s3Env,
  s3sdk,
  scanRedis,
  serverCpu,
  settings,
  sleep,
  startApp,
  summarizeProfile,
} from './lib.mjs';

// ---------------------------------------------------------------------------------------- options

const ALL = ['ceiling', 'e2e', 'scaling', 'many', 'growing', 'profile'];
const argv = process.argv.slice(2).filter((a) => a !== '--');
const option = (name) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
for (const a of argv) {
  if (!/^--(quick|only=.+|repeat=\d+|out=.+|help)$/.test(a)) {
    console.error(`unknown argument ${a}\nusage: pnpm bench [-- --only=${ALL.join(',')}] [--quick] [--repeat=N] [--out=FILE]`);
    process.exit(2);
  }
}
if (argv.includes('--help')) {
  console.error(`usage: pnpm bench [-- --only=${ALL.join(',')}] [--quick] [--repeat=N] [--out=FILE]\nSee bench/README.md.`);
  process.exit(0);
}
const quick = argv.includes('--quick');
const only = (option('only') ?? ALL.join(','))
  .split(',')
  .map((s) => s.trim())
  .filter((s) => s !== '')
  .map((s) => (s === 'cpu' ? 'e2e' : s));
for (const s of only) {
  if (!ALL.includes(s)) {
    console.error(`--only: unknown scenario "${s}"; choose from ${ALL.join(', ')} (cpu = e2e)`);
    process.exit(2);
  }
}
const selected = (s) => only.includes(s);
const full = !quick && ALL.every(selected);
const REPEAT = Number(option('repeat') ?? (quick ? 1 : 3));
const FILES = 4;
const FILE_SIZE = (quick ? 32 : 256) * MiB;
const CEILING_RANGE = 10 * MiB;
const MANY = quick ? 500 : 5000;
const MANY_SEED = 20261125;
const GROW_WRITES = quick ? 50 : 100; // 1 MiB every 100 ms
const DATA = settings.data;
const STAMP = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
const TAG = `vb${Date.now().toString(36)}`;
const OUT = option('out') ?? (full ? path.join(ROOT, 'BENCHMARKS.md') : path.join(ROOT, 'bench', 'results', `BENCHMARKS-${STAMP}.md`));

const ticks = await clkTck();
const client = s3Client();
const redis = new Redis(settings.redisUrl, { maxRetriesPerRequest: 3 });
redis.on('error', (err) => log(`redis: ${err.message}`));

/** Cleanups of whatever is running now; a signal runs them before exiting. */
const active = new Set();
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log(`${signal}: stopping the apps and deleting this run's keys and objects (again to exit at once)`);
    Promise.allSettled([...active].map((c) => c()))
      .then(() => process.exit(130))
      .catch(() => process.exit(130));
  });
}

let counter = 0;
const nextId = (slug) => `${TAG}-${slug}-${++counter}`;
const fmt = (x, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
const mib = (bytes) => `${fmt(bytes / MiB, 0)} MiB`;
const median = (xs) => {
  const s = [...xs].filter(Number.isFinite).sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor((s.length - 1) / 2)];
};
const quantile = (xs, q) => {
  const s = [...xs].filter(Number.isFinite).sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

// ------------------------------------------------------------------------------------------- data

/** 4 files of random bytes, generated once under DATA and reused; their SHA-256 beside them. */
async function bigFiles() {
  await mkdir(DATA, { recursive: true });
  const files = [];
  for (let i = 0; i < FILES; i += 1) {
    const file = path.join(DATA, `big-${FILE_SIZE / MiB}MiB-${i}.mp4`);
    const shaFile = `${file}.sha256`;
    if (!existsSync(file) || statSync(file).size !== FILE_SIZE) {
      log(`generating ${file}`);
      const tmp = `${file}.gen-${process.pid}`;
      const handle = await open(tmp, 'w');
      const hash = createHash('sha256');
      for (let w = 0; w < FILE_SIZE; w += 16 * MiB) {
        const block = randomBytes(Math.min(16 * MiB, FILE_SIZE - w));
        hash.update(block);
        await handle.write(block);
      }
      await handle.close();
      await rename(tmp, file);
      await writeFile(shaFile, hash.digest('hex'));
    } else if (!existsSync(shaFile) || statSync(shaFile).mtimeMs < statSync(file).mtimeMs) {
      log(`hashing ${file}`);
      await writeFile(shaFile, createHash('sha256').update(await readFile(file)).digest('hex'));
    }
    files.push({ file, size: FILE_SIZE, sha256: readFileSync(shaFile, 'utf8').trim() });
  }
  return files;
}

/** A small deterministic PRNG (mulberry32), for the sizes of the many small files. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** MANY files of 64 KiB–1 MiB (seeded sizes) in a staging folder under DATA, made once. */
async function manyFiles() {
  const rand = prng(MANY_SEED);
  const sizes = Array.from({ length: MANY }, () => 64 * 1024 + Math.floor(rand() * (MiB - 64 * 1024 + 1)));
  const dir = path.join(DATA, `many-${MANY}-seed${MANY_SEED}`);
  const names = sizes.map((_, i) => `s${String(i).padStart(5, '0')}.mp4`);
  const total = sizes.reduce((a, b) => a + b, 0);
  const marker = path.join(dir, '.complete');
  if (!existsSync(marker) || readFileSync(marker, 'utf8').trim() !== String(total)) {
    log(`generating ${MANY} files of 64 KiB–1 MiB (${fmt(total / 1e9, 2)} GB) in ${dir}`);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const pool = randomBytes(64 * MiB);
    for (let i = 0; i < MANY; i += 1) {
      const start = (i * 7919 * 4096) % (pool.length - MiB);
      const body = Buffer.from(pool.subarray(start, start + sizes[i]));
      body.write(`vcu bench file ${i}\n`, 0);
      await writeFile(path.join(dir, names[i]), body);
    }
    await writeFile(marker, String(total));
  }
  return { dir, names, sizes, total };
}

// ------------------------------------------------------------------------------------ preflight

/** Our own process and its ancestors (pnpm, the shell), which do not count as other load. */
function ancestry() {
  const mine = new Set();
  for (let pid = process.pid; pid > 1; ) {
    mine.add(pid);
    try {
      const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
      pid = Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      break;
    }
  }
  return mine;
}

/** vcu apps, test suites and benchmarks running on this machine that this run did not start. */
const disturbances = new Set();
function otherVcuProcesses(ownPids = []) {
  const skip = ancestry();
  for (const pid of ownPids) skip.add(pid);
  const found = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || skip.has(Number(p))) continue;
    let cmd;
    try {
      cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').join(' ').trim();
    } catch {
      continue;
    }
    const m = /(bench\/run\.mjs|apps\/\w+\/dist\/main\.js|scripts\/test\.mjs|node --test\S*|start-rgw\.sh|stop-rgw\.sh)/.exec(cmd);
    if (m) found.push(`${m[1]} (pid ${p})`);
  }
  for (const f of found) disturbances.add(f.replace(/ \(pid \d+\)/, ''));
  return found;
}

/** Says so, in the progress log and (via `disturbances`) in the report, when other vcu work runs. */
function warnIfDisturbed(ownPids = []) {
  const others = otherVcuProcesses(ownPids);
  if (others.length > 0) log(`WARNING: other vcu processes are running (${others.join(', ')}): figures will be disturbed`);
}

async function preflight() {
  for (const app of ['watcher', 'worker']) {
    if (!existsSync(path.join(ROOT, 'apps', app, 'dist', 'main.js'))) throw new Error(`apps/${app}/dist/main.js is missing: run pnpm build`);
  }
  await redis.ping();
  try {
    await client.send(new s3sdk.HeadBucketCommand({ Bucket: settings.bucket }));
  } catch {
    log(`creating bucket ${settings.bucket}`);
    await client.send(new s3sdk.CreateBucketCommand({ Bucket: settings.bucket })).catch((err) => {
      if (!/BucketAlreadyOwnedByYou|BucketAlreadyExists/.test(String(err?.name))) throw err;
    });
  }
  // a full S3 server (a small test OSD) accepts connections and then never answers a PUT
  const probe = `${TAG}-probe`;
  const put = client.send(new s3sdk.PutObjectCommand({ Bucket: settings.bucket, Key: probe, Body: randomBytes(1024) }));
  const answered = await Promise.race([put.then(() => true), sleep(20_000).then(() => false)]);
  if (!answered) {
    throw new Error(
      `S3 did not store a 1 KiB object within 20 s at ${settings.endpoint}: is it full? (Ceph: ceph -s; deleted objects are reclaimed by radosgw-admin gc process --include-all)`,
    );
  }
  await client.send(new s3sdk.DeleteObjectCommand({ Bucket: settings.bucket, Key: probe }));
  warnIfDisturbed();
  return { loadavg: os.loadavg() };
}

/** Single-thread SHA-256 and MD5 speed of this CPU on 10 MiB buffers, as vcu hashes each chunk. */
function hashSpeed() {
  const buffer = randomBytes(10 * MiB);
  const speed = (algorithm) => {
    createHash(algorithm).update(buffer).digest();
    const started = performance.now();
    let bytes = 0;
    while (performance.now() - started < 1000) {
      createHash(algorithm).update(buffer).digest();
      bytes += buffer.length;
    }
    return mbps(bytes, (performance.now() - started) / 1000);
  };
  return { sha256: speed('sha256'), md5: speed('md5') };
}

// -------------------------------------------------------------------------------------- ceiling

/**
 * Plain PutObject of the files' 10 MiB ranges, read from disk, with Content-MD5, `inflight` at once
 * (the SDK hashes each body once more with SHA-256 for SigV4). `lean`: vcu's own per-chunk S3 work
 * instead: one SHA-256 per range, sent as the signed payload hash and as user metadata, no MD5.
 */
async function ceiling(files, inflight, lean = false) {
  const prefix = `${nextId(`ceiling${inflight}${lean ? 'lean' : ''}`)}/`;
  const cleanup = () => deletePrefix(client, prefix);
  active.add(cleanup);
  try {
    const ranges = files.flatMap((f) =>
      Array.from({ length: Math.ceil(f.size / CEILING_RANGE) }, (_, i) => ({
        file: f.file,
        index: i,
        offset: i * CEILING_RANGE,
        size: Math.min(CEILING_RANGE, f.size - i * CEILING_RANGE),
      })),
    );
    const bytes = ranges.reduce((a, r) => a + r.size, 0);
    warnIfDisturbed();
    const before = cpuSnapshot(ticks, []);
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: inflight }, async () => {
        while (next < ranges.length) {
          const r = ranges[next++];
          const body = Buffer.allocUnsafe(r.size);
          const handle = await open(r.file, 'r');
          try {
            let filled = 0;
            while (filled < r.size) {
              const { bytesRead } = await handle.read(body, filled, r.size - filled, r.offset + filled);
              if (bytesRead === 0) throw new Error(`${r.file} is shorter than expected`);
              filled += bytesRead;
            }
          } finally {
            await handle.close();
          }
          const sha256 = lean ? createHash('sha256').update(body).digest('hex') : undefined;
          const command = new s3sdk.PutObjectCommand({
            Bucket: settings.bucket,
            Key: `${prefix}${path.basename(r.file)}/chunk_${String(r.index).padStart(6, '0')}.bin`,
            Body: body,
            ContentLength: r.size,
            ...(lean ? { Metadata: { sha256 } } : { ContentMD5: createHash('md5').update(body).digest('base64') }),
          });
          if (lean) {
            command.middlewareStack.add(
              (next) => (args) => {
                args.request.headers['x-amz-content-sha256'] = sha256;
                return next(args);
              },
              { step: 'build' },
            );
          }
          await client.send(command);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const cpu = cpuDelta(before, cpuSnapshot(ticks, []));
    const result = { inflight, lean, bytes, seconds, mbps: mbps(bytes, seconds), cpu };
    log(`ceiling: ${inflight} in flight${lean ? ', lean (one SHA-256, no MD5)' : ''}: ${fmt(result.mbps)} MB/s (${fmt(seconds, 2)} s)`);
    return result;
  } finally {
    await cleanup();
    active.delete(cleanup);
    await runGc();
  }
}

// ------------------------------------------------------------------------------------ vcu runs

/**
 * One measurement of the real apps: `workers` workers and a watcher on a fresh REDIS_PREFIX,
 * S3_PREFIX and WATCH_DIR; `drop(dir)` puts the files in and returns their names; then waits for
 * a metadata.json of each, reads /proc and Redis, stops the apps (SIGTERM), checks S3 and
 * deletes every key and object of the run.
 */
async function runVcu({ slug, label, workers = 1, env = {}, drop, timeoutMs = 15 * 60_000, redisShapes = false, verify, workerNodeArgs = [] }) {
  const id = nextId(slug);
  const dir = path.join(DATA, `watch-${id}`);
  const redisPrefix = `vcubench-${id}`;
  const s3Prefix = `${id}/`;
  await mkdir(dir, { recursive: true });
  const appEnv = {
    ...s3Env(),
    REDIS_URL: settings.redisUrl,
    REDIS_PREFIX: redisPrefix,
    S3_PREFIX: s3Prefix,
    WATCH_DIR: dir,
    LOG_FORMAT: 'json',
    LOG_LEVEL: 'info',
    METRICS_PORT: '0',
    ...env,
  };
  const completions = new Map();
  const perPath = new Map();
  const uploads = [];
  let chunksUploaded = 0;
  const skipped = {};
  let failedForGood = 0;
  const onLine = (l) => {
    if (l.message === 'chunk uploaded') {
      chunksUploaded += 1;
      const at = Date.parse(l.timestamp);
      uploads.push({ path: l.path, chunk: l.chunk, bytes: l.bytes, ms: l.ms, at });
      const p = perPath.get(l.path) ?? { first: at, last: at };
      p.last = Math.max(p.last, at);
      perPath.set(l.path, p);
    } else if (l.message.startsWith('stream complete:')) {
      if (!completions.has(l.path)) completions.set(l.path, Date.parse(l.timestamp));
    } else if (l.message.startsWith('chunk skipped: ')) {
      const reason = l.message.slice('chunk skipped: '.length);
      skipped[reason] = (skipped[reason] ?? 0) + 1;
    } else if (l.message === 'chunk failed for good') {
      failedForGood += 1;
    }
  };
  const apps = [];
  const cleanup = async () => {
    await Promise.allSettled(apps.map((a) => a.stop(5000)));
    await scanRedis(redis, redisPrefix, true);
    await deletePrefix(client, s3Prefix);
    await rm(dir, { recursive: true, force: true });
  };
  active.add(cleanup);
  log(`${label}: starting ${workers} worker${workers > 1 ? 's' : ''} and the watcher`);
  try {
    for (let i = 0; i < workers; i += 1) apps.push(startApp('worker', appEnv, onLine, workerNodeArgs));
    await Promise.all(apps.map((w) => w.waitFor('worker ready')));
    const watcher = startApp('watcher', appEnv, onLine);
    apps.push(watcher);
    await watcher.waitFor('watching');
    warnIfDisturbed(apps.map((a) => a.pid));
    const s3Pids = [...serverCpu(ticks)].filter(([, x]) => x.comm === 'radosgw').map(([pid]) => pid);
    const memBefore = await redisUsedMemory(redis);
    const keysBefore = (await scanRedis(redis, redisPrefix)).length;
    const ready = cpuSnapshot(ticks, apps);

    const t0 = Date.now();
    const dropped = await drop(dir);
    const names = dropped.names;
    const bytes = (await Promise.all(names.map(async (n) => (await stat(path.join(dir, n))).size))).reduce((a, b) => a + b, 0);
    let lastReport = Date.now();
    let progress = { at: Date.now(), count: -1 };
    while (!names.every((n) => completions.has(n))) {
      if (chunksUploaded + completions.size !== progress.count) progress = { at: Date.now(), count: chunksUploaded + completions.size };
      if (Date.now() - progress.at > 180_000) {
        throw new Error(`${label}: no chunk uploaded and no file completed for 180 s (is S3 full or down?):\n${apps.map((a) => `--- ${a.name}\n${a.tail()}`).join('\n')}`);
      }
      const dead = apps.find((a) => !a.running);
      if (dead !== undefined) throw new Error(`${label}: the ${dead.name} exited during the run:\n${dead.tail()}`);
      if (failedForGood > 0) throw new Error(`${label}: ${failedForGood} chunk(s) failed for good:\n${apps.map((a) => a.tail()).join('\n')}`);
      if (Date.now() - t0 > timeoutMs) {
        throw new Error(`${label}: only ${completions.size}/${names.length} files complete after ${timeoutMs / 1000} s:\n${apps.map((a) => `--- ${a.name}\n${a.tail()}`).join('\n')}`);
      }
      if (Date.now() - lastReport > 5000) {
        lastReport = Date.now();
        log(`${label}: ${completions.size}/${names.length} files complete, ${chunksUploaded} chunks uploaded, ${fmt((Date.now() - t0) / 1000, 0)} s`);
      }
      await sleep(25);
    }
    const end = Math.max(...names.map((n) => completions.get(n)));
    const s3PidsAfter = [...serverCpu(ticks)].filter(([, x]) => x.comm === 'radosgw').map(([pid]) => pid);
    if (s3PidsAfter.join() !== s3Pids.join()) disturbances.add(`radosgw restarted during "${label}"`);
    const seconds = (end - t0) / 1000;
    const window = cpuDelta(ready, cpuSnapshot(ticks, apps));
    const memAfter = await redisUsedMemory(redis);
    const keys = await scanRedis(redis, redisPrefix);
    const shapes = redisShapes ? await redisKeyShapes(redis, redisPrefix, keys) : undefined;

    // just before stopping: CPU since start and peak RSS of every process
    const procs = apps.map((a) => ({ name: a.name, pid: a.pid, startup: ready.apps.get(a.pid)?.cpu ?? NaN, ...procStats(a.pid, ticks) }));
    const exits = await Promise.all(apps.map((a) => a.stop()));

    const objects = await listPrefix(client, s3Prefix);
    const metas = objects.filter((o) => o.key.endsWith('/metadata.json'));
    const chunkBytes = objects.filter((o) => /\/chunk_\d+\.bin$/.test(o.key)).reduce((a, o) => a + o.size, 0);
    if (metas.length !== names.length) throw new Error(`${label}: ${metas.length} metadata.json objects in S3, expected ${names.length}`);
    if (chunkBytes !== bytes) throw new Error(`${label}: the chunk objects hold ${chunkBytes} bytes, the files ${bytes}`);
    const checked = verify ? await verify(metas) : undefined;

    const cpu = procs.reduce((a, p) => a + (p.cpu ?? 0), 0);
    const firstChunk = names.map((n) => (perPath.get(n)?.first ?? NaN) - t0);
    const finalizeLag = names.map((n) => completions.get(n) - (perPath.get(n)?.last ?? NaN));
    const problems = new Map();
    for (const a of apps) for (const [k, v] of a.problems) problems.set(`${a.name} ${k}`, (problems.get(`${a.name} ${k}`) ?? 0) + v);
    const result = {
      label,
      slug,
      workers,
      env,
      files: names.length,
      bytes,
      seconds,
      mbps: mbps(bytes, seconds),
      filesPerSecond: names.length / seconds,
      cpu,
      cpuPerGiB: cpu / (bytes / GiB),
      startupCpu: procs.reduce((a, p) => a + p.startup, 0),
      procs,
      window,
      exits,
      redis: { memBefore, memAfter, keysBefore, keysAfter: keys.length, shapes },
      chunkMs: uploads.map((u) => u.ms),
      chunksUploaded,
      firstChunkMs: Math.min(...firstChunk.filter(Number.isFinite)),
      skipped,
      lastUploadMs: Math.max(...uploads.map((u) => u.at)) - t0,
      finalizeLagMs: { median: median(finalizeLag), max: Math.max(...finalizeLag.filter(Number.isFinite)) },
      problems: Object.fromEntries(problems),
      checked,
      dropped,
      uploads: dropped.keepUploads ? uploads : undefined,
      completions: dropped.keepUploads ? Object.fromEntries(completions) : undefined,
    };
    log(
      `${label}: ${fmt(result.mbps)} MB/s, ${fmt(result.filesPerSecond)} files/s, ${fmt(seconds, 2)} s, ${fmt(result.cpuPerGiB, 2)} CPU s/GiB, ` +
        `peak RSS ${procs.map((p) => `${p.name} ${mib(p.peakRss)}`).join(', ')}${exits.some((c) => c !== 0) ? `, exit codes ${exits.join(',')}` : ''}`,
    );
    return result;
  } finally {
    await cleanup();
    active.delete(cleanup);
    await runGc();
  }
}

/** Hard-links the 4 big files into the watched folder. */
const linkBig = (files) => async (dir) => {
  const names = files.map((_, i) => `f${i}.mp4`);
  await Promise.all(files.map((f, i) => link(f.file, path.join(dir, names[i]))));
  return { names };
};

/** Each metadata.json describes its file: size and SHA-256 of the whole file. */
const verifyBig = (files) => async (metas) => {
  const bySize = new Map(files.map((f, i) => [`f${i}.mp4`, f]));
  for (const m of metas) {
    const meta = JSON.parse(await getText(client, m.key));
    const f = bySize.get(meta.source.path);
    if (f === undefined || meta.source.size !== f.size || meta.sha256 !== f.sha256) {
      throw new Error(`metadata.json ${m.key} does not describe its file (path ${meta.source.path}, size ${meta.source.size}, sha256 ${meta.sha256})`);
    }
  }
  return `${metas.length} metadata.json, size and SHA-256 of each file match`;
};

const E2E_CONFIGS = [
  { slug: 'defaults', label: '1 worker (defaults)', workers: 1, env: {} },
  { slug: 'w2', label: '2 worker processes', workers: 2, env: {} },
  { slug: 'w4', label: '4 worker processes', workers: 4, env: {} },
  ...[1, 2, 4, 8, 16].map((c) => ({ slug: `c${c}`, label: `1 worker, WORKER_CONCURRENCY ${c}`, workers: 1, env: { WORKER_CONCURRENCY: String(c) } })),
];

async function many() {
  const set = await manyFiles();
  return runVcu({
    slug: 'many',
    label: `${MANY} small files`,
    redisShapes: true,
    drop: async (dir) => {
      await Promise.all(set.names.map((n) => link(path.join(set.dir, n), path.join(dir, n))));
      return { names: set.names };
    },
  });
}

/** One more end-to-end run with defaults, the worker under V8's sampling profiler (`--cpu-prof`). */
async function profiled(files) {
  const dir = path.join(DATA, `prof-${TAG}`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  try {
    const r = await runVcu({
      slug: 'profile',
      label: '1 worker (defaults), worker profiled',
      drop: linkBig(files),
      verify: verifyBig(files),
      workerNodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`],
    });
    const worker = r.procs.find((x) => x.name === 'worker');
    const file = readdirSync(dir).find((f) => f.includes(`.${worker.pid}.`) && f.endsWith('.cpuprofile'));
    if (file === undefined) throw new Error(`the worker left no CPU profile in ${dir}`);
    const kept = path.join(ROOT, 'bench', 'results', `${STAMP}-worker.cpuprofile`);
    await mkdir(path.dirname(kept), { recursive: true });
    await rename(path.join(dir, file), kept).catch(async () => writeFile(kept, await readFile(path.join(dir, file))));
    return { ...r, profile: summarizeProfile(kept), profileFile: path.relative(ROOT, kept) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A writer appends 1 MiB every 100 ms to one file it keeps open, then closes it. */
async function growing(env, label, slug) {
  const pool = randomBytes(8 * MiB);
  const writes = [];
  const r = await runVcu({
    slug,
    label,
    env,
    drop: async (dir) => {
      const handle = await open(path.join(dir, 'live.mp4'), 'w');
      const started = Date.now();
      let written = 0;
      for (let i = 0; i < GROW_WRITES; i += 1) {
        const wait = started + i * 100 - Date.now();
        if (wait > 0) await sleep(wait);
        const piece = pool.subarray((i % 7) * MiB, (i % 7) * MiB + MiB);
        await handle.write(piece, 0, piece.length, written);
        written += piece.length;
        writes.push({ end: written, at: Date.now() });
      }
      await handle.close();
      return { names: ['live.mp4'], keepUploads: true };
    },
  });
  const chunkSize = Number(env.CHUNK_SIZE ?? 10 * MiB);
  const firstUpload = new Map();
  for (const u of r.uploads) if (u.path === 'live.mp4' && u.bytes === chunkSize && !firstUpload.has(u.chunk)) firstUpload.set(u.chunk, u.at);
  const delays = [...firstUpload].map(([index, at]) => at - (writes.find((w) => w.end >= (index + 1) * chunkSize)?.at ?? NaN));
  const lastWrite = writes.at(-1).at;
  const idle = Number(env.STREAM_IDLE_MS ?? 5000);
  const every = Number(env.FINALIZE_EVERY_MS ?? 1000);
  return {
    ...r,
    growing: {
      seal: env.SEAL_WHEN_CLOSED ?? 'auto (default)',
      writes: writes.length,
      seconds: (lastWrite - writes[0].at) / 1000,
      bytes: writes.at(-1).end,
      fullChunks: Math.floor(writes.at(-1).end / chunkSize),
      uploadedChunks: delays.length,
      medianChunkMs: median(delays),
      maxChunkMs: Math.max(...delays),
      metadataMs: r.completions['live.mp4'] - lastWrite,
      idleBoundMs: idle + every,
      idle,
      every,
    },
  };
}

// ----------------------------------------------------------------------------------------- report

function report(meta, results) {
  const lines = [];
  const p = (...xs) => lines.push(...xs);
  const c = results.ceiling;
  // each level is its median run, as each vcu configuration is; the best level is the ceiling
  /** The median run (by MB/s) of repeated runs. */
  const pick = (runs) => [...runs].sort((a, b) => a.mbps - b.mbps)[Math.floor((runs.length - 1) / 2)];
  const levels = c ? [...new Set(c.rows.filter((r) => !r.lean).map((r) => r.inflight))].map((n) => pick(c.rows.filter((r) => r.inflight === n && !r.lean))) : [];
  const best = c ? Math.max(...levels.map((r) => r.mbps)) : undefined;
  const leanRows = c ? c.rows.filter((r) => r.lean) : [];
  const lean = leanRows.length > 0 ? pick(leanRows).mbps : undefined;
  const ratio = (x) => (best ? fmt(x / best, 2) : 'n/a');
  const command = `pnpm bench${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`;
  const m = meta.machine;
  const range = (runs) => (runs.length > 1 ? ` (${fmt(Math.min(...runs.map((r) => r.mbps)))}–${fmt(Math.max(...runs.map((r) => r.mbps)))})` : '');
  const rss = (r) => r.procs.map((x) => `${x.name} ${mib(x.peakRss)}`).join(', ');

  p('# vcu benchmarks', '');
  p(`Measured ${meta.date} with \`${command}\`${quick ? ' (quick: smaller sizes, for a fast check; not the reference figures)' : ''}.`, '');
  p('| | |', '|---|---|');
  p(`| machine | ${m.cpu}, ${m.cores} cores, ${fmt(m.ramGiB, 0)} GiB RAM, ${m.kernel} |`);
  p(`| Node | ${m.node} |`);
  p(`| S3 server | ${meta.s3} |`);
  p(`| Redis | ${meta.redis} at ${settings.redisUrl} (shared) |`);
  p(`| vcu | commit ${meta.git.commit}${meta.git.changed.length > 0 ? `, with uncommitted changes in ${meta.git.changed.join(', ')}` : ''} |`);
  p(`| repeats | ${REPEAT} per vcu configuration and ceiling level; tables give the median run and the range of MB/s |`);
  p(`| data | random bytes generated once under ${DATA} and hard-linked into the watched folder, so the files are in the page cache |`);
  if (meta.disturbances.length > 0) p(`| note | **seen during the run, so figures may be disturbed: ${meta.disturbances.join('; ')}** |`);
  p('');
  p(
    'Every scenario starts the real watcher and worker processes (`node apps/<name>/dist/main.js`, `LOG_FORMAT=json`, `METRICS_PORT=0`) with a',
    'fresh `REDIS_PREFIX`, `S3_PREFIX` and `WATCH_DIR`, waits for `worker ready` and `watching`, and ends with SIGTERM; settings not named are',
    'the defaults. MB/s is 10⁶ bytes per second. bench/README.md explains each figure.',
    '',
  );

  // headline
  const e = results.e2e ? pick(results.e2e) : undefined;
  p('## Summary', '', '| figure | value |', '|---|---|');
  if (best) p(`| ceiling (plain PutObject, best of 1/2/4/8 in flight, median run) | ${fmt(best)} MB/s |`);
  if (lean) p(`| lean uploader (vcu's own S3 work per chunk, 8 in flight, no queue) | ${fmt(lean)} MB/s |`);
  if (e) {
    p(`| vcu end to end, defaults (${e.files} × ${mib(e.bytes / e.files)}) | ${fmt(e.mbps)} MB/s = ${ratio(e.mbps)} of the ceiling${lean ? `, ${fmt(e.mbps / lean, 2)} of the lean uploader` : ''} |`);
    p(`| CPU per GiB (watcher + worker, user+sys) | ${fmt(e.cpuPerGiB, 2)} s |`);
  }
  if (results.scaling) {
    const bestScale = [...results.scaling.values()].map((runs) => pick(runs)).sort((a, b) => b.mbps - a.mbps)[0];
    if (bestScale) p(`| best vcu configuration measured | ${bestScale.label}: ${fmt(bestScale.mbps)} MB/s = ${ratio(bestScale.mbps)} of the ceiling |`);
  }
  if (results.many) p(`| many small files | ${fmt(results.many.filesPerSecond)} files/s; ${fmt((results.many.redis.memAfter - results.many.redis.memBefore) / results.many.files / 1024, 2)} KiB of Redis per stream |`);
  if (results.growing) {
    const g = results.growing[0].growing;
    p(`| growing file: chunk written → uploaded | median ${fmt(g.medianChunkMs, 0)} ms, max ${fmt(g.maxChunkMs, 0)} ms |`);
    for (const r of results.growing) p(`| growing file: last write → metadata.json (SEAL_WHEN_CLOSED ${r.growing.seal}) | ${fmt(r.growing.metadataMs, 0)} ms |`);
  }
  p('');

  if (c) {
    p('## 1. Ceiling: plain PutObject', '');
    p(
      `The same ${FILES} files' ${CEILING_RANGE / MiB} MiB ranges (${mib(c.rows[0].bytes)} in all), each read from disk into a buffer, its MD5 computed and sent`,
      'with `Content-MD5` in one PutObject (the SDK also hashes the body with SHA-256 to sign it), over a keep-alive agent, N requests in flight;',
      'no queue, no Redis. The best level (its median run) is "the ceiling": what this machine and this S3 server take with the simplest possible',
      'uploader. CPU columns are the seconds used during the run by this uploader and by the S3 server processes on this machine, per GiB.',
      'The last row, "lean", does the S3 work vcu does per chunk and nothing more: one SHA-256 of the body, sent as the signed payload hash',
      '(`x-amz-content-sha256`, which the server verifies) and as user metadata, no MD5. The S3 server and the uploader share 2 cores, so the',
      'uploader\'s hashing costs throughput: vcu, hashing less than the plain uploader, can pass the ceiling; the lean row is what it cannot pass',
      'without doing less work.',
      '',
    );
    p('| in flight | MB/s | seconds | uploader CPU s/GiB | S3 server CPU s/GiB | machine busy |', '|---|---|---|---|---|---|');
    for (const n of [...new Set(c.rows.filter((r) => !r.lean).map((r) => r.inflight))]) {
      const runs = c.rows.filter((r) => r.inflight === n && !r.lean);
      const r = pick(runs);
      const g = r.bytes / GiB;
      p(`| ${n} | ${fmt(r.mbps)}${range(runs)} | ${fmt(r.seconds, 2)} | ${fmt(r.cpu.bench / g, 2)} | ${fmt(r.cpu.s3 / g, 2)} | ${fmt((100 * r.cpu.machineBusy) / (r.cpu.wall * r.cpu.cores), 0)}% |`);
    }
    const sha = c.rows.filter((r) => r.lean);
    if (sha.length > 0) {
      const r = pick(sha);
      const g = r.bytes / GiB;
      p(`| ${r.inflight}, lean: one SHA-256 as signed payload hash and metadata, no MD5 (vcu's per-chunk S3 work, no queue) | ${fmt(r.mbps)}${range(sha)} | ${fmt(r.seconds, 2)} | ${fmt(r.cpu.bench / g, 2)} | ${fmt(r.cpu.s3 / g, 2)} | ${fmt((100 * r.cpu.machineBusy) / (r.cpu.wall * r.cpu.cores), 0)}% |`);
    }
    p('', `**Ceiling: ${fmt(best)} MB/s.** Hashing on this CPU, one thread, 10 MiB buffers: SHA-256 ${fmt(meta.hash.sha256, 0)} MB/s, MD5 ${fmt(meta.hash.md5, 0)} MB/s.`, '');
  }

  if (results.e2e) {
    const runs = results.e2e;
    p('## 2. vcu end to end (defaults)', '');
    p(
      `${e.files} files of ${mib(e.bytes / e.files)} (${mib(e.bytes)}) hard-linked into the empty watched folder once the watcher and one worker are ready. Time`,
      'from the first link to the last `stream complete: metadata.json written` log line (its timestamp) of those files; at the end the',
      `bench checks S3: ${e.checked ?? 'every metadata.json and chunk is there'}. Defaults: CHUNK_SIZE 10 MiB, WORKER_CONCURRENCY 4,`,
      'STREAM_IDLE_MS 5000, FINALIZE_EVERY_MS 1000, SEAL_WHEN_CLOSED auto.',
      '',
    );
    p('| MB/s | ratio to ceiling | seconds | first chunk uploaded after | chunk upload (read, hash, PUT, record) median / p90 | chunks uploaded / read again and skipped | last chunk → metadata.json, median / max |', '|---|---|---|---|---|---|---|');
    p(
      `| ${fmt(e.mbps)}${range(runs)} | ${ratio(e.mbps)} | ${fmt(e.seconds, 2)} | ${fmt(e.firstChunkMs, 0)} ms | ${fmt(median(e.chunkMs), 0)} / ${fmt(quantile(e.chunkMs, 0.9), 0)} ms | ${e.chunksUploaded} / ${Object.values(e.skipped).reduce((a, b) => a + b, 0)} | ${fmt(e.finalizeLagMs.median, 0)} / ${fmt(e.finalizeLagMs.max, 0)} ms |`,
      '',
    );

    p('## 3. CPU and memory (the end-to-end run above)', '');
    p(
      'User+system CPU seconds of each process from `/proc/<pid>/stat` (utime+stime ÷ `getconf CLK_TCK`) read just before it is stopped, so',
      'start-up is included (the "of which start-up" column is the CPU used until `worker ready` / `watching`); per GiB of file data moved.',
      'Peak RSS is `VmHWM` from `/proc/<pid>/status` at the same moment.',
      '',
    );
    p('| process | CPU s | of which start-up | CPU s per GiB | peak RSS |', '|---|---|---|---|---|');
    const g = e.bytes / GiB;
    for (const x of e.procs) p(`| ${x.name} (pid ${x.pid}) | ${fmt(x.cpu, 2)} | ${fmt(x.startup, 2)} | ${fmt(x.cpu / g, 2)} | ${mib(x.peakRss)} |`);
    p(`| **all** | ${fmt(e.cpu, 2)} | ${fmt(e.startupCpu, 2)} | **${fmt(e.cpuPerGiB, 2)}** | |`, '');
  }

  if (results.scaling) {
    p('## 4. Scaling', '');
    p(
      `The same ${FILES} files as in 2., end to end, with 1, 2 and 4 worker processes at the default concurrency, and with one worker at`,
      'WORKER_CONCURRENCY 1–16. CPU s per GiB is every vcu process (user+sys) until just before stopping.',
      '',
    );
    p('| setup | MB/s | ratio to ceiling | seconds | chunk upload median / p90 | CPU s per GiB | peak RSS |', '|---|---|---|---|---|---|---|');
    for (const [, runs] of results.scaling) {
      const r = pick(runs);
      p(`| ${r.label} | ${fmt(r.mbps)}${range(runs)} | ${ratio(r.mbps)} | ${fmt(r.seconds, 2)} | ${fmt(median(r.chunkMs), 0)} / ${fmt(quantile(r.chunkMs, 0.9), 0)} ms | ${fmt(r.cpuPerGiB, 2)} | ${rss(r)} |`);
    }
    p('');
  }

  if (results.many) {
    const r = results.many;
    const n = r.files;
    p('## 5. Many small files', '');
    p(
      `${n} files of 64 KiB–1 MiB (sizes from a seeded PRNG, ${fmt(r.bytes / 1e9, 2)} GB in all), made once in a staging folder on the same filesystem`,
      `and hard-linked into the watched folder all at once. Time from the first link to the ${n}th metadata.json. Redis memory per stream is`,
      '`INFO memory` used_memory after the last metadata.json minus before the drop, ÷ files (everything vcu and BullMQ keep: streams, chunk',
      'records, paths, completed jobs); keys per stream likewise from `SCAN MATCH <prefix>:*`.',
      '',
    );
    p('| files/s | MB/s | seconds | all chunks uploaded after | Redis memory per stream | Redis keys per stream | watcher peak RSS | worker peak RSS | CPU s per 1,000 files |', '|---|---|---|---|---|---|---|---|---|');
    const watcher = r.procs.find((x) => x.name === 'watcher');
    const worker = r.procs.find((x) => x.name === 'worker');
    p(
      `| ${fmt(r.filesPerSecond)} | ${fmt(r.mbps)} | ${fmt(r.seconds, 1)} | ${fmt(r.lastUploadMs / 1000, 1)} s | ${fmt((r.redis.memAfter - r.redis.memBefore) / n / 1024, 2)} KiB | ${fmt((r.redis.keysAfter - r.redis.keysBefore) / n, 2)} | ${mib(watcher?.peakRss ?? NaN)} | ${mib(worker?.peakRss ?? NaN)} | ${fmt((r.cpu / n) * 1000, 1)} |`,
      '',
    );
    if (r.redis.shapes) {
      p('Redis keys left after the run, by shape (MEMORY USAGE sampled on up to 50 keys of each):', '');
      p('| key (after the prefix) | type | keys | per stream | bytes each (avg) | bytes per stream |', '|---|---|---|---|---|---|');
      for (const s of r.redis.shapes.slice(0, 12)) p(`| \`${s.shape}\` | ${s.type} | ${s.count} | ${fmt(s.count / n, 2)} | ${fmt(s.avgBytes, 0)} | ${fmt(s.bytes / n, 0)} |`);
      p('');
      const now = r.redis.shapes.find((x) => x.shape.startsWith('finalize:now-'));
      if (now !== undefined) {
        p(
          `\`finalize:now-…\` are "finalize now" requests (a worker adds one when it records a stream's last chunk); ${now.count} of them were still`,
          'queued when the last metadata.json was written: sweeps run one at a time, each finalizing up to 500 idle streams one after another,',
          'so the requests pile up behind the running sweep.',
          '',
        );
      }
    }
  }

  if (results.growing) {
    p('## 6. A growing file', '');
    p(
      `A writer opens \`live.mp4\` in the watched folder and appends 1 MiB every 100 ms (${results.growing[0].growing.writes} writes, ~${fmt(results.growing[0].growing.seconds, 0)} s), then closes it.`,
      'For each full 10 MiB chunk: the time from the write that completed it to its `chunk uploaded` log line. Then the time from the',
      'last write to the metadata.json. With SEAL_WHEN_CLOSED (auto: on when the watcher runs in the host PID namespace, as here) the watcher',
      'sees that no process holds the file open for writing and finishes it at once; without it the file must first be idle for',
      'STREAM_IDLE_MS and then wait for a finalize sweep (every FINALIZE_EVERY_MS), so the bound is STREAM_IDLE_MS + FINALIZE_EVERY_MS.',
      '',
    );
    p('| SEAL_WHEN_CLOSED | full chunks | written → uploaded, median | max | last write → metadata.json | STREAM_IDLE_MS + FINALIZE_EVERY_MS |', '|---|---|---|---|---|---|');
    for (const r of results.growing) {
      const g = r.growing;
      p(`| ${g.seal} | ${g.uploadedChunks}/${g.fullChunks} | ${fmt(g.medianChunkMs, 0)} ms | ${fmt(g.maxChunkMs, 0)} ms | ${fmt(g.metadataMs, 0)} ms | ${g.idle} + ${g.every} = ${g.idleBoundMs} ms |`);
    }
    p('');
  }

  /** CPU by process between the first link and the last metadata.json of run `r`. */
  const whereTime = (r, title, per, unit) => {
    p(`## ${title}`, '');
    p(
      `CPU seconds used between the first link and the last metadata.json (${fmt(r.window.wall, 2)} s of wall time × ${r.window.cores} cores = ${fmt(r.window.wall * r.window.cores, 1)} core-seconds),`,
      'by process, from /proc. "worker: event loop" is its main thread (JavaScript: the S3 SDK, BullMQ and Redis, and SHA-256,',
      'which Node computes on the calling thread); "other threads" are libuv\'s pool (file reads) and V8\'s garbage collector and compiler.',
      '',
    );
    p(`| who | CPU s | share of the machine | ${unit} |`, '|---|---|---|---|');
    const total = r.window.wall * r.window.cores;
    const workers = r.procs.filter((x) => x.name === 'worker').length;
    const row = (who, s) => p(`| ${who} | ${fmt(s, 2)} | ${fmt((100 * s) / total, 0)}% | ${fmt(s / per, 2)} |`);
    for (const x of r.procs) {
      const d = r.window.perApp.get(x.pid);
      if (d === undefined) continue;
      if (x.name === 'worker') {
        row(`worker${workers > 1 ? ` ${x.pid}` : ''}: event loop (main thread)`, d.threads.main);
        row(`worker${workers > 1 ? ` ${x.pid}` : ''}: other threads (libuv pool, V8 GC)`, d.threads.threads);
      } else {
        row(x.name, d.cpu);
      }
    }
    for (const [comm, s] of Object.entries(r.window.byComm).sort((a, b) => b[1] - a[1])) row(comm, s);
    row('the bench itself (log parsing)', r.window.bench);
    row('everything else', r.window.other);
    row('**machine busy**', r.window.machineBusy);
    const mainWorker = r.procs.find((x) => x.name === 'worker');
    const mainBusy = mainWorker ? r.window.perApp.get(mainWorker.pid)?.threads.main / r.window.wall : NaN;
    p('', `The worker's event loop was busy ${fmt(100 * mainBusy, 0)}% of the wall time; the machine ${fmt((100 * r.window.machineBusy) / total, 0)}%.`);
  };
  if (e) {
    whereTime(e, 'Where the time goes: end to end (the run of 2.)', e.bytes / GiB, 'per GiB');
    const hashFloor = (2 * 1073.741824) / meta.hash.sha256;
    p(
      'vcu hashes every byte with SHA-256 twice: once when it uploads a chunk (the hash is signed into the request and kept as the',
      'object\'s metadata) and once more when finalize digests the whole file. At this CPU\'s speed that alone is',
      `${fmt(hashFloor, 2)} CPU s per GiB, all of it on the worker's event loop (S3_CONTENT_MD5=true would add MD5: ${fmt(1073.741824 / meta.hash.md5, 2)} s more).`,
      '',
    );
  }
  if (results.profile) {
    const r = results.profile;
    const prof = r.profile;
    const g = r.bytes / GiB;
    p("## Where the time goes: the worker's main thread (CPU profile)", '');
    p(
      `One more end-to-end run with defaults (${fmt(r.mbps)} MB/s; the profiler slows it a little, so it is not a measurement of its own) with the`,
      `worker under V8's sampling profiler (\`node --cpu-prof\`; the profile is kept in ${r.profileFile}). Self time of the main thread,`,
      `grouped; it was idle ${fmt(prof.idleMs / 1000, 2)} s of ${fmt(prof.totalMs / 1000, 2)} s. The profiler samples wall-clock time, so a row also counts`,
      'moments the thread waited for a core (the S3 server shares the machine): read the shares, not the milliseconds, as CPU. Shares leave',
      'out start-up (loading modules). "native: writev" is writing request bodies to sockets.',
      '',
    );
    p('| where | ms | share of busy time | ms per GiB |', '|---|---|---|---|');
    const startup = prof.rows.find((x) => x.group.startsWith('loading modules'))?.ms ?? 0;
    const busy = prof.busyMs - startup;
    for (const row of prof.rows) {
      if (row.group.startsWith('loading modules')) continue;
      p(`| ${row.group} | ${fmt(row.ms, 0)} | ${fmt((100 * row.ms) / busy, 1)}% | ${fmt(row.ms / g, 0)} |`);
    }
    const hashing = prof.rows.filter((x) => x.group.startsWith('hashing')).reduce((a, x) => a + x.ms, 0);
    p(`| **busy, start-up left out** | ${fmt(busy, 0)} | 100% | ${fmt(busy / g, 0)} |`, `| loading modules (start-up) | ${fmt(startup, 0)} | | |`, '');
    p(`Hashing is ${fmt((100 * hashing) / busy, 0)}% of the worker's busy main-thread time (${fmt(hashing / g, 0)} ms per GiB).`, '');
  }
  if (results.many) {
    whereTime(results.many, 'Where the time goes: many small files (the run of 5.)', results.many.files / 1000, 'per 1,000 files');
    p('');
  }

  const anomalies = [];
  const all = [
    ...(results.e2e ?? []),
    ...[...(results.scaling?.values() ?? [])].flat(),
    ...(results.many ? [results.many] : []),
    ...(results.growing ?? []),
    ...(results.profile ? [results.profile] : []),
  ];
  for (const r of all) {
    for (const [k, v] of Object.entries(r.problems)) anomalies.push(`- ${r.label}: ${k} (×${v})`);
    if (r.exits.some((x) => x !== 0)) anomalies.push(`- ${r.label}: exit codes after SIGTERM ${r.exits.join(', ')}`);
  }
  p('## Warnings and errors the apps logged', '');
  p(...(anomalies.length > 0 ? [...new Set(anomalies)] : ['None.']), '');
  return `${lines.join('\n')}\n`;
}

// ------------------------------------------------------------------------------------------- main

async function main() {
  log(`scenarios: ${only.join(', ')}${quick ? ' (quick)' : ''}; ${REPEAT} repeat(s); S3 ${settings.endpoint} bucket ${settings.bucket}; data ${DATA}`);
  if (gcCommand()) log(`after each scenario: ${gcCommand()}`);
  const pre = await preflight();
  const meta = {
    date: `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    machine: machineFacts(),
    s3: await describeS3(client),
    redis: `Redis ${/redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? '?'}`,
    git: await gitFacts(),
    hash: hashSpeed(),
    ...pre,
  };
  log(`hashing on this CPU: SHA-256 ${fmt(meta.hash.sha256, 0)} MB/s, MD5 ${fmt(meta.hash.md5, 0)} MB/s`);
  const results = {};
  const needBig = selected('ceiling') || selected('e2e') || selected('scaling') || selected('profile');
  const files = needBig ? await bigFiles() : [];

  if (selected('ceiling')) {
    const rows = [];
    for (let r = 0; r < REPEAT; r += 1) {
      for (const n of [1, 2, 4, 8]) rows.push(await ceiling(files, n));
      rows.push(await ceiling(files, 8, true));
    }
    results.ceiling = { rows };
  }
  if (selected('e2e') || selected('scaling')) {
    const configs = E2E_CONFIGS.filter((c) => (c.slug === 'defaults' ? true : selected('scaling')));
    const runs = new Map(configs.map((c) => [c.slug, []]));
    for (let r = 0; r < REPEAT; r += 1) {
      for (const c of configs) {
        runs.get(c.slug).push(await runVcu({ ...c, label: c.label, drop: linkBig(files), verify: verifyBig(files) }));
      }
    }
    if (selected('e2e')) results.e2e = runs.get('defaults');
    if (selected('scaling')) results.scaling = runs;
  }
  if (selected('many')) results.many = await many();
  if (selected('growing')) {
    results.growing = [await growing({}, 'growing file (defaults)', 'grow'), await growing({ SEAL_WHEN_CLOSED: 'off' }, 'growing file, SEAL_WHEN_CLOSED=off', 'growoff')];
  }

  if (selected('profile')) results.profile = await profiled(files);

  meta.disturbances = [...disturbances];
  const text = report(meta, results);
  await mkdir(path.dirname(OUT), { recursive: true });
  writeFileSync(OUT, text);
  await mkdir(path.join(ROOT, 'bench', 'results'), { recursive: true });
  const raw = JSON.stringify(
    { meta, argv, results },
    (k, v) => (v instanceof Map ? Object.fromEntries(v) : k === 'chunkMs' || k === 'uploads' ? undefined : v),
    2,
  );
  writeFileSync(path.join(ROOT, 'bench', 'results', `${STAMP}.json`), raw);
  log(`wrote ${path.relative(ROOT, OUT)} and bench/results/${STAMP}.json`);
  process.stdout.write(text);
}

try {
  await main();
} catch (err) {
  log(`FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exitCode = 1;
} finally {
  await redis.quit().catch(() => undefined);
  client.destroy();
}
