import { link, lstat, rename, unlink } from 'node:fs/promises';
import { type FileFacts, type StreamMetadata, changedMsOf, mtimeMsOf, sameFile } from '@vcu/domain';
import { absoluteIn, digestFile, fsErrorCode, isFileFacts, readFacts, withRegularFile, writersLook } from '@vcu/files';
import { logEvent } from '@vcu/logger';
import { createLimiter } from '@vcu/runtime';
import type { StreamRecord } from '@vcu/state';
import { MetadataUnreadableError, metadataKey, readMetadata } from '@vcu/storage';
import type { FinalizeContext } from './context.js';

/** Streams forgotten, and files looked at for deletion, per sweep at most: the rest wait for the next. */
const FORGET_PER_SWEEP = 500;
const FORGET_PARALLEL = 16;
const DELETIONS_PER_SWEEP = 50;
/**
 * Kept streams whose file one sweep looks at (round robin over every stream Redis keeps), and how
 * many lstat's at once: a constant cost per sweep (a few ms); with 50,000 kept and a sweep a
 * second, each is seen every ~8 minutes.
 */
const PRESENCE_PER_SWEEP = 100;
const PRESENCE_PARALLEL = 16;
/** How long a file moved aside for deletion must stay unchanged before it is deleted. */
const DELETE_CHECK_MS = 2000;

/**
 * Forgets finished streams whose file left WATCH_DIR FORGET_AFTER_MS ago: Redis keeps what is
 * live, and metadata.json in S3 is the record of the rest. A stream whose very file is still
 * there (truncated to empty, waiting for new bytes) is kept: see FORGET_STREAM. Returns how many
 * it looked at.
 */
export async function forgetGone(ctx: FinalizeContext): Promise<number> {
  const ids = await ctx.store.gone(ctx.now() - ctx.forgetAfterMs, FORGET_PER_SWEEP);
  const streams = await ctx.store.getMany(ids);
  // several at once (ioredis pipelines them): one by one, two round trips each, a loaded machine
  // forgot fewer streams a second than a camera farm rotates out, and Redis grew while it lasted
  const limit = createLimiter(FORGET_PARALLEL);
  const forget = async (id: string, stream: StreamRecord | undefined): Promise<boolean> => {
    if (stream === undefined) return ctx.store.forget({ id, path: '' });
    return ctx.store.forget(stream, (await presence(ctx, stream)) !== 'gone');
  };
  const results = await Promise.all(ids.map((id, i) => limit(() => forget(id, streams[i]))));
  const forgotten = results.filter(Boolean).length;
  if (forgotten > 0) logEvent(ctx.log, 'streams.forgotten', { count: forgotten });
  return ids.length;
}

/**
 * Retires complete streams whose file is no longer in WATCH_DIR, or is another file now (another
 * device or inode at its path): it left while no watcher ran, or the watcher missed it. They are
 * forgotten FORGET_AFTER_MS later. A batch per sweep, round robin (see nextToCheck): the watcher
 * never reads every stream Redis keeps, and neither does a sweep. Unfinished streams are left to
 * finalize, and a file AFTER_UPLOAD=delete has moved aside to deleteUploaded. Returns how many
 * streams it looked at.
 */
export async function retireMissing(ctx: FinalizeContext): Promise<number> {
  const ids = await ctx.store.nextToCheck(PRESENCE_PER_SWEEP);
  const limit = createLimiter(PRESENCE_PARALLEL);
  let retired = 0;
  const check = async (stream: StreamRecord | undefined): Promise<void> => {
    if (stream?.status !== 'complete' || stream.deletingAs !== undefined) return;
    if ((await presence(ctx, stream)) === 'there') return;
    await ctx.streams.retire(stream, 'file deleted');
    retired += 1;
  };
  await Promise.all((await ctx.store.getMany(ids)).map((stream) => limit(() => check(stream))));
  if (retired > 0) logEvent(ctx.log, 'streams.reconciled', { count: retired });
  return ids.length;
}

/** Whether the stream's very file (same inode and birth time) is at its path; 'unknown' when that cannot be seen. */
async function presence(ctx: FinalizeContext, stream: StreamRecord): Promise<'there' | 'gone' | 'unknown'> {
  try {
    const s = await lstat(absoluteIn(ctx.watchDir, stream.path), { bigint: true });
    const same = s.isFile() && sameFile(stream, { ino: s.ino.toString(), birthtimeNs: s.birthtimeNs.toString() });
    return same ? 'there' : 'gone';
  } catch (err) {
    const code = fsErrorCode(err);
    return code === 'ENOENT' || code === 'ENOTDIR' ? 'gone' : 'unknown';
  }
}

