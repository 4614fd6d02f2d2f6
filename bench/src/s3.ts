// The bench's own S3 client and what it does with it: list, delete, read, and make the server
// reclaim the space of deleted objects.
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { settings } from './settings.js';
import { log, run, sleep } from './util.js';

/** Keep-alive agents, no SDK CRC32 trailers (as in vcu: some servers refuse them), few retries. */
export function s3Client(): S3Client {
  const agent = { keepAlive: true, maxSockets: 64 };
  return new S3Client({
    endpoint: settings.endpoint,
    region: settings.region,
    forcePathStyle: settings.forcePathStyle !== 'false',
    ...(settings.accessKey !== '' ? { credentials: { accessKeyId: settings.accessKey, secretAccessKey: settings.secretKey } } : {}),
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 5000, requestTimeout: 120_000, httpAgent: new HttpAgent(agent), httpsAgent: new HttpsAgent(agent) },
  });
}

export interface S3Object {
  readonly key: string;
  readonly size: number;
}

/** Every object under `prefix`: key and size. */
export async function listPrefix(client: S3Client, prefix: string): Promise<S3Object[]> {
  const objects: S3Object[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: settings.bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) if (o.Key !== undefined) objects.push({ key: o.Key, size: o.Size ?? 0 });
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return objects;
}

/** Deletes these keys, 1,000 per request. */
export async function deleteKeys(client: S3Client, keys: readonly string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 1000) {
    const batch = keys.slice(i, i + 1000).map((Key) => ({ Key }));
    await client.send(new DeleteObjectsCommand({ Bucket: settings.bucket, Delete: { Objects: batch, Quiet: true } }));
  }
}

/** Deletes every object under `prefix`; returns how many. */
export async function deletePrefix(client: S3Client, prefix: string): Promise<number> {
  let deleted = 0;
  for (;;) {
    const page = await client.send(new ListObjectsV2Command({ Bucket: settings.bucket, Prefix: prefix, MaxKeys: 1000 }));
    const keys = (page.Contents ?? []).flatMap((o) => (o.Key === undefined ? [] : [o.Key]));
    if (keys.length === 0) return deleted;
    await deleteKeys(client, keys);
    deleted += keys.length;
  }
}

export async function getText(client: S3Client, key: string): Promise<string> {
  const r = await client.send(new GetObjectCommand({ Bucket: settings.bucket, Key: key }));
  if (r.Body === undefined) throw new Error(`${key}: empty answer`);
  return r.Body.transformToString('utf8');
}

/**
 * Creates the bucket if missing, then stores a 1 KiB probe object: a full S3 server (a small test
 * OSD) accepts connections and then never answers a PUT, which would hang the whole run.
 */
export async function checkS3(client: S3Client, probeKey: string): Promise<void> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: settings.bucket }));
  } catch {
    log(`creating bucket ${settings.bucket}`);
    await client.send(new CreateBucketCommand({ Bucket: settings.bucket })).catch((err: unknown) => {
      if (!/BucketAlreadyOwnedByYou|BucketAlreadyExists/.test(err instanceof Error ? err.name : '')) throw err;
    });
  }
  const put = client.send(new PutObjectCommand({ Bucket: settings.bucket, Key: probeKey, Body: randomBytes(1024) }));
  const answered = await Promise.race([put.then(() => true), sleep(20_000).then(() => false)]);
  if (!answered) {
    throw new Error(
      `S3 did not store a 1 KiB object within 20 s at ${settings.endpoint}: is it full? (Ceph: ceph -s; deleted objects are reclaimed by radosgw-admin gc process --include-all)`,
    );
  }
  await client.send(new DeleteObjectCommand({ Bucket: settings.bucket, Key: probeKey }));
}

/**
 * Command run after each scenario deleted its objects, so the S3 server reclaims the space before
 * the next one (BENCH_S3_GC; empty = none). By default, on the local Ceph RGW: process its garbage
 * collector now (deleted objects otherwise hold their space for minutes on a small test OSD).
 */
export function gcCommand(): string | undefined {
  const set = process.env['BENCH_S3_GC'];
  if (set !== undefined) return set.trim() === '' ? undefined : set;
  if (settings.endpoint === 'http://127.0.0.1:7480' && existsSync('/tmp/rgw/ceph.conf')) {
    return 'radosgw-admin -c /tmp/rgw/ceph.conf gc process --include-all';
  }
  return undefined;
}

export async function runGc(): Promise<void> {
  const command = gcCommand();
  if (command === undefined) return;
  const started = Date.now();
  const r = await run('sh', ['-c', command], 600_000);
  if (!r.ok) log(`S3 garbage collection (${command}) failed: ${r.stderr.trim().slice(0, 300) || (r.err?.message ?? 'no output')}`);
  else log(`S3 garbage collection: ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
