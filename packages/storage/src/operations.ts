import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { directPutOf } from './client.js';
import { classifyS3Error } from './errors.js';

/** User metadata key holding a chunk's SHA-256 (hex); S3 returns it as `x-amz-meta-sha256`. */
export const SHA256_META = 'sha256';

export interface Target {
  readonly client: S3Client;
  readonly bucket: string;
}

/** Thrown when S3 accepted a write but answered something that does not prove the bytes arrived. */
export class StorageVerificationError extends Error {
  override name = 'StorageVerificationError';
}

/** Resolves when the bucket answers a HEAD; throws the S3 error otherwise. */
export async function headBucket({ client, bucket }: Target): Promise<void> {
  await client.send(new HeadBucketCommand({ Bucket: bucket }));
}

/**
 * Creates the bucket when it does not exist. Returns whether it was created.
 * Throws with the S3 error when the bucket is unreachable, forbidden or cannot be created.
 */
export async function ensureBucket({ client, bucket }: Target, region: string, awsLocation: boolean): Promise<boolean> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
    return false;
  } catch (err) {
    if (classifyS3Error(err) !== 'not-found') throw err;
  }
  try {
    await client.send(
      new CreateBucketCommand({
        Bucket: bucket,
        // AWS wants the region spelled out except for us-east-1; other servers ignore or reject it
        ...(awsLocation && region !== 'us-east-1'
          ? { CreateBucketConfiguration: { LocationConstraint: region as never } }
          : {}),
      }),
    );
    return true;
  } catch (err) {
    const name = (err as { name?: unknown }).name;
    if (name === 'BucketAlreadyOwnedByYou') return false;
    throw err;
  }
}

export interface PutChunkInput {
  readonly key: string;
  readonly body: Buffer;
  /** Hex SHA-256 of `body`: signed as the payload hash and kept as user metadata. */
  readonly sha256: string;
  /** Hex MD5 of `body`, when it is to be sent as Content-MD5 and checked against the ETag. */
  readonly md5?: string;
}

/**
 * Puts one chunk whose body the server verifies. SigV4 signs a hash of the payload, sent as
 * `x-amz-content-sha256`, and S3 (AWS, MinIO, Ceph RGW) rejects a body that does not match it
 * (XAmzContentSHA256Mismatch). We already hold the SHA-256 (it is the chunk's user metadata
 * too), so it is signed as it is, not computed again (direct-put.ts). With `md5`, Content-MD5 is
 * sent as well and the ETag S3 returns (the body's MD5 for a single-part upload without KMS) is
 * checked against it.
 * Returns the ETag without quotes.
 */
export async function putChunk({ client, bucket }: Target, input: PutChunkInput): Promise<string> {
  const etag = await directPutOf(client).put(bucket, {
    key: input.key,
    body: input.body,
    sha256: input.sha256,
    headers: { 'content-type': 'application/octet-stream', ...contentMd5Header(input.md5), [`x-amz-meta-${SHA256_META}`]: input.sha256 },
  });
  return checkedEtag(etag, input.key, input.md5);
}

/** The Content-MD5 of a body whose MD5 is `md5` (hex), as the SDK's input field, or nothing. */
export function contentMd5(md5: string | undefined): { ContentMD5?: string } {
  return md5 === undefined ? {} : { ContentMD5: base64Md5(md5) };
}

/** The same as an HTTP header (direct-put.ts). */
function contentMd5Header(md5: string | undefined): { 'content-md5'?: string } {
  return md5 === undefined ? {} : { 'content-md5': base64Md5(md5) };
}

function base64Md5(md5: string): string {
  return Buffer.from(md5, 'hex').toString('base64');
}

/**
 * The ETag S3 answered for a write of `what`, without quotes. With `md5` (the body was sent with
 * Content-MD5), an ETag that is an MD5 (a single-part object or one part, without KMS) must be it.
 */
export function checkedEtag(answered: string | undefined, what: string, md5: string | undefined): string {
  const etag = (answered ?? '').replaceAll('"', '');
  if (etag === '') throw new StorageVerificationError(`S3 returned no ETag for ${what}`);
  if (md5 !== undefined && /^[0-9a-f]{32}$/i.test(etag) && etag.toLowerCase() !== md5) {
    throw new StorageVerificationError(`S3 stored ${what} with ETag ${etag}, expected MD5 ${md5}`);
  }
  return etag;
}

export interface ObjectFacts {
  readonly size: number;
  readonly sha256: string | undefined;
  readonly etag: string;
}

/** Size, recorded SHA-256 and ETag of an object, or undefined when it does not exist. */
export async function headObject({ client, bucket }: Target, key: string): Promise<ObjectFacts | undefined> {
  try {
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return {
      size: head.ContentLength ?? 0,
      sha256: head.Metadata?.[SHA256_META],
      etag: (head.ETag ?? '').replaceAll('"', ''),
    };
  } catch (err) {
    if (classifyS3Error(err) === 'not-found') return undefined;
    throw err;
  }
}

/** Writes a JSON document (metadata.json) with Content-MD5. */
export async function putJson({ client, bucket }: Target, key: string, document: unknown): Promise<string> {
  const body = Buffer.from(`${JSON.stringify(document, null, 2)}\n`, 'utf8');
  const headers = { 'content-type': 'application/json', 'content-md5': createHash('md5').update(body).digest('base64') };
  const etag = await directPutOf(client).put(bucket, { key, body, sha256: createHash('sha256').update(body).digest('hex'), headers });
  return (etag ?? '').replaceAll('"', '');
}

/** The whole object in memory (metadata, or a chunk in tests and tools), or undefined when absent. */
export async function getObjectBytes({ client, bucket }: Target, key: string): Promise<Buffer | undefined> {
  try {
    const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    if (response.Body === undefined) return Buffer.alloc(0);
    return Buffer.from(await response.Body.transformToByteArray());
  } catch (err) {
    if (classifyS3Error(err) === 'not-found') return undefined;
    throw err;
  }
}

/**
 * An object's body as it arrives, piece by piece (a chunk of any size without holding it whole),
 * or undefined when the object does not exist.
 */
export async function getObjectStream({ client, bucket }: Target, key: string): Promise<AsyncIterable<Uint8Array> | undefined> {
  try {
    const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return (response.Body as AsyncIterable<Uint8Array> | undefined) ?? (async function* empty() {})();
  } catch (err) {
    if (classifyS3Error(err) === 'not-found') return undefined;
    throw err;
  }
}
