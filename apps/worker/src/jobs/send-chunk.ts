import { type OpenedFile, absoluteIn, pathText } from '@vcu/files';
import type { ChunkRecord, StreamRecord } from '@vcu/state';
import { PART_BUFFERS, type Target, chunkKey, headObject, putChunk, putStreamedChunk } from '@vcu/storage';
import type { MemoryBudget } from '../memory-budget.js';
import { chunkLength, hashRange, openChunkFile, readChunk, verifiedParts } from '../read.js';

export interface SendDeps {
  readonly watchDir: string;
  readonly s3Prefix: string;
  readonly target: Target;
  /** The bytes chunks in flight may hold: buffers for chunks read whole, parts for streamed ones. */
  readonly memory: MemoryBudget;
  /** Also send Content-MD5 and check the ETag (S3_CONTENT_MD5). */
  readonly contentMd5: boolean;
  /** The chunks of a stream whose chunk size is above `above` are streamed as multipart uploads of `partSize` parts. */
  readonly multipart: { readonly above: number; readonly partSize: number };
}

/** What reading and sending a chunk did: skipped (why), or what S3 now holds. */
export type Sent =
  | { readonly skipped: string }
  | { readonly skipped?: undefined; readonly size: number; readonly sha256: string; readonly etag: string; readonly readAt: number; readonly readCtimeNs: string; readonly existed: boolean };

/** One chunk about to be sent: its stream, what Redis recorded of it, where it comes from and goes. */
interface Check {
  readonly stream: StreamRecord;
  readonly known: ChunkRecord | undefined;
  readonly file: string | Buffer;
  readonly key: string;
  readonly size: number;
  readonly readAt: number;
  /** The file's change time when it was opened for this read (see ChunkRecord.readCtimeNs). */
  readonly readCtimeNs: string;
}

/**
 * Reads chunk `index` from the stream's own file (the path, inode and birth time its record names)
 * and puts it in S3 unless those bytes are there already.
 */
export async function sendChunk(deps: SendDeps, stream: StreamRecord, index: number, known: ChunkRecord | undefined): Promise<Sent> {
  const file = absoluteIn(deps.watchDir, stream.path);
  const readAt = Date.now();
  const opened = await openChunkFile(file, stream, deps.watchDir);
  try {
    const offset = index * stream.chunkSize;
    const size = chunkLength(Number(opened.stats.size), offset, stream.chunkSize, pathText(file));
    const check = { stream, known, file, key: chunkKey(deps.s3Prefix, stream.id, index), size, readAt, readCtimeNs: opened.stats.ctimeNs.toString() };
    // by the stream's chunk size, not this chunk's: a partial last chunk of a big-chunk stream is
    // streamed too, so a worker's memory per chunk never passes its parts
    return stream.chunkSize > deps.multipart.above ? await sendStreamed(deps, opened, offset, check) : await sendBuffered(deps, opened, offset, check);
  } finally {
    await opened.handle.close();
  }
}

/** Whether S3 already holds these bytes: by this stream's record, or (a recovered stream) by asking S3. */
async function alreadyThere(target: Target, { stream, known, key, size, readAt, readCtimeNs }: Check, sha256: string): Promise<Sent | undefined> {
  if (known !== undefined && known.size === size && known.sha256 === sha256) return { skipped: 'already uploaded with these bytes' };
  if (known !== undefined || !stream.recovered) return undefined;
  // state was rebuilt after Redis lost it: the object may already hold these exact bytes
  const head = await headObject(target, key);
  if (head?.size === size && head.sha256 === sha256) return { size, sha256, etag: head.etag, readAt, readCtimeNs, existed: true };
  return undefined;
}

async function sendBuffered(deps: SendDeps, opened: OpenedFile, offset: number, check: Check): Promise<Sent> {
  return deps.memory.withBuffer(check.size, async (buffer) => {
    const bytes = await readChunk(opened, pathText(check.file), offset, check.size, buffer, { md5: deps.contentMd5 });
    const there = await alreadyThere(deps.target, check, bytes.sha256);
    if (there !== undefined) return there;
    const etag = await putChunk(deps.target, { key: check.key, body: bytes.body, md5: bytes.md5, sha256: bytes.sha256 });
    return { size: check.size, sha256: bytes.sha256, etag, readAt: check.readAt, readCtimeNs: check.readCtimeNs, existed: false };
  });
}

/**
 * A chunk too big for one buffer: hashed in a first pass (the object's metadata holds the hash,
 * and it is set when the upload begins), then sent as a multipart upload from the budget's part
 * buffers, its bytes checked against that hash on the way (a change aborts the upload).
 */
async function sendStreamed(deps: SendDeps, opened: OpenedFile, offset: number, check: Check): Promise<Sent> {
  const { partSize } = deps.multipart;
  const file = pathText(check.file);
  return deps.memory.withBuffers(PART_BUFFERS, partSize, async (buffers) => {
    const sha256 = await hashRange(opened.handle, { offset, size: check.size, file }, buffers);
    const there = await alreadyThere(deps.target, check, sha256);
    if (there !== undefined) return there;
    const readPart = verifiedParts(opened.handle, { offset, size: check.size, file }, partSize, sha256);
    const etag = await putStreamedChunk(deps.target, { key: check.key, size: check.size, sha256, partSize, buffers, readPart, md5: deps.contentMd5 });
    return { size: check.size, sha256, etag, readAt: check.readAt, readCtimeNs: check.readCtimeNs, existed: false };
  });
}
