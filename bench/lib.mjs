// Helpers for bench/run.mjs: settings, the real vcu apps as child processes, readings from /proc,
// and the S3 and Redis clients (borrowed from the workspace's own dependencies, so the bench
// installs nothing and does not depend on vcu's own code beyond the apps it runs).
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const requireFrom = (pkg) => createRequire(path.join(ROOT, pkg, 'package.json'));
const load = async (pkg, name) => import(pathToFileURL(requireFrom(pkg).resolve(name)).href);

// the AWS SDK warns on every start that it will need Node 22 from 2027: not news for a benchmark
process.removeAllListeners('warning');
process.on('warning', (w) => {
  if (!`${w.name} ${w.message}`.includes('NodeVersionSupportWarning')) console.error(`${w.name}: ${w.message}`);
});
export const s3sdk = await load('packages/storage', '@aws-sdk/client-s3');
export const { Redis } = await load('packages/queue', 'ioredis');

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

/** Everything the bench talks to; the same variables the apps read, with the local RGW as default. */
export const settings = {
  endpoint: process.env.S3_ENDPOINT || 'http://127.0.0.1:7480',
  region: process.env.S3_REGION || 'us-east-1',
  accessKey: process.env.S3_ACCESS_KEY ?? 'rgwadmin',
  secretKey: process.env.S3_SECRET_KEY ?? 'rgwadminsecret',
  forcePathStyle: process.env.S3_FORCE_PATH_STYLE ?? 'true',
  bucket: process.env.S3_BUCKET || 'vcu-bench',
  redisUrl: process.env.REDIS_URL || 'redis://127.0.0.1:6379',
  data: process.env.VCU_BENCH_DATA || '/tmp/vcu-bench-data',
};

/** The S3 settings of the apps, as environment variables. */
export function s3Env() {
  return {
    S3_ENDPOINT: settings.endpoint,
    S3_REGION: settings.region,
    S3_ACCESS_KEY: settings.accessKey,
    S3_SECRET_KEY: settings.secretKey,
    S3_FORCE_PATH_STYLE: settings.forcePathStyle,
    S3_BUCKET: settings.bucket,
  };
}

export const log = (...args) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...args);
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
export const mbps = (bytes, seconds) => bytes / 1e6 / seconds;

export function run(file, args, timeoutMs = 10_000) {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 16 * MiB }, (err, stdout, stderr) =>
      resolve({ ok: err === null, stdout: String(stdout), stderr: String(stderr), err }),
    );
  });
}

let clockTicks;
/** Clock ticks per second of /proc's CPU times (`getconf CLK_TCK`). */
export async function clkTck() {
  if (clockTicks === undefined) {
    const r = await run('getconf', ['CLK_TCK']);
    clockTicks = Number(r.stdout.trim()) || 100;
  }
  return clockTicks;
}

/** utime + stime (seconds) from a /proc/<pid>[/task/<tid>]/stat text, and the comm in it. */
function parseStat(text, ticks) {
  const close = text.lastIndexOf(')');
  const comm = text.slice(text.indexOf('(') + 1, close);
  const fields = text.slice(close + 2).split(' ');
  // fields[0] is field 3 (state): utime is field 14, stime field 15
  return { comm, cpu: (Number(fields[11]) + Number(fields[12])) / ticks };
}

/**
 * The event loop (the main thread: JavaScript, and hashing, which Node's crypto runs on the
 * calling thread) against every other thread (libuv's pool doing file reads, V8's GC and
 * compiler threads). Node 20 leaves its threads unnamed, so they cannot be told apart further.
 */
function threadGroup(tid, pid) {
  return tid === pid ? 'main' : 'threads';
}

/**
 * CPU seconds (user+sys) of a live process, by thread group, and its peak and current RSS
 * (VmHWM, VmRSS). Undefined once the process is gone.
 */
export function procStats(pid, ticks) {
  try {
    const { cpu } = parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'), ticks);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
    const threads = { main: 0, threads: 0 };
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const t = parseStat(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'), ticks);
        threads[threadGroup(Number(tid), pid)] += t.cpu;
      } catch {
        // thread ended meanwhile
      }
    }
    return { cpu, threads, peakRss: kb('VmHWM'), rss: kb('VmRSS') };
  } catch {
    return undefined;
  }
}

