import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { redisKeyPrefix } from '@vcu/config';
import { createS3Client, getObjectBytes } from '@vcu/storage';
import { REDIS_URL, randomBytes, sleep } from './harness.js';
import { freePort } from '@vcu/testkit';

const ROOT = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));

void describe('pnpm start (apps/local)', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  void it('runs watcher, worker and dashboard with an embedded S3 server when S3_ENDPOINT is unset', async () => {
    const work = await mkdtemp(path.join(os.tmpdir(), 'vcu-local-'));
    cleanups.push(() => rm(work, { recursive: true, force: true }));
    const prefix = `vcutest-local-${process.pid}`;
    const port = await freePort();
    const dashboardPort = await freePort();
    const env: Record<string, string> = {
      PATH: process.env['PATH'] ?? '',
      REDIS_URL,
      REDIS_PREFIX: prefix,
      LOCAL_S3_PORT: String(port),
      LOCAL_S3_DIR: path.join(work, 's3'),
      WATCH_DIR: path.join(work, 'input'),
      CHUNK_SIZE: '64KiB',
      STREAM_IDLE_MS: '500',
      FINALIZE_EVERY_MS: '300',
      DASHBOARD_PORT: String(dashboardPort),
      METRICS_PORT: '0',
    };
    const child = spawn(process.execPath, [path.join(ROOT, 'apps/local/dist/main.js')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    cleanups.push(async () => {
      // the launcher stops the apps it started (each in its own process group) when it is asked
      // to; SIGKILL would leave them running, so it gets SIGINT first and SIGKILL only after a while
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGINT');
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        await exited;
        clearTimeout(timer);
      }
      const redis = new Redis(REDIS_URL);
      const keys = await redis.keys(`${redisKeyPrefix(prefix)}:*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    });

    const deadline = Date.now() + 30_000;
    while (!output.includes('worker ready') || !output.includes('watching') || !output.includes('dashboard ready')) {
      assert.ok(Date.now() < deadline, `apps did not start:\n${output}`);
      assert.equal(child.exitCode, null, `launcher exited:\n${output}`);
      await sleep(100);
    }
    assert.match(output, /embedded S3 server on http:\/\/127\.0\.0\.1:\d+/);
    const password = /password (\S+) — set DASHBOARD_PASSWORD/.exec(output)?.[1] ?? '';
    assert.notEqual(password, '', 'a one-run dashboard password is printed');
    const board = await fetch(`http://127.0.0.1:${dashboardPort}/streams`, {
      headers: { authorization: `Basic ${Buffer.from(`admin:${password}`).toString('base64')}` },
    });
    assert.equal(board.status, 200, 'the dashboard answers with that password');
    assert.match(output, new RegExp(`dashboard: http://127\\.0\\.0\\.1:${dashboardPort}/`), 'the printed address is the one it listens on');
    await assert.rejects(fetch(`http://127.0.0.2:${dashboardPort}/healthz`, { signal: AbortSignal.timeout(5000) }), 'it listens on 127.0.0.1 only (DASHBOARD_HOST)');

    const data = randomBytes(200_000);
    await writeFile(path.join(work, 'input', 'clip.mp4'), data);
    const s3 = createS3Client({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
      forcePathStyle: true,
      connectTimeoutMs: 2000,
      requestTimeoutMs: 10_000,
    });
    cleanups.push(() => Promise.resolve(s3.destroy()));
    const match = () => /stream complete: metadata\.json written\s+stream=([0-9a-f]{24})/.exec(output);
    while (match() === null) {
      assert.ok(Date.now() < deadline + 30_000, `no metadata written:\n${output}`);
      await sleep(200);
    }
    const streamId = match()?.[1] ?? '';
    const metadata = JSON.parse((await getObjectBytes({ client: s3, bucket: 'vcu' }, `${streamId}/metadata.json`))?.toString() ?? '{}') as {
      chunks: { key: string }[];
    };
    const parts = await Promise.all(metadata.chunks.map((c) => getObjectBytes({ client: s3, bucket: 'vcu' }, c.key)));
    assert.ok(Buffer.concat(parts.map((p) => p ?? Buffer.alloc(0))).equals(data), 'byte-exact in the embedded S3 server');

    // `pnpm vcu:local`, run where `pnpm start` was, finds ./input and the embedded S3 by itself
    const cli = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const cliEnv = { ...env };
      delete cliEnv['WATCH_DIR'];
      const p = spawn(process.execPath, [path.join(ROOT, 'apps/local/dist/vcu.js'), 'verify', 'clip.mp4'], { cwd: work, env: cliEnv });
      let out = '';
      p.stdout.on('data', (d: Buffer) => (out += d.toString()));
      p.stderr.on('data', (d: Buffer) => (out += d.toString()));
      p.on('exit', (code) => resolve({ code, out }));
    });
    assert.equal(cli.code, 0, cli.out);
    assert.match(cli.out, new RegExp(`^OK stream ${streamId} .*local file: matches$`, 'm'));

    child.kill('SIGINT');
    assert.equal(await exited, 0, `Ctrl-C stops everything cleanly:\n${output.slice(-2000)}`);
  });
});
