import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { isNotImplemented } from './errors.js';
import { SHA256_META, StorageVerificationError, type Target, checkedEtag, contentMd5, headObject } from './operations.js';
import { signPayloadAs } from './payload-hash.js';

/** Part buffers a streamed chunk holds: one part is read into one while the part before is sent from the other. */
export const PART_BUFFERS = 2;

/** Memory a streamed chunk holds: its part buffers, exactly (the worker reuses them from chunk to chunk). */
export function streamedChunkMemory(partSize: number): number {
  return PART_BUFFERS * partSize;
}

export interface MultipartInput {
  readonly key: string;
  readonly contentType: string;
  readonly metadata?: Record<string, string>;
}

/**
 * Creates a multipart upload of `key`, has `sendParts` fill it (it returns the parts' ETags in
 * order) and completes it. On any failure the upload is aborted, so no half-finished upload is
 * left to be billed (if S3 cannot be reached for that, it stays: a streamed chunk's next attempt
 * aborts it), and the error is rethrown. Returns the completion's ETag without quotes.
 */
export async function multipartUpload(
  { client, bucket }: Target,
  input: MultipartInput,
  sendParts: (uploadId: string) => Promise<readonly string[]>,
): Promise<string> {
  const created = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: input.key, ContentType: input.contentType, Metadata: input.metadata }));
  const uploadId = created.UploadId;
  if (uploadId === undefined) throw new StorageVerificationError(`S3 returned no UploadId for ${input.key}`);
  try {
    const etags = await sendParts(uploadId);
    const completed = await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: input.key,
        UploadId: uploadId,
        MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
      }),
    );
    return (completed.ETag ?? '').replaceAll('"', '');
  } catch (err) {
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: input.key, UploadId: uploadId })).catch(() => undefined);
    throw err;
  }
}

export interface PutStreamedChunkInput {
  readonly key: string;
  readonly size: number;
  /** Hex SHA-256 of the chunk's bytes, kept as user metadata like any chunk's. */
  readonly sha256: string;
  readonly partSize: number;
  /** Buffers of at least `partSize` bytes the parts are read into and sent from, in turn: as many parts in flight as there are buffers. */
  readonly buffers: readonly Buffer[];
  /**
   * Fills `into` (exactly part `index`'s length; 0-based) with that part of the chunk. Throws to
   * abort the upload: the bytes changed (checked before the last part is sent), the file went.
   */
  readonly readPart: (index: number, into: Buffer) => Promise<void>;
  /** Also send each part's Content-MD5 and check its ETag (S3_CONTENT_MD5). */
  readonly md5?: boolean;
}

/**
 * Uploads one big chunk as a multipart upload under its usual key, in parts of `partSize` read
 * into the caller's buffers, so the memory it takes is those buffers, exactly, and nothing is
 * allocated per part. Each part's body is signed (SigV4: its SHA-256), so the server verifies
 * it. If anything fails (a part, a read, the completion), the parts still in flight are
 * cancelled and awaited (no request holds a buffer when this returns) and the upload is aborted
 * before this rejects. Incomplete uploads an earlier attempt left behind (its worker was
 * killed) are aborted first. The object is then checked: its size and recorded SHA-256.
 * Returns its ETag without quotes.
 */
export async function putStreamedChunk(target: Target, input: PutStreamedChunkInput): Promise<string> {
  await abortIncompleteUploads(target, input.key);
  const upload = { key: input.key, contentType: 'application/octet-stream', metadata: { [SHA256_META]: input.sha256 } };
  await multipartUpload(target, upload, (uploadId) => sendParts(target, input, uploadId));
  const head = await headObject(target, input.key);
  if (head?.size !== input.size || head.sha256 !== input.sha256) {
    throw new StorageVerificationError(`S3 holds ${input.key} with ${String(head?.size)} bytes and SHA-256 ${String(head?.sha256)}, expected ${input.size} and ${input.sha256}`);
  }
  return head.etag;
}

/**
 * Reads and sends every part, each buffer refilled once the part sent from it is done; returns
 * their ETags in order. The first failure (a read, or a part S3 refused) is what this rejects
 * with, not the cancellations it causes.
 */
