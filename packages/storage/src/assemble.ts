import { UploadPartCopyCommand } from '@aws-sdk/client-s3';
import { keyPart } from '@vcu/files';
import { isNotImplemented } from './errors.js';
import { multipartUpload } from './multipart.js';
import { StorageVerificationError, type Target, headObject } from './operations.js';

/** S3 allows at most this many parts in one multipart upload. */
export const MAX_PARTS = 10_000;

export interface AssembleInput {
  readonly key: string;
  /** Chunk objects in order, with their sizes. */
  readonly parts: readonly { readonly key: string; readonly size: number }[];
  readonly contentType: string;
  /** UploadPartCopy requests in flight. */
  readonly parallel?: number;
}

export interface Assembled {
  readonly key: string;
  readonly size: number;
  readonly etag: string;
}

/** The server does not implement UploadPartCopy: assembly cannot work there. */
export class AssemblyUnsupportedError extends Error {
  override name = 'AssemblyUnsupportedError';
}

/**
 * Joins chunk objects into one object inside S3 with a multipart upload whose parts are copies
 * (UploadPartCopy): no byte travels through vcu again. Verifies the size of the result before
 * returning it. A failure while copying or completing aborts the multipart upload, so no
 * half-finished upload is left behind to be billed, and the error is rethrown.
 */
export async function assembleObject(target: Target, input: AssembleInput): Promise<Assembled> {
  if (input.parts.length === 0) throw new Error(`nothing to assemble for ${input.key}`);
  if (input.parts.length > MAX_PARTS) {
    throw new StorageVerificationError(`${input.key} would need ${input.parts.length} parts; S3 allows ${MAX_PARTS} (raise CHUNK_SIZE)`);
  }
  const completed = await multipartUpload(target, { key: input.key, contentType: input.contentType }, (uploadId) => copyParts(target, input, uploadId));
  const expected = input.parts.reduce((sum, p) => sum + p.size, 0);
  const head = await headObject(target, input.key);
  if (head?.size !== expected) {
    throw new StorageVerificationError(`assembled ${input.key} has ${String(head?.size)} bytes, expected ${expected}`);
  }
  return { key: input.key, size: expected, etag: head.etag === '' ? completed : head.etag };
}

/** Copies every chunk object into its part of the upload, `parallel` at a time; returns the parts' ETags in order. */
async function copyParts({ client, bucket }: Target, input: AssembleInput, uploadId: string): Promise<string[]> {
  const etags: string[] = new Array<string>(input.parts.length);
  let next = 0;
  const copyNext = async (): Promise<void> => {
    while (next < input.parts.length) {
      const index = next++;
      const part = input.parts[index];
      if (part === undefined) return;
      etags[index] = await copyPart({ client, bucket }, input.key, uploadId, index, part.key);
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, input.parallel ?? 8), input.parts.length) }, copyNext));
  return etags;
}

async function copyPart({ client, bucket }: Target, key: string, uploadId: string, index: number, sourceKey: string): Promise<string> {
  let response;
  try {
    response = await client.send(
      new UploadPartCopyCommand({
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        PartNumber: index + 1,
        CopySource: `${bucket}/${sourceKey.split('/').map(encodeURIComponent).join('/')}`,
      }),
    );
  } catch (err) {
    if (isNotImplemented(err)) {
      throw new AssemblyUnsupportedError('this S3 server does not implement UploadPartCopy, which assembly needs; set ASSEMBLE=false');
    }
    throw err;
  }
  const etag = response.CopyPartResult?.ETag;
  if (etag === undefined) throw new StorageVerificationError(`S3 returned no ETag for part ${index + 1} of ${key}`);
  return etag;
}

/**
 * Fills an ASSEMBLE_KEY template. `path` is relative to WATCH_DIR in vcu's string form of a name
 * (@vcu/files): in `{name}` and `{path}`, control characters and bytes that are not UTF-8 are
 * percent-encoded (`%1B`, `%FF`), so the key is always valid UTF-8 and one line. (`%` itself is
 * kept: the key holds the stream id, so no two files share one.)
 */
export function assembledKey(template: string, values: { prefix: string; streamId: string; path: string }): string {
  const path = keyPart(values.path);
  const name = path.split('/').pop() ?? path;
  return template
    .replaceAll('{prefix}', values.prefix)
    .replaceAll('{streamId}', values.streamId)
    .replaceAll('{name}', name)
    .replaceAll('{path}', path);
}
