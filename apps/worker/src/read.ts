import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { UnrecoverableError } from 'bullmq';
import { fsErrorCode } from '@vcu/files';

export interface ChunkBytes {
  /** A view of the buffer the chunk was read into. */
  readonly body: Buffer;
  readonly sha256: string;
  /** Only when asked for (S3_CONTENT_MD5). */
  readonly md5: string | undefined;
}

/** Why a chunk can never be read again for its stream; the job ends instead of retrying. */
export class ChunkGoneError extends UnrecoverableError {
  constructor(
    message: string,
    readonly reason: 'file deleted' | 'replaced' | 'truncated' | 'unreadable',
  ) {
    super(message);
  }
}

/**
 * Reads chunk `[offset, offset + chunkSize)` of the file as it is now (a tail chunk enqueued while
 * the file was shorter is read at its current length) into `into` (at least `chunkSize` bytes),
 * checking that the file is still the version the stream belongs to, and hashes it.
 */
export async function readChunk(
  file: string,
  ino: string,
  offset: number,
  chunkSize: number,
  into: Buffer,
  { md5 = false }: { md5?: boolean } = {},
): Promise<ChunkBytes> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    const code = fsErrorCode(err);
    if (code === 'ENOENT') throw new ChunkGoneError(`file deleted: ${file}`, 'file deleted');
    if (code === 'EACCES' || code === 'EPERM' || code === 'EISDIR') throw new ChunkGoneError(`cannot read ${file} (${code})`, 'unreadable');
    throw err;
  }
  try {
    const stat = await handle.stat({ bigint: true });
    if (stat.ino.toString() !== ino) throw new ChunkGoneError(`file replaced by another (new inode): ${file}`, 'replaced');
    const size = Math.min(chunkSize, Number(stat.size) - offset);
    if (size <= 0) throw new ChunkGoneError(`file truncated below byte ${offset}: ${file}`, 'truncated');
    if (into.length < size) throw new RangeError(`a buffer of ${into.length} bytes cannot hold a chunk of ${size}`);
    const body = into.subarray(0, size);
    let filled = 0;
    while (filled < size) {
      const { bytesRead } = await handle.read(body, filled, size - filled, offset + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    if (filled < size) throw new ChunkGoneError(`file truncated while reading byte ${offset + filled}: ${file}`, 'truncated');
    return {
      body,
      sha256: createHash('sha256').update(body).digest('hex'),
      md5: md5 ? createHash('md5').update(body).digest('hex') : undefined,
    };
  } finally {
    await handle.close();
  }
}

export interface FileDigest {
  /** SHA-256 (hex) of each `chunkSize` range, in order; undefined where it was not asked for. */
  readonly chunks: readonly (string | undefined)[];
  readonly sha256: string;
  /** The first bytes of the file (up to 8): the first box header of an MP4. */
  readonly head: Buffer;
  readonly size: number;
}

/**
 * One sequential pass over the file: the SHA-256 of the whole file and of the chunk ranges
 * `hashChunk` asks for. Reads in 1 MiB pieces, so memory stays small and the event loop keeps
 * turning between pieces.
 */
export async function digestFile(
  file: string,
  chunkSize: number,
  expectedSize: number,
  hashChunk: (index: number) => boolean = () => true,
): Promise<FileDigest> {
  const handle = await open(file, 'r');
  try {
    const whole = createHash('sha256');
    const chunks: (string | undefined)[] = [];
    let index = 0;
    // a file of one chunk: that chunk's hash is the file's, taken below
    const single = expectedSize <= chunkSize;
    let chunk = hashChunk(0) && !single ? createHash('sha256') : undefined;
    let inChunk = 0;
    let position = 0;
    let head = Buffer.alloc(0);
    const buffer = Buffer.allocUnsafe(Math.min(1024 * 1024, Math.max(chunkSize, 8)));
    while (position < expectedSize) {
      const want = Math.min(buffer.length, chunkSize - inChunk, expectedSize - position);
      const { bytesRead } = await handle.read(buffer, 0, want, position);
      if (bytesRead === 0) break;
      const piece = buffer.subarray(0, bytesRead);
      if (head.length < 8) head = Buffer.concat([head, piece.subarray(0, 8 - head.length)]);
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
    return { chunks, sha256, head, size: position };
  } finally {
    await handle.close();
  }
}

/** The first 8 bytes of a file (fewer if it is shorter). */
export async function readHead(file: string): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(8);
    const { bytesRead } = await handle.read(head, 0, 8, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