/** Processes of the S3 server and of Redis that run on this machine, by name. */
const SERVER_COMMS = {
  radosgw: 's3',
  'ceph-osd': 's3',
  'ceph-mon': 's3',
  'ceph-mgr': 's3',
  minio: 's3',
  'redis-server': 'redis',
};

/** CPU seconds so far of the S3 server's and Redis's processes on this machine (pid → {comm, cpu}). */
export function serverCpu(ticks) {
  const found = new Map();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const s = parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'), ticks);
      if (SERVER_COMMS[s.comm] !== undefined) found.set(pid, { comm: s.comm, role: SERVER_COMMS[s.comm], cpu: s.cpu });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Machine-wide CPU jiffies from /proc/stat: busy and total (seconds of all cores). */
export function machineCpu(ticks) {
  const first = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = first;
  const total = user + nice + system + idle + iowait + irq + softirq + steal;
  return { busy: (total - idle - iowait) / ticks, iowait: iowait / ticks, total: total / ticks };
}

/** A snapshot of every CPU counter the bench compares across a measurement. */
export function cpuSnapshot(ticks, apps) {
  return {
    at: Date.now(),
    machine: machineCpu(ticks),
    servers: serverCpu(ticks),
    bench: process.cpuUsage(),
    apps: new Map(apps.map((a) => [a.pid, procStats(a.pid, ticks)])),
  };
}

/** What happened between two snapshots: CPU seconds by who used them. */
export function cpuDelta(before, after) {
  const server = { s3: 0, redis: 0, byComm: {} };
  for (const [pid, s] of after.servers) {
    const d = s.cpu - (before.servers.get(pid)?.cpu ?? 0);
    server[s.role] += d;
    server.byComm[s.comm] = (server.byComm[s.comm] ?? 0) + d;
  }
  let apps = 0;
  const perApp = new Map();
  for (const [pid, s] of after.apps) {
    const b = before.apps.get(pid);
    if (s === undefined || b === undefined) continue;
    apps += s.cpu - b.cpu;
    const threads = {};
    for (const group of Object.keys(s.threads)) threads[group] = s.threads[group] - (b.threads[group] ?? 0);
    perApp.set(pid, { cpu: s.cpu - b.cpu, threads });
  }
  const bench = (after.bench.user + after.bench.system - before.bench.user - before.bench.system) / 1e6;
  const machineBusy = after.machine.busy - before.machine.busy;
  const wall = (after.at - before.at) / 1000;
  return {
    wall,
    cores: os.cpus().length,
    machineBusy,
    iowait: after.machine.iowait - before.machine.iowait,
    apps,
    perApp,
    s3: server.s3,
    redis: server.redis,
    byComm: server.byComm,
    bench,
    other: Math.max(0, machineBusy - apps - server.s3 - server.redis - bench),
  };
}

/**
 * A vcu app (`apps/<name>/dist/main.js`) as a child process with JSON logs. `onLine` sees each
 * parsed line; the last lines are kept for error messages, warnings and errors are counted.
 */
export function startApp(name, env, onLine = () => {}, extraNodeArgs = []) {
  // e.g. BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=bench/results/prof" to profile the apps
  const nodeArgs = [...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== ''), ...extraNodeArgs];
  const child = spawn(process.execPath, [...nodeArgs, path.join(ROOT, 'apps', name, 'dist', 'main.js')], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail = [];
  const problems = new Map();
  const waiters = new Set();
  const keep = (text) => {
    tail.push(text);
    if (tail.length > 40) tail.shift();
  };
  const take = (text) => {
    if (text === '') return;
    let line;
    try {
      line = JSON.parse(text);
    } catch {
      line = undefined;
    }
    if (line === null || typeof line !== 'object' || typeof line.message !== 'string') {
      // the AWS SDK's warning about Node 20's end of support is not a problem of the run
      if (!/NodeVersionSupportWarning|node >=22|a\.co\/|upgrade to node|AWS services, bug fixes|will require node|--trace-warnings|versions published after/.test(text) && text.trim() !== '') {
        keep(text);
        problems.set(`(stderr) ${text.slice(0, 120)}`, (problems.get(`(stderr) ${text.slice(0, 120)}`) ?? 0) + 1);
      }
      return;
    }
    keep(text);
    if (line.level === 'warn' || line.level === 'error') problems.set(`${line.level}: ${line.message}`, (problems.get(`${line.level}: ${line.message}`) ?? 0) + 1);
    onLine(line, app);
    for (const w of waiters) {
      if (w.test(line)) {
        waiters.delete(w);
        w.resolve(line);
      }
    }
  };
  const collect = (stream) => {
    let buffer = '';
    stream.setEncoding('utf8');
    stream.on('data', (data) => {
      buffer += data;
      let i;
      while ((i = buffer.indexOf('\n')) >= 0) {
        take(buffer.slice(0, i));
        buffer = buffer.slice(i + 1);
      }
    });
  };
  collect(child.stdout);
  collect(child.stderr);
  let exitCode;
  const exited = new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      exitCode = code ?? signal;
      for (const w of waiters) w.reject(new Error(`${name} (pid ${child.pid}) exited (${exitCode}) while waiting for "${w.message}":\n${tail.join('\n')}`));
      waiters.clear();
      resolve(exitCode);
    }),
  );
  const app = {
    name,
    pid: child.pid,
    problems,
    tail: () => tail.join('\n'),
    get running() {
      return exitCode === undefined;
    },
    /** Resolves with the first future line whose message is `message`. */
    waitFor(message, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        if (!app.running) {
          reject(new Error(`${name} exited (${exitCode}) before logging "${message}":\n${tail.join('\n')}`));
          return;
        }
        const w = {
          message,
          test: (l) => l.message === message,
          resolve: (l) => {
            clearTimeout(timer);
            resolve(l);
          },
          reject: (err) => {
            clearTimeout(timer);
            reject(err);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(w);
          reject(new Error(`${name} did not log "${message}" within ${timeoutMs} ms:\n${tail.join('\n')}`));
        }, timeoutMs);
        waiters.add(w);
      });
    },
    /** SIGTERM, then SIGKILL if it has not exited after `graceMs`; resolves with the exit code or signal. */
    async stop(graceMs = 40_000) {
      if (!app.running) return exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    kill() {
      if (app.running) child.kill('SIGKILL');
    },
  };
  return app;
}

