import { createHash } from 'node:crypto';
import { UnrecoverableError } from 'bullmq';
import { type FileIdentity, type OpenedFile, type ReadableFile, FileReplacedError, NotRegularFileError, fsErrorCode, openRegularFile, pathText } from '@vcu/files';

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
    readonly reason: 'file deleted' | 'replaced' | 'truncated' | 'unreadable' | `not a regular file: ${string}`,
  ) {
    super(message);
  }
}

/** The bytes changed while a chunk was being uploaded: the upload was aborted; retrying reads them afresh. */
export class BytesChangedError extends Error {
  override name = 'BytesChangedError';
}

/** Largest single read: a read's length must fit in 31 bits, and smaller pieces keep threads free. */
const READ_PIECE = 64 * 1024 * 1024;

/**
 * Opens the stream's file for reading: only a regular file, only the very file (inode and birth
 * time) the stream recorded, only at its path under `root` (WATCH_DIR), never through a symbolic
 * link, never blocking. What cannot be read for good becomes a {@link ChunkGoneError}.
 */
export async function openChunkFile(file: string | Buffer, identity: FileIdentity, root: string): Promise<OpenedFile> {
  try {
    return await openRegularFile(file, { expected: identity, root });
  } catch (err) {
    throw asGone(err, pathText(file));
  }
}

function asGone(err: unknown, file: string): unknown {
  if (err instanceof NotRegularFileError) return new ChunkGoneError(err.message, `not a regular file: ${err.kind}`);
  if (err instanceof FileReplacedError) return new ChunkGoneError(`file replaced by another: ${err.message}`, 'replaced');
  const code = fsErrorCode(err);
  if (code === 'ENOENT' || code === 'ENOTDIR') return new ChunkGoneError(`file deleted: ${file}`, 'file deleted');
  if (code === 'EACCES' || code === 'EPERM') return new ChunkGoneError(`cannot read ${file} (${code})`, 'unreadable');
  return err;
}

/** How many bytes chunk `[offset, offset + chunkSize)` has in a file of `fileSize` bytes; throws when none. */
export function chunkLength(fileSize: number, offset: number, chunkSize: number, file: string): number {
  const size = Math.min(chunkSize, fileSize - offset);
  if (size <= 0) throw new ChunkGoneError(`file truncated below byte ${offset}: ${file}`, 'truncated');
  return size;
}

/** Fills `body` from `position`, in pieces; returns how many bytes the file had there. */
async function readInto(handle: Pick<ReadableFile, 'read'>, body: Buffer, position: number): Promise<number> {
  let filled = 0;
  while (filled < body.length) {
    const { bytesRead } = await handle.read(body, filled, Math.min(READ_PIECE, body.length - filled), position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled;
}

/**
 * Reads chunk `[offset, offset + chunkSize)` of the open file as it is now (a tail chunk enqueued
 * while the file was shorter is read at its current length) into `into` and hashes it.
 */
export async function readChunk(
  { handle, stats }: OpenedFile,
  file: string,
  offset: number,
  chunkSize: number,
  into: Buffer,
  { md5 = false }: { md5?: boolean } = {},
): Promise<ChunkBytes> {
  const size = chunkLength(Number(stats.size), offset, chunkSize, file);
  if (into.length < size) throw new RangeError(`a buffer of ${into.length} bytes cannot hold a chunk of ${size}`);
  const body = into.subarray(0, size);
  const filled = await readInto(handle, body, offset);
  if (filled < size) throw new ChunkGoneError(`file truncated while reading byte ${offset + filled}: ${file}`, 'truncated');
  return {
    body,
    sha256: createHash('sha256').update(body).digest('hex'),
    md5: md5 ? createHash('md5').update(body).digest('hex') : undefined,
  };
}

/** A range of an open file: a chunk too big for one buffer. */
export interface ByteRange {
  readonly offset: number;
  readonly size: number;
  /** The file's name, for messages. */
  readonly file: string;
}

/** SHA-256 of the range, read in pieces into the first of the given buffers (a streamed chunk's part buffers). */
export async function hashRange(handle: Pick<ReadableFile, 'read'>, { offset, size, file }: ByteRange, [piece]: readonly Buffer[]): Promise<string> {
  if (piece === undefined || piece.length === 0) throw new RangeError('hashRange needs a buffer to read into');
  const hash = createHash('sha256');
  let done = 0;
  while (done < size) {
    const { bytesRead } = await handle.read(piece, 0, Math.min(piece.length, READ_PIECE, size - done), offset + done);
    if (bytesRead === 0) throw new ChunkGoneError(`file truncated while reading byte ${offset + done}: ${file}`, 'truncated');
    hash.update(piece.subarray(0, bytesRead));
    done += bytesRead;
  }
  return hash.digest('hex');
}

/**
 * Reads the range's parts of `partSize`, in order, each into the buffer it is given, and checks
 * them as they pass: if the parts are not the bytes with SHA-256 `sha256` (what the object's
 * metadata will claim), reading the last part fails, before it is sent, and the upload is
 * aborted rather than completed.
 */
export function verifiedParts(handle: Pick<ReadableFile, 'read'>, { offset, size, file }: ByteRange, partSize: number, sha256: string): (index: number, into: Buffer) => Promise<void> {
  const hash = createHash('sha256');
  let next = 0;
  return async (index, into) => {
    if (index !== next) throw new RangeError(`part ${index} read out of order (part ${next} is next)`);
    const expected = Math.min(partSize, size - index * partSize);
    if (into.length !== expected) throw new RangeError(`part ${index} is ${expected} bytes, not ${into.length}`);
    const position = offset + index * partSize;
    const filled = await readInto(handle, into, position);
    if (filled < into.length) throw new ChunkGoneError(`file truncated while reading byte ${position + filled}: ${file}`, 'truncated');
    hash.update(into);
    next += 1;
    if (index * partSize + into.length === size && hash.digest('hex') !== sha256) {
      throw new BytesChangedError(`the chunk's bytes changed while it was uploaded: ${file}`);
    }
  };
}

/** The first 8 bytes of the open file (fewer if it is shorter). */
export async function readHead(handle: Pick<ReadableFile, 'read'>): Promise<Buffer> {
  const head = Buffer.alloc(8);
  const { bytesRead } = await handle.read(head, 0, 8, 0);
  return head.subarray(0, bytesRead);
}
