import type { StreamMetadata } from '@vcu/domain';
import { metadataKey } from './keys.js';
import { type Target, getObjectBytes } from './operations.js';

/** A metadata.json that is not JSON (cut short, or written by something else). */
export class MetadataUnreadableError extends Error {
  override name = 'MetadataUnreadableError';
}

/**
 * A stream's metadata.json from S3, parsed; undefined when there is none. Throws
 * {@link MetadataUnreadableError} when it is not JSON, and S3's errors as they are.
 */
export async function readMetadata(target: Target, prefix: string, streamId: string): Promise<StreamMetadata | undefined> {
  const key = metadataKey(prefix, streamId);
  const body = await getObjectBytes(target, key);
  if (body === undefined) return undefined;
  try {
    return JSON.parse(body.toString('utf8')) as StreamMetadata;
  } catch (err) {
    throw new MetadataUnreadableError(`${key} is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}