async function sendParts(target: Target, input: PutStreamedChunkInput, uploadId: string): Promise<string[]> {
  const count = Math.ceil(input.size / input.partSize);
  const sending: Promise<string>[] = [];
  const cancel = new AbortController();
  let failure: { readonly error: unknown } | undefined;
  const stopIfFailed = (): void => {
    if (failure !== undefined) throw failure.error;
  };
  try {
    for (let index = 0; index < count; index += 1) {
      const buffer = input.buffers[index % input.buffers.length];
      if (buffer === undefined || buffer.length < input.partSize) throw new RangeError(`part buffers of ${input.partSize} bytes are needed`);
      // the part sent from this buffer before must be done before it is refilled
      if (index >= input.buffers.length) await Promise.allSettled([sending[index - input.buffers.length]]);
      stopIfFailed();
      const body = buffer.subarray(0, Math.min(input.partSize, input.size - index * input.partSize));
      await input.readPart(index, body);
      stopIfFailed();
      const part = uploadPart(target, { key: input.key, uploadId, index, body, md5: input.md5 === true, signal: cancel.signal });
      // a failed part cancels the others and stops the reads; its rejection is handled here, and rethrown above or below
      part.catch((error: unknown) => {
        failure ??= { error };
        cancel.abort();
      });
      sending.push(part);
    }
    return await Promise.all(sending);
  } catch (err) {
    const cause = failure?.error ?? err;
    cancel.abort();
    // the buffers go back to the caller: no request may still be reading them
    await Promise.allSettled(sending);
    throw cause;
  }
}

interface PartInput {
  readonly key: string;
  readonly uploadId: string;
  readonly index: number;
  readonly body: Buffer;
  readonly md5: boolean;
  readonly signal: AbortSignal;
}

/** Sends one part, signed with its SHA-256 (and with its Content-MD5 when asked); returns its ETag as S3 gave it. */
async function uploadPart({ client, bucket }: Target, { key, uploadId, index, body, md5, signal }: PartInput): Promise<string> {
  const sha256 = createHash('sha256').update(body).digest('hex');
  const md5Hex = md5 ? createHash('md5').update(body).digest('hex') : undefined;
  const response = await client.send(
    new UploadPartCommand({
      Bucket: bucket,
      Key: key,
      UploadId: uploadId,
      PartNumber: index + 1,
      Body: signPayloadAs(body, sha256),
      ContentLength: body.length,
      ...contentMd5(md5Hex),
    }),
    { abortSignal: signal },
  );
  return checkedEtag(response.ETag, `part ${index + 1} of ${key}`, md5Hex);
}

/** Incomplete multipart uploads of every key under `prefix`, oldest first within a key. */
export async function listIncompleteUploads({ client, bucket }: Target, prefix: string): Promise<{ readonly key: string; readonly uploadId: string; readonly initiated: Date | undefined }[]> {
  const found: { key: string; uploadId: string; initiated: Date | undefined }[] = [];
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  for (;;) {
    const page = await client.send(
      new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
    );
    for (const u of page.Uploads ?? []) {
      if (u.Key !== undefined && u.UploadId !== undefined) found.push({ key: u.Key, uploadId: u.UploadId, initiated: u.Initiated });
    }
    if (page.IsTruncated !== true) return found;
    keyMarker = page.NextKeyMarker;
    uploadIdMarker = page.NextUploadIdMarker;
  }
}

/**
 * Aborts what an earlier attempt at this chunk left: a worker killed mid-upload cannot abort its
 * own. The chunk's job holds its lock meanwhile, so no live upload of this key is cut short. A
 * server that cannot list multipart uploads (the embedded s3rver of `pnpm start`) has nothing
 * found here; what a killed worker left there stays until the server's own clean-up.
 */
async function abortIncompleteUploads(target: Target, key: string): Promise<void> {
  let found;
  try {
    found = await listIncompleteUploads(target, key);
  } catch (err) {
    if (isNotImplemented(err)) return;
    throw err;
  }
  for (const { uploadId } of found.filter((u) => u.key === key)) {
    await target.client.send(new AbortMultipartUploadCommand({ Bucket: target.bucket, Key: key, UploadId: uploadId }));
  }
}
