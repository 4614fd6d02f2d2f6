import { AbortMultipartUploadCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Readable } from 'node:stream';
import { SHA256_META, StorageVerificationError, type Target, headObject } from './operations.js';

/** Parts a streamed chunk keeps in flight at once (lib-storage's queueSize). */
export const PART_QUEUE = 2;

/**
 * Memory a streamed chunk needs, about: the parts in flight, the one lib-storage is gathering
 * (it copies the stream's pieces into one buffer per part), and parts already sent that the
 * garbage collector has not freed yet. Measured: 40 to 47 MiB with 8 MiB parts.
 */
export function streamedChunkMemory(partSize: number): number {
  return 6 * partSize;
}

export interface PutStreamedChunkInput {
  readonly key: string;
  /** The chunk's bytes; the stream must fail if they are not `size` bytes with this `sha256`. */
  readonly body: Readable | NodeJS.ReadableStream;
  readonly size: number;
  /** Hex SHA-256 of the bytes, kept as user metadata like any chunk's. */
  readonly sha256: string;
  readonly partSize: number;
}

/**
 * Uploads one big chunk as a multipart upload under its usual key, with @aws-sdk/lib-storage: the
 * body is read as a stream, at most {@link PART_QUEUE} parts of `partSize` in flight, each part's
 * body signed (SigV4) so the server verifies it. If anything fails (a part, the body stream, the
 * completion), lib-storage aborts the multipart upload before this rejects, so no half-finished
 * upload is left to be billed. Incomplete uploads an earlier attempt left behind (its worker was
 * killed) are aborted first. The object is then checked: its size and recorded SHA-256.
 * Returns its ETag without quotes.
 */
export async function putStreamedChunk(target: Target, input: PutStreamedChunkInput): Promise<string> {
  await abortIncompleteUploads(target, input.key);
  const upload = new Upload({
    client: target.client,
    params: {
      Bucket: target.bucket,
      Key: input.key,
      Body: input.body as Readable,
      ContentLength: input.size,
      ContentType: 'application/octet-stream',
      Metadata: { [SHA256_META]: input.sha256 },
    },
    partSize: input.partSize,
    queueSize: PART_QUEUE,
    leavePartsOnError: false,
  });
  await upload.done();
  const head = await headObject(target, input.key);
  if (head?.size !== input.size || head.sha256 !== input.sha256) {
    throw new StorageVerificationError(`S3 holds ${input.key} with ${String(head?.size)} bytes and SHA-256 ${String(head?.sha256)}, expected ${input.size} and ${input.sha256}`);
  }
  return head.etag;
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
 * own. The chunk's job holds its lock meanwhile, so no live upload of this key is cut short.
 */
async function abortIncompleteUploads(target: Target, key: string): Promise<void> {
  for (const { uploadId } of (await listIncompleteUploads(target, key)).filter((u) => u.key === key)) {
    await target.client.send(new AbortMultipartUploadCommand({ Bucket: target.bucket, Key: key, UploadId: uploadId }));
  }
}