export function s3Client() {
  const agent = { keepAlive: true, maxSockets: 64 };
  return new s3sdk.S3Client({
    endpoint: settings.endpoint,
    region: settings.region,
    forcePathStyle: settings.forcePathStyle !== 'false',
    credentials: settings.accessKey !== '' ? { accessKeyId: settings.accessKey, secretAccessKey: settings.secretKey } : undefined,
    // no SDK CRC32 trailers, as in vcu: some servers refuse them
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 5000, requestTimeout: 120_000, httpAgent: new HttpAgent(agent), httpsAgent: new HttpsAgent(agent) },
  });
}

/** Every object under `prefix`: key and size. */
export async function listPrefix(client, prefix) {
  const objects = [];
  let token;
  do {
    const page = await client.send(new s3sdk.ListObjectsV2Command({ Bucket: settings.bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) objects.push({ key: o.Key, size: o.Size ?? 0 });
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return objects;
}

/** Deletes every object under `prefix`; returns how many. */
export async function deletePrefix(client, prefix) {
  let deleted = 0;
  for (;;) {
    const page = await client.send(new s3sdk.ListObjectsV2Command({ Bucket: settings.bucket, Prefix: prefix, MaxKeys: 1000 }));
    const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key }));
    if (keys.length === 0) return deleted;
    await client.send(new s3sdk.DeleteObjectsCommand({ Bucket: settings.bucket, Delete: { Objects: keys, Quiet: true } }));
    deleted += keys.length;
  }
}

export async function getText(client, key) {
  const r = await client.send(new s3sdk.GetObjectCommand({ Bucket: settings.bucket, Key: key }));
  return r.Body.transformToString('utf8');
}

