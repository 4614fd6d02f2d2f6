import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, open, utimes } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { StreamMetadata } from '@vcu/domain';
import { getObjectBytes, metadataKey } from '@vcu/storage';
import type { AppProcess, LogLine } from '@vcu/testkit';
import { BUCKET, type Harness, chunkIndicesOk, randomBytes } from './harness.js';

const run = promisify(execFile);

/** The Ceph config of the local RGW the fault tests may administer (create a second user); RGW_DIR as start-rgw.sh takes it. */
export const RGW_CONF = path.join(process.env['RGW_DIR'] ?? '/tmp/rgw', 'ceph.conf');

/** Every log line of these apps, each with the app's name. */
export function allLines(apps: readonly AppProcess[]): (LogLine & { readonly app: string })[] {
  return apps.flatMap((a) => a.lines.map((l) => ({ ...l, app: a.name })));
}

/** Lines of any of these apps at this level. */
export function linesAt(apps: readonly AppProcess[], level: 'error' | 'warn'): (LogLine & { readonly app: string })[] {
  return allLines(apps).filter((l) => l.level === level);
}

/**
 * Reassembles `metadata` from the chunk objects it lists and asserts the result is `expected`
 * byte for byte, with chunks 0..n-1 under the contract's keys.
 */
export async function assertReassembles(h: Harness, metadata: StreamMetadata, expected: Buffer, label: string): Promise<void> {
  assert.ok(chunkIndicesOk(metadata, `${h.id}/`), `${label}: metadata lists chunks 0..n-1 with the contract's keys`);
  assert.equal(metadata.chunks.length, Math.ceil(expected.length / metadata.chunkSize), `${label}: one chunk per chunk range`);
  const rebuilt = await h.reassemble(metadata);
  assert.equal(rebuilt.length, expected.length, `${label}: reassembled size`);
  assert.ok(rebuilt.equals(expected), `${label}: the chunks in S3 reassemble to the file byte for byte`);
}

/** Waits for each file's metadata.json (up to `timeoutMs` each) and asserts it reassembles to the bytes given. */
export async function assertFilesReassemble(h: Harness, files: readonly (readonly [string, Buffer])[], timeoutMs = 90_000): Promise<Map<string, StreamMetadata>> {
  const found = new Map<string, StreamMetadata>();
  for (const [relativePath, data] of files) {
    const metadata = await h.waitForMetadata(relativePath, data, timeoutMs);
    await assertReassembles(h, metadata, data, relativePath);
    found.set(relativePath, metadata);
  }
  return found;
}

/** The stored bytes of a stream's metadata.json, or undefined when there is none. */
export async function metadataObject(h: Harness, streamId: string): Promise<Buffer | undefined> {
  return getObjectBytes({ client: h.s3, bucket: BUCKET }, metadataKey(`${h.id}/`, streamId));
}

/** True when the tests talk to a local Ceph RGW they can administer with radosgw-admin. */
export async function canAdministerRgw(): Promise<boolean> {
  const endpoint = process.env['S3_ENDPOINT'];
  if (endpoint === undefined || endpoint === '') return false;
  try {
    await access(RGW_CONF);
    await run('radosgw-admin', ['--version'], { timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/** Creates an RGW user with these keys unless it exists. */
export async function ensureRgwUser(uid: string, accessKey: string, secretKey: string): Promise<void> {
  try {
    await run(
      'radosgw-admin',
      ['-c', RGW_CONF, 'user', 'create', `--uid=${uid}`, `--display-name=${uid}`, `--access-key=${accessKey}`, `--secret-key=${secretKey}`],
      { timeout: 60_000 },
    );
  } catch (err) {
    const stderr = (err as { stderr?: unknown }).stderr;
    const text = `${typeof stderr === 'string' ? stderr : ''} ${err instanceof Error ? err.message : ''}`;
    if (!/exists/i.test(text)) throw err;
  }
}

/** Two files uploaded: `synced.mp4`, its mtime a whole second an hour back (utimes sets it back exactly), and `chmodded.mp4`. */
export async function syncedAndChmodded(h: Harness, sizes: { synced: number; chmodded: number }) {
  const rel = 'synced.mp4';
  const v1 = randomBytes(sizes.synced);
  const other = randomBytes(sizes.chmodded);
  const mtime = new Date(Math.floor(Date.now() / 1000) * 1000 - 3_600_000);
  await h.write(rel, v1);
  await utimes(h.file(rel), mtime, mtime);
  await h.write('chmodded.mp4', other);
  const m1 = await h.waitForMetadata(rel, v1);
  const c1 = await h.waitForMetadata('chmodded.mp4', other);
  return { rel, v1, mtime, m1, c1 };
}

/** Writes `bytes` over the file in place (the same inode) and puts its mtime back, as `rsync --inplace -t` does. */
export async function rewriteInPlace(file: string, bytes: Buffer, mtime: Date): Promise<void> {
  const handle = await open(file, 'r+');
  try {
    await handle.write(bytes, 0, bytes.length, 0);
    await handle.utimes(mtime, mtime);
  } finally {
    await handle.close();
  }
}