/**
 * AFTER_UPLOAD=delete, in two steps a moment apart so that no byte is ever lost: a finished file
 * unchanged for DELETE_AFTER_MS is moved aside (a hidden name in its folder: a writer that opens
 * the path again creates a new file, which is uploaded as one); DELETE_CHECK_MS later, if it is
 * still unchanged, nobody writes to it, and its metadata.json is in S3, it is deleted; otherwise it
 * is put back (beside a new file of the same name if there is one), and uploaded again. Returns
 * how many streams it looked at.
 *
 * The batch shares one look at each folder's writers (writersLook): a writer that opens a file
 * after that look and before its move is seen by the second look, a sweep later; one that opens a
 * file already moved aside would have to open its hidden name.
 */
export async function deleteUploaded(ctx: FinalizeContext): Promise<number> {
  if (ctx.afterUpload?.mode !== 'delete') return 0;
  const ids = await ctx.store.deletable(ctx.now(), DELETIONS_PER_SWEEP);
  const written = openForWriting(ctx);
  for (const stream of await ctx.store.getMany(ids)) {
    if (stream === undefined) continue;
    if (stream.deletingAs === undefined) await moveAside(ctx, stream, written);
    else await deleteOrRestore(ctx, stream, stream.deletingAs, written);
  }
  return ids.length;
}

/** Whether some process has a file open for writing; false when that cannot be seen (then the rename and the second look decide). */
type OpenForWriting = (absolute: string | Buffer) => Promise<boolean>;

function openForWriting(ctx: FinalizeContext): OpenForWriting {
  const look = ctx.afterUpload?.seesWriters === true ? writersLook() : undefined;
  return async (absolute) => (look !== undefined && typeof absolute === 'string' ? look(absolute) : false);
}

/**
 * Whether the file's change time is later than the stream's completion, though its size and
 * modification time are the ones uploaded: rewritten in place with its mtime set back (`rsync
 * --inplace -t`), or only renamed, linked (put back after a deletion was called off), chmod'ed,
 * or the file server's clock is ahead. Its bytes are then compared with S3's before it is deleted.
 */
function changedAfterUpload(stream: StreamRecord, facts: FileFacts): boolean {
  return stream.completedAt !== undefined && facts.ctimeNs !== undefined && changedMsOf(facts) > stream.completedAt;
}

/** Whether the file's SHA-256 (read whole, now) is the one its metadata.json in S3 gives. */
async function sameBytesAsUploaded(ctx: FinalizeContext, stream: StreamRecord, facts: FileFacts, metadata: StreamMetadata): Promise<boolean> {
  const digest = await withRegularFile(absoluteIn(ctx.watchDir, stream.path), { expected: stream, root: ctx.watchDir }, ({ handle }) => digestFile(handle, stream.chunkSize, facts.size, () => false));
  return digest.size === facts.size && digest.sha256 === metadata.sha256;
}

/** Whether `facts` are still the very file version `stream` uploaded, quiet for `quietMs`. */
function unchanged(stream: StreamRecord, facts: FileFacts, now: number, quietMs: number): boolean {
  const same = sameFile(stream, facts) && facts.size === stream.size && facts.mtimeNs === stream.mtimeNs;
  return same && Number(BigInt(facts.mtimeNs) / 1_000_000n) <= now - quietMs;
}

async function moveAside(ctx: FinalizeContext, stream: StreamRecord, written: OpenForWriting): Promise<void> {
  const deleteAfterMs = ctx.afterUpload?.deleteAfterMs ?? 0;
  if (stream.status !== 'complete') return ctx.store.deletionDone(stream.id);
  const facts = await readFacts(ctx.watchDir, stream.path).catch(() => undefined);
  if (facts === undefined || !isFileFacts(facts)) return ctx.store.deletionDone(stream.id); // gone or not a file: nothing to delete
  const absolute = absoluteIn(ctx.watchDir, stream.path);
  if (!unchanged(stream, facts, ctx.now(), deleteAfterMs) || (await written(absolute))) {
    // changed (then the watcher reopens the stream) or still written to: looked at again later
    return ctx.store.deletionAt(stream.id, ctx.now() + deleteAfterMs);
  }
  // nothing is moved unless S3's metadata.json describes this very file (an outage: later)
  const metadata = await described(ctx, stream, facts);
  if (typeof metadata !== 'object') return ctx.store.deletionAt(stream.id, ctx.now() + deleteAfterMs);
  if (changedAfterUpload(stream, facts) && !(await sameBytesAsUploaded(ctx, stream, facts, metadata))) {
    logEvent(ctx.log, 'file.changed-in-place', { stream: stream.id, path: stream.path });
    return ctx.store.deletionDone(stream.id);
  }
  const hidden = `.vcu-deleting-${stream.id}`;
  // the intent first: a worker that dies after the rename leaves a record the next sweep finishes
  await ctx.store.deletionAt(stream.id, ctx.now() + DELETE_CHECK_MS, hidden);
  await rename(absolute, absoluteIn(ctx.watchDir, siblingOf(stream.path, hidden)));
}

