import { DeleteObjectsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { createHash, randomUUID } from 'node:crypto';
export { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Queue } from 'bullmq';
import { type Cluster, Redis } from 'ioredis';
import { redisKeyPrefix } from '@vcu/config';
import type { StreamMetadata } from '@vcu/domain';
import { type StreamStore, createStreamStore } from '@vcu/state';
import { type EmbeddedS3, startEmbeddedS3 } from '@vcu/local/embedded-s3';
import { type S3Settings, createS3Client, getObjectBytes } from '@vcu/storage';
import { AppProcess } from '@vcu/testkit';

export const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const CLI = path.resolve(fileURLToPath(new URL('../../apps/cli/dist/main.js', import.meta.url)));
const runFile = promisify(execFile);
export const BUCKET = process.env['S3_BUCKET'] ?? 'vcu-test';

let embedded: Promise<EmbeddedS3> | undefined;

/**
 * The S3 server the tests talk to: S3_ENDPOINT and keys from the environment (CI points them at
 * Ceph RGW), or else an embedded s3rver started once per test file.
 */
/** The S3 settings tests run with: S3_ENDPOINT's server, or the embedded one (started once). */
export async function s3Settings(): Promise<Record<string, string>> {
  const endpoint = process.env['S3_ENDPOINT'];
  if (endpoint !== undefined && endpoint !== '') {
    return {
      S3_ENDPOINT: endpoint,
      S3_ACCESS_KEY: process.env['S3_ACCESS_KEY'] ?? '',
      S3_SECRET_KEY: process.env['S3_SECRET_KEY'] ?? '',
      S3_FORCE_PATH_STYLE: process.env['S3_FORCE_PATH_STYLE'] ?? 'true',
      S3_REGION: process.env['S3_REGION'] ?? 'us-east-1',
    };
  }
  embedded ??= startEmbeddedS3({ directory: await mkdtemp(path.join(os.tmpdir(), 'vcu-s3rver-')), keepAlive: false });
  return { ...(await embedded).env, S3_REGION: 'us-east-1' };
}

/** An S3 client for the tests' S3 server, or for `endpoint` (a proxy to it), with `overrides` of its settings. */
export async function testS3Client(endpoint?: string, overrides: Partial<S3Settings> = {}): Promise<S3Client> {
  const s3 = await s3Settings();
  return createS3Client({
    endpoint: endpoint ?? s3['S3_ENDPOINT'],
    region: s3['S3_REGION'] ?? 'us-east-1',
    accessKeyId: s3['S3_ACCESS_KEY'],
    secretAccessKey: s3['S3_SECRET_KEY'],
    forcePathStyle: true,
    connectTimeoutMs: 5000,
    requestTimeoutMs: 30_000,
    ...overrides,
  });
}

export interface HarnessOptions {
  readonly chunkSize?: number;
  readonly streamIdleMs?: number;
  readonly finalizeEveryMs?: number;
  readonly concurrency?: number;
  readonly env?: Record<string, string>;
  /** Redis for this test (a private RedisServer's url); the shared one by default. */
  readonly redisUrl?: string;
  /**
   * A private Sentinel group or Cluster (@vcu/testkit): its settings for the apps
   * (REDIS_SENTINELS…) and the test's own client of it.
   */
  readonly redisTopology?: { readonly env: Record<string, string>; readonly client: () => Redis | Cluster };
  /** Run the apps without root's power to read any file (tests of permission errors); see @vcu/testkit. */
  readonly unprivileged?: boolean;
}

/**
 * One isolated vcu installation per test: its own WATCH_DIR, REDIS_PREFIX and S3_PREFIX, sharing
 * the real Redis and the real S3 server. Starts the real apps as processes; cleans up after.
 */
export class Harness {
  readonly apps: AppProcess[] = [];

  private constructor(
    readonly id: string,
    readonly dir: string,
    readonly env: Record<string, string>,
    readonly s3: S3Client,
    readonly redis: Redis | Cluster,
    private readonly unprivileged: boolean,
    /** The test runs its own redis-server (HarnessOptions.redisUrl). */
    private readonly privateRedis: boolean,
  ) {}

  static async create(options: HarnessOptions = {}): Promise<Harness> {
    const id = `t${randomUUID().slice(0, 8)}`;
    const dir = await mkdtemp(path.join(os.tmpdir(), `vcu-watch-${id}-`));
    const s3 = await s3Settings();
    const env: Record<string, string> = {
      ...s3,
      REDIS_URL: options.redisUrl ?? REDIS_URL,
      REDIS_PREFIX: `vcutest-${id}`,
      S3_BUCKET: BUCKET,
      S3_PREFIX: `${id}/`,
      WATCH_DIR: dir,
      CHUNK_SIZE: String(options.chunkSize ?? 64 * 1024),
      STREAM_IDLE_MS: String(options.streamIdleMs ?? 600),
      FINALIZE_EVERY_MS: String(options.finalizeEveryMs ?? 300),
      WORKER_CONCURRENCY: String(options.concurrency ?? 4),
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'debug',
      SHUTDOWN_TIMEOUT_MS: '10000',
      METRICS_PORT: '0',
      ...options.redisTopology?.env,
      ...options.env,
    };
    const client = await testS3Client();
    const redis = options.redisTopology?.client() ?? new Redis(options.redisUrl ?? REDIS_URL, { maxRetriesPerRequest: 3, lazyConnect: true });
    redis.on('error', () => undefined);
    const privateRedis = options.redisUrl !== undefined || options.redisTopology !== undefined;
    return new Harness(id, dir, env, client, redis, options.unprivileged ?? false, privateRedis);
  }

  /** The start of every Redis key of this installation: `{REDIS_PREFIX}` (a hash tag, see redisKeyPrefix). */
  get keyPrefix(): string {
    return redisKeyPrefix(this.env['REDIS_PREFIX'] ?? '');
  }

  /** The stream store of this installation, on the harness's Redis connection. */
  get store(): StreamStore {
    return createStreamStore({ redis: this.redis, prefix: this.keyPrefix });
  }

  /** Runs the `vcu` command with this installation's settings; resolves with its exit code and output. */
  async cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await runFile(process.execPath, [CLI, ...args], { env: { PATH: process.env['PATH'] ?? '', ...this.env } });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  }

  /** False when the tests run against the embedded s3rver (S3_ENDPOINT unset). */
  get realS3(): boolean {
    return (process.env['S3_ENDPOINT'] ?? '') !== '';
  }

  start(name: 'watcher' | 'worker' | 'dashboard', env: Record<string, string> = {}): AppProcess {
    const app = new AppProcess(name, { ...this.env, ...env }, { unprivileged: this.unprivileged });
    this.apps.push(app);
    return app;
  }

  /** Starts a worker and a watcher and waits until both are ready. */
  async startAll(): Promise<{ watcher: AppProcess; worker: AppProcess }> {
    const worker = this.start('worker');
    await worker.waitFor('worker ready');
    const watcher = this.start('watcher');
    await watcher.waitFor('watching');
    return { watcher, worker };
  }

  file(relativePath: string): string {
    return path.join(this.dir, ...relativePath.split('/'));
  }

  async write(relativePath: string, data: Buffer): Promise<void> {
    await mkdir(path.dirname(this.file(relativePath)), { recursive: true });
    await writeFile(this.file(relativePath), data);
  }

  /** Every metadata.json under this test's prefix. */
  async allMetadata(): Promise<StreamMetadata[]> {
    const found: StreamMetadata[] = [];
    let token: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${this.id}/`, ContinuationToken: token }),
      );
      for (const object of page.Contents ?? []) {
        if (object.Key?.endsWith('/metadata.json') !== true) continue;
        const body = await getObjectBytes({ client: this.s3, bucket: BUCKET }, object.Key);
        if (body !== undefined) found.push(JSON.parse(body.toString('utf8')) as StreamMetadata);
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return found;
  }

  /** Waits for a metadata.json of `relativePath` that describes exactly these bytes. */
  async waitForMetadata(relativePath: string, expected: Buffer, timeoutMs = 60_000): Promise<StreamMetadata> {
    const sha = sha256(expected);
    const deadline = Date.now() + timeoutMs;
    let seen: StreamMetadata[] = [];
    while (Date.now() < deadline) {
      seen = (await this.allMetadata()).filter((m) => m.source.path === relativePath);
      const match = seen.find((m) => m.sha256 === sha && m.source.size === expected.length);
      if (match !== undefined) return match;
      await sleep(250);
    }
    throw new Error(
      `no metadata.json for ${relativePath} (${expected.length} bytes, sha ${sha}) within ${timeoutMs} ms; seen: ${JSON.stringify(
        seen.map((m) => ({ size: m.source.size, revision: m.revision, sha: m.sha256 })),
      )}\n${this.apps.map((a) => `--- ${a.name}\n${a.tail()}`).join('\n')}`,
    );
  }

  /** The file as rebuilt from the chunks metadata.json lists, in order. */
  async reassemble(metadata: StreamMetadata): Promise<Buffer> {
    const parts: Buffer[] = [];
    for (const chunk of metadata.chunks) {
      const body = await getObjectBytes({ client: this.s3, bucket: BUCKET }, chunk.key);
      if (body === undefined) throw new Error(`chunk object ${chunk.key} is missing`);
      parts.push(body);
    }
    return Buffer.concat(parts);
  }

  async objectExists(key: string): Promise<boolean> {
    return (await getObjectBytes({ client: this.s3, bucket: BUCKET }, key)) !== undefined;
  }

  async readLocal(relativePath: string): Promise<Buffer> {
    return readFile(this.file(relativePath));
  }

  /** Job counts of a vcu queue, by state (waiting, active, delayed, failed, completed…). */
  async jobCounts(queue: 'chunks' | 'finalize' = 'chunks'): Promise<Record<string, number>> {
    const q = new Queue(queue, { connection: this.redis, prefix: this.keyPrefix });
    try {
      return await q.getJobCounts();
    } finally {
      await q.close();
    }
  }

  /** Deletes every object under this test's prefix, so that runs of the suite do not fill the S3 server. */
  async deleteObjects(): Promise<void> {
    for (;;) {
      const page = await this.s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${this.id}/`, MaxKeys: 1000 }));
      const keys = (page.Contents ?? []).flatMap((o) => (o.Key === undefined ? [] : [{ Key: o.Key }]));
      if (keys.length === 0) return;
      await this.s3.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: keys, Quiet: true } }));
    }
  }

  /**
   * Stops the apps and removes what the test left: its objects in S3, its Redis keys (unless it
   * ran on a private Redis, which is thrown away whole), its clients and its folder. The folder
   * and the clients go even when Redis or S3 is down, so a failed test is not hidden behind a
   * cleanup error.
   */
  async close(): Promise<void> {
    try {
      await Promise.all(this.apps.map((app) => app.stop('SIGKILL')));
      await this.deleteObjects().catch((err: unknown) => process.stderr.write(`could not delete the test's objects: ${String(err)}\n`));
      if (this.privateRedis) return;
      if (this.redis.status !== 'ready') await this.redis.connect().catch(() => undefined);
      const prefix = this.keyPrefix;
      let cursor = '0';
      do {
        const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await this.redis.unlink(...keys);
      } while (cursor !== '0');
    } finally {
      this.redis.disconnect();
      this.s3.destroy();
      await rm(this.dir, { recursive: true, force: true });
    }
  }
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every 100 ms until it holds; fails with `what` after `timeoutMs`. */
export async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await sleep(100);
  }
}

/** Asserts the metadata lists chunks 0..n-1 in order, contiguous, with the contract's keys. */
export function chunkIndicesOk(metadata: StreamMetadata, prefix: string): boolean {
  return metadata.chunks.every(
    (c, i) =>
      c.index === i &&
      c.offset === i * metadata.chunkSize &&
      c.key === `${prefix}${metadata.streamId}/chunk_${String(i).padStart(6, '0')}.bin`,
  );
}
