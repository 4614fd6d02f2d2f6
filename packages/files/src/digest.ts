import { createHash } from 'node:crypto';
import type { ReadableFile } from './readable.js';

export interface FileDigest {
  /** SHA-256 (hex) of each `chunkSize` range, in order; undefined where it was not asked for. */
  readonly chunks: readonly (string | undefined)[];
  readonly sha256: string;
  readonly size: number;
}

/**
 * One sequential pass over the open file: the SHA-256 of the whole file and of the chunk ranges
 * `hashChunk` asks for. Reads in 1 MiB pieces, so memory stays small and the event loop keeps
 * turning between pieces.
 */
export async function digestFile(
  handle: Pick<ReadableFile, 'read'>,
  chunkSize: number,
  expectedSize: number,
  hashChunk: (index: number) => boolean = () => true,
): Promise<FileDigest> {
  const whole = createHash('sha256');
  const chunks: (string | undefined)[] = [];
  let index = 0;
  // a file of one chunk: that chunk's hash is the file's, taken below
  const single = expectedSize <= chunkSize;
  let chunk = hashChunk(0) && !single ? createHash('sha256') : undefined;
  let inChunk = 0;
  let position = 0;
  const buffer = Buffer.allocUnsafe(Math.min(1024 * 1024, Math.max(chunkSize, 8)));
  while (position < expectedSize) {
    const want = Math.min(buffer.length, chunkSize - inChunk, expectedSize - position);
    const { bytesRead } = await handle.read(buffer, 0, want, position);
    if (bytesRead === 0) break;
    const piece = buffer.subarray(0, bytesRead);
    whole.update(piece);
    chunk?.update(piece);
    inChunk += bytesRead;
    position += bytesRead;
    if (inChunk === chunkSize) {
      chunks.push(chunk?.digest('hex'));
      index += 1;
      chunk = hashChunk(index) ? createHash('sha256') : undefined;
      inChunk = 0;
    }
  }
  if (inChunk > 0) chunks.push(chunk?.digest('hex'));
  const sha256 = whole.digest('hex');
  if (single && chunks.length === 1 && hashChunk(0)) chunks[0] = sha256;
  return { chunks, sha256, size: position };
}