/** Keys under `prefix:` (SCAN); deleted with UNLINK when `remove`. */
export async function scanRedis(redis, prefix, remove = false) {
  const keys = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (remove && batch.length > 0) await redis.unlink(...batch);
    else keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}

export async function redisUsedMemory(redis) {
  return Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? NaN);
}

/**
 * Redis keys grouped by shape (stream ids, numbers and paths replaced), with MEMORY USAGE
 * measured on a sample of each group.
 */
export async function redisKeyShapes(redis, prefix, keys) {
  const groups = new Map();
  for (const key of keys) {
    const shape = key
      .slice(prefix.length + 1)
      .replace(/^path:.*/, 'path:<path>')
      .replace(/[0-9a-f]{16,}/g, '<id>')
      .replace(/\b\d+\b/g, '<n>');
    const g = groups.get(shape) ?? { shape, keys: [] };
    g.keys.push(key);
    groups.set(shape, g);
  }
  const shapes = [];
  for (const g of groups.values()) {
    const sample = g.keys.slice(0, 50);
    const pipeline = redis.pipeline();
    for (const k of sample) pipeline.memory('USAGE', k);
    const sizes = ((await pipeline.exec()) ?? []).map(([, v]) => Number(v ?? 0));
    const avg = sizes.reduce((a, b) => a + b, 0) / Math.max(1, sizes.length);
    const type = await redis.type(g.keys[0]);
    shapes.push({ shape: g.shape, type, count: g.keys.length, avgBytes: avg, bytes: avg * g.keys.length });
  }
  return shapes.sort((a, b) => b.bytes - a.bytes);
}

/** CPU model, cores, RAM, kernel, Node. */
export function machineFacts() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model?.trim() ?? 'unknown CPU',
    cores: cpus.length,
    ramGiB: os.totalmem() / GiB,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
  };
}

/** A one-line description of the S3 server: its software when it runs on this machine. */
export async function describeS3(client) {
  const url = new URL(settings.endpoint);
  const local = ['127.0.0.1', 'localhost', '::1', '[::1]'].includes(url.hostname);
  let software;
  const servers = serverCpu(await clkTck());
  const comms = new Set([...servers.values()].map((s) => s.comm));
  if (local && comms.has('radosgw')) {
    const v = await run('radosgw', ['--version']);
    const m = /ceph version (\S+).*\((\w+)\)/.exec(v.stdout);
    software = `Ceph RADOS Gateway ${m ? `${m[1]} (${m[2]})` : ''}`.trim();
    if (existsSync('/tmp/rgw/ceph.conf')) software += ', one OSD (BlueStore on a file)';
  } else if (local && comms.has('minio')) {
    software = 'MinIO';
  }
  if (software === undefined) {
    try {
      const r = await client.send(new s3sdk.ListBucketsCommand({}));
      software = r.$metadata.httpStatusCode === 200 ? 'S3-compatible server' : 'S3';
    } catch {
      software = 'S3';
    }
  }
  return `${software} at ${settings.endpoint}${local ? ' (same machine)' : ''}`;
}

/**
 * Command run after each scenario deleted its objects, so the S3 server reclaims the space before
 * the next one (BENCH_S3_GC; empty = none). By default, on the local Ceph RGW: process its garbage
 * collector now (deleted objects otherwise hold their space for minutes on a small test OSD).
 */
export function gcCommand() {
  const set = process.env.BENCH_S3_GC;
  if (set !== undefined) return set.trim() === '' ? undefined : set;
  if (settings.endpoint === 'http://127.0.0.1:7480' && existsSync('/tmp/rgw/ceph.conf')) {
    return 'radosgw-admin -c /tmp/rgw/ceph.conf gc process --include-all';
  }
  return undefined;
}