async function deleteOrRestore(ctx: FinalizeContext, stream: StreamRecord, hidden: string, written: OpenForWriting): Promise<void> {
  const aside = siblingOf(stream.path, hidden);
  const facts = await readFacts(ctx.watchDir, aside).catch(() => undefined);
  if (facts === undefined || !isFileFacts(facts)) return ctx.store.deletionDone(stream.id); // removed by someone else
  const inS3 = await described(ctx, stream, facts);
  if (inS3 === 'unknown') return ctx.store.deletionAt(stream.id, ctx.now() + DELETE_CHECK_MS); // S3 away: later
  const quiet = unchanged(stream, facts, ctx.now(), DELETE_CHECK_MS) && !(await written(absoluteIn(ctx.watchDir, aside)));
  if (quiet && inS3 !== false) {
    await unlink(absoluteIn(ctx.watchDir, aside));
    logEvent(ctx.log, 'file.deleted', { stream: stream.id, path: stream.path, metadataKey: metadataKey(ctx.s3Prefix, stream.id) });
    return ctx.store.deletionDone(stream.id);
  }
  const restored = await putBack(ctx, stream.path, aside);
  logEvent(ctx.log, 'file.kept', { stream: stream.id, path: restored, why: quiet ? 'metadata.json does not describe it' : 'written to' });
  // back under its name and unchanged (only held open): deleted once quiet again; a file that
  // changed is uploaded again, and its stream asks for deletion when it completes again
  if (restored === stream.path && unchanged(stream, facts, ctx.now(), 0)) return ctx.store.deletionAt(stream.id, ctx.now() + (ctx.afterUpload?.deleteAfterMs ?? 0), null);
  await ctx.store.deletionDone(stream.id);
}

/**
 * The stream's metadata.json in S3 when it describes this very file (its size and modification
 * time); false when it does not, 'unknown' when S3 does not answer. S3's record decides, not only
 * Redis's: a deletion never rests on state Redis may have lost or rolled back.
 */
async function described(ctx: FinalizeContext, stream: StreamRecord, facts: FileFacts): Promise<StreamMetadata | false | 'unknown'> {
  try {
    const metadata = await readMetadata(ctx.target, ctx.s3Prefix, stream.id);
    const modifiedAt = new Date(mtimeMsOf(facts)).toISOString();
    const same = metadata !== undefined && metadata.source.size === facts.size && metadata.source.modifiedAt === modifiedAt;
    return same ? metadata : false;
  } catch (err) {
    if (err instanceof MetadataUnreadableError) return false;
    return 'unknown';
  }
}

/** Puts a file moved aside back under its name, or beside a new file that took it; returns where. */
async function putBack(ctx: FinalizeContext, original: string, aside: string): Promise<string> {
  const dot = original.lastIndexOf('.');
  const candidates = [original, dot > original.lastIndexOf('/') ? `${original.slice(0, dot)} (kept ${ctx.now()})${original.slice(dot)}` : `${original} (kept ${ctx.now()})`];
  for (const name of candidates) {
    try {
      // link() never replaces a file, where rename() would
      await link(absoluteIn(ctx.watchDir, aside), absoluteIn(ctx.watchDir, name));
      await unlink(absoluteIn(ctx.watchDir, aside));
      return name;
    } catch (err) {
      if (fsErrorCode(err) !== 'EEXIST') throw err;
    }
  }
  return aside;
}

/** `name` in the folder of `relativePath`. */
function siblingOf(relativePath: string, name: string): string {
  const slash = relativePath.lastIndexOf('/');
  return slash < 0 ? name : `${relativePath.slice(0, slash + 1)}${name}`;
}
