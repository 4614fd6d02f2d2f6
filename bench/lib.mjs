// Helpers for bench/run.mjs: the real apps as processes, /proc readings, S3 and Redis clients
// borrowed from the workspace's own dependencies.
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const fromStorage = createRequire(path.join(ROOT, 'packages/storage/package.json'));
const fromQueue = createRequire(path.join(ROOT, 'packages/queue/package.json'));
export const s3sdk = await import(pathToFileURL(fromStorage.resolve('@aws-sdk/client-s3')).href);
export const { Redis } = await import(pathToFileURL(fromQueue.resolve('ioredis')).href);
export const storage = await import(pathToFileURL(path.join(ROOT, 'packages/storage/dist/index.js')).href);

export const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
export const log = (...args) => console.error('[bench]', ...args);
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** user+sys CPU seconds and peak RSS (bytes) of a live process. */
export function procStats(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpu = (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpu, peakRss: Number(hwm?.[1] ?? 0) * 1024 };
}

/** A vcu app as a child process with JSON logs; `onLine` sees each parsed line. */
export function startApp(name, env, onLine = () => {}) {
  const child = spawn(process.execPath, [path.join(ROOT, 'apps', name, 'dist', 'main.js')], {
    env: { PATH: process.env.PATH, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const waiters = [];
  let buffer = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (data) => {
    buffer += data;
    let i;
    while ((i = buffer.indexOf('\n')) >= 0) {
      const text = buffer.slice(0, i);
      buffer = buffer.slice(i + 1);
      let line;
      try {
        line = JSON.parse(text);
      } catch {
        continue;
      }
      onLine(line);
      for (const w of [...waiters]) if (w.test(line)) w.resolve(line);
    }
  });
  const exited = new Promise((r) => child.on('exit', r));
  return {
    name,
    pid: child.pid,
    waitFor(message, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${name}: no "${message}" in ${timeoutMs} ms`)), timeoutMs);
        waiters.push({ test: (l) => l.message === message, resolve: (l) => (clearTimeout(timer), resolve(l)) });
      });
    },
    stats: () => procStats(child.pid),
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export function s3Client() {
  return storage.createS3Client({
    endpoint: process.env.S3_ENDPOINT ?? 'http://127.0.0.1:7480',
    region: process.env.S3_REGION ?? 'us-east-1',
    accessKeyId: process.env.S3_ACCESS_KEY ?? 'rgwadmin',
    secretAccessKey: process.env.S3_SECRET_KEY ?? 'rgwadminsecret',
    forcePathStyle: true,
    connectTimeoutMs: 5000,
    requestTimeoutMs: 120_000,
    maxSockets: 64,
  });
}

export async function deletePrefix(client, bucket, prefix) {
  let token;
  do {
    const page = await client.send(new s3sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key }));
    for (let i = 0; i < keys.length; i += 1000) {
      await client.send(new s3sdk.DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.slice(i, i + 1000), Quiet: true } }));
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}

export async function deleteRedisPrefix(redis, prefix) {
  let cursor = '0';
  let count = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    count += keys.length;
    if (keys.length) await redis.unlink(...keys);
  } while (cursor !== '0');
  return count;
}