export async function runGc() {
  const command = gcCommand();
  if (command === undefined) return;
  const started = Date.now();
  const r = await run('sh', ['-c', command], 600_000);
  if (!r.ok) log(`S3 garbage collection (${command}) failed: ${r.stderr.trim().slice(0, 300) || String(r.err)}`);
  else log(`S3 garbage collection: ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

export async function gitFacts() {
  const head = await run('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']);
  const dirty = await run('git', ['-C', ROOT, 'status', '--porcelain', '--', 'apps', 'packages']);
  const changed = dirty.stdout
    .split('\n')
    .map((l) => l.slice(3).trim())
    .filter((l) => l !== '');
  return { commit: head.stdout.trim() || 'unknown', changed };
}

/**
 * Where a Node process spent its time, from a V8 CPU profile (`--cpu-prof`): self time grouped
 * into hashing (by who hashed), garbage collection, idle, and code by package.
 */
export function summarizeProfile(file) {
  const prof = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map();
  let total = 0;
  for (let i = 0; i < prof.samples.length; i += 1) {
    const d = prof.timeDeltas[i] ?? 0;
    total += d;
    self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + d);
  }
  const ancestors = (id) => {
    const names = [];
    for (let p = parent.get(id); p !== undefined; p = parent.get(p)) names.push(byId.get(p).callFrame);
    return names;
  };
  const groups = new Map();
  const add = (group, us) => groups.set(group, (groups.get(group) ?? 0) + us);
  for (const [id, us] of self) {
    const { functionName: fn, url } = byId.get(id).callFrame;
    if (fn === '(idle)') add('idle', us);
    else if (fn === '(garbage collector)') add('garbage collector', us);
    else if (url === 'node:internal/crypto/hash') {
      const up = ancestors(id).map((f) => f.functionName);
      if (up.includes('getPayloadHash')) add('hashing: SHA-256 of each request body by the AWS SDK (SigV4 payload signing)', us);
      else if (up.includes('readChunk')) add('hashing: SHA-256 of each chunk (readChunk)', us);
      else if (up.includes('digestFile')) add('hashing: SHA-256 of the whole file at finalize (digestFile)', us);
      else add('hashing: elsewhere', us);
    } else if (ancestors(id).some((f) => f.url.startsWith('node:internal/modules'))) add('loading modules (start-up)', us);
    else if (ancestors(id).some((f) => f.functionName === 'digestFile')) add('finalize: reading the whole file again (besides hashing)', us);
    else if (ancestors(id).some((f) => f.functionName === 'readChunk')) add('chunk upload: reading the chunk (besides hashing)', us);
    else if (/node_modules\/(\.pnpm\/)?(@aws-sdk|@smithy|@aws-crypto)/.test(url)) add('AWS SDK (JavaScript)', us);
    else if (/node_modules\/(\.pnpm\/)?(bullmq|ioredis|msgpackr|cron-parser)/.test(url)) add('BullMQ and ioredis (JavaScript)', us);
    else if (/node_modules\/(\.pnpm\/)?(winston|logform|@colors|triple-beam|readable-stream|safe-stable-stringify)/.test(url)) add('logging (winston)', us);
    else if (url.includes('node_modules')) add('other packages', us);
    else if (url.includes('/apps/') || url.includes('/packages/')) add("vcu's own code", us);
    else if (url.startsWith('node:')) add('Node core in JavaScript (http, net, fs, streams, timers)', us);
    else if (fn === '(program)') add('(program: V8 and native work not attributed)', us);
    else add(`native: ${fn}`, us);
  }
  const busy = total - (groups.get('idle') ?? 0);
  const rows = [...groups]
    .filter(([g]) => g !== 'idle')
    .map(([group, us]) => ({ group, ms: us / 1000 }))
    .sort((a, b) => b.ms - a.ms);
  // native calls of less than 2% each folded together
  const small = rows.filter((r) => r.group.startsWith('native: ') && r.ms * 1000 < 0.02 * busy);
  const kept = rows.filter((r) => !small.includes(r));
  if (small.length > 0) kept.push({ group: `native: other (${small.map((r) => r.group.slice(8)).slice(0, 4).join(', ')}…)`, ms: small.reduce((a, r) => a + r.ms, 0) });
  return { totalMs: total / 1000, busyMs: busy / 1000, idleMs: (groups.get('idle') ?? 0) / 1000, rows: kept };
}
