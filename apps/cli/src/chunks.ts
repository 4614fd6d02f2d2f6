import { createHash } from 'node:crypto';
import type { StreamMetadata } from '@vcu/domain';
import { type Target, getObjectStream } from '@vcu/storage';

/** What reading a stream's chunks back from S3 found. */
export interface ChunksRead {
  /** One sentence per chunk (or for the whole) that is not as metadata.json says. */
  readonly problems: string[];
  /** Bytes read. */
  readonly bytes: number;
}

export interface ReadChunksOptions {
  /** Receives each piece of each chunk, in file order, as it arrives (restore writes it out). */
  readonly write?: (piece: Uint8Array, position: number) => Promise<void>;
  /** Stop at the first problem (restore: nothing is written from a wrong stream). */
  readonly stopAtFirst?: boolean;
  readonly progress?: (bytes: number) => void;
}

/**
 * The one loop verify and restore share: every chunk metadata.json lists is read from S3 in
 * order, streamed (a chunk of any size), each checked against its size and SHA-256, and all of
 * them together against the file's SHA-256.
 */
export async function readChunks(target: Target, metadata: StreamMetadata, options: ReadChunksOptions = {}): Promise<ChunksRead> {
  const problems: string[] = [];
  const whole = createHash('sha256');
  let bytes = 0;
  for (const chunk of metadata.chunks) {
    const body = await getObjectStream(target, chunk.key);
    if (body === undefined) {
      problems.push(`chunk ${chunk.index}: object ${chunk.key} is missing in S3`);
      if (options.stopAtFirst === true) break;
      continue;
    }
    const hash = createHash('sha256');
    let size = 0;
    for await (const piece of body) {
      hash.update(piece);
      whole.update(piece);
      await options.write?.(piece, chunk.offset + size);
      size += piece.length;
      bytes += piece.length;
      options.progress?.(bytes);
    }
    if (size !== chunk.size) problems.push(`chunk ${chunk.index}: ${size} bytes in S3, metadata.json says ${chunk.size}`);
    else if (hash.digest('hex') !== chunk.sha256) problems.push(`chunk ${chunk.index}: SHA-256 in S3 differs from metadata.json`);
    if (problems.length > 0 && options.stopAtFirst === true) break;
  }
  if (problems.length === 0 && whole.digest('hex') !== metadata.sha256) problems.push('the chunks together do not have the SHA-256 metadata.json records');
  return { problems, bytes };
}
