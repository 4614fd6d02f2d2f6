import { type BigIntStats, constants, openSync, readlinkSync } from 'node:fs';
import { open, realpath } from 'node:fs/promises';
import path from 'node:path';
import { type FileFacts, sameFile } from '@vcu/domain';
import { fsErrorCode, pathText } from './files.js';
import { onLocalDisk } from './local.js';
import { nameFromBytes } from './names.js';
import { LocalFile, type ReadableFile } from './readable.js';

/** What a path is when it is not a regular file, in words fit for a log line. */
export type FileKind = 'regular file' | 'directory' | 'symbolic link' | 'FIFO (named pipe)' | 'socket' | 'device' | 'unknown kind of file';

/** The identity a stream recorded for its file: another inode or birth time is another file (@vcu/domain sameFile). */
export type FileIdentity = Pick<FileFacts, 'ino' | 'birthtimeNs'>;

/** The path is not a regular file (a FIFO, a device, a directory, a link…): it is never read. */
export class NotRegularFileError extends Error {
  override name = 'NotRegularFileError';
  constructor(
    readonly path: string,
    readonly kind: FileKind,
  ) {
    super(`${path} is a ${kind}, not a regular file`);
  }
}

/** The path now names another file than the one expected (replaced, or reached through a moved link). */
export class FileReplacedError extends Error {
  override name = 'FileReplacedError';
}

export function kindOf(stats: Pick<BigIntStats, 'isFile' | 'isDirectory' | 'isSymbolicLink' | 'isFIFO' | 'isSocket' | 'isBlockDevice' | 'isCharacterDevice'>): FileKind {
  if (stats.isFile()) return 'regular file';
  if (stats.isDirectory()) return 'directory';
  if (stats.isSymbolicLink()) return 'symbolic link';
  if (stats.isFIFO()) return 'FIFO (named pipe)';
  if (stats.isSocket()) return 'socket';
  if (stats.isBlockDevice() || stats.isCharacterDevice()) return 'device';
  return 'unknown kind of file';
}

/**
 * Opening never blocks and never follows a link: O_NONBLOCK makes opening a FIFO return at once
 * (a plain open would wait in the kernel for a writer, holding one of libuv's four threads for
 * good), and O_NOFOLLOW refuses a symbolic link as the last part of the path.
 */
const FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW;

/** What openRegularFile checks besides "a regular file": the stream's file identity, and that it was reached under WATCH_DIR with no link on the way. */
export interface OpenChecks {
  readonly expected?: FileIdentity | undefined;
  /** WATCH_DIR, which `file` is under. */
  readonly root?: string | undefined;
}

export interface OpenedFile {
  /** On a local filesystem a {@link LocalFile}, read on this thread; elsewhere a FileHandle. */
  readonly handle: ReadableFile;
  /** fstat of the open handle: what was opened, not what the path names a moment later. */
  readonly stats: BigIntStats;
}

/**
 * Opens `file` for reading only if it is a regular file and, when `expected` is given, the very
 * file (inode and birth time) a stream recorded, and, when `root` (WATCH_DIR) is given, only if
 * the kernel says the file opened is at that path under the root's real path: a folder on the way
 * swapped for a link (to another filesystem, where a file of the same name may even have the same
 * inode and, without birth times, pass for the stream's file) is refused. Everything vcu reads from
 * the watched folder goes through here. Throws {@link NotRegularFileError} or
 * {@link FileReplacedError}, closing the handle; other fs errors (ENOENT, EACCES…) as they are.
 */
export async function openRegularFile(file: string | Buffer, { expected, root }: OpenChecks = {}): Promise<OpenedFile> {
  const shown = pathText(file);
  let handle: ReadableFile;
  try {
    // on a local filesystem on this thread; a network share that stops answering then holds a
    // pool thread, not the event loop (see onLocalDisk)
    handle = (await onLocalDisk(file)) ? new LocalFile(openSync(file, FLAGS)) : await open(file, FLAGS);
  } catch (err) {
    if (fsErrorCode(err) === 'ELOOP') throw new NotRegularFileError(shown, 'symbolic link');
    throw err;
  }
  try {
    const stats = await handle.stat({ bigint: true });
    if (!stats.isFile()) throw new NotRegularFileError(shown, kindOf(stats));
    if (expected !== undefined && !sameFile(expected, { ino: stats.ino.toString(), birthtimeNs: stats.birthtimeNs.toString() })) {
      throw new FileReplacedError(`${shown} is now another file (inode ${stats.ino}, born ${stats.birthtimeNs} ns; expected ${expected.ino}, ${expected.birthtimeNs})`);
    }
    if (root !== undefined) await assertReachedDirectly(handle, file, root);
    return { handle, stats };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** The real path (no link in it) of each root files were opened under, found once. */
const realRoots = new Map<string, Promise<Buffer>>();

function realRoot(root: string): Promise<Buffer> {
  let real = realRoots.get(root);
  if (real === undefined) {
    real = realpath(root, { encoding: 'buffer' });
    realRoots.set(root, real);
    real.catch(() => realRoots.delete(root));
  }
  return real;
}

/** What Linux adds to an open file's path in /proc once the file is deleted. */
const DELETED = Buffer.from(' (deleted)');

/**
 * Throws {@link FileReplacedError} when the kernel's path of the open file (Linux: /proc/self/fd)
 * is not `file`'s path under the real path of `root`: a folder between them is a link. Where
 * /proc cannot be read, or `file` is not under `root`, nothing is checked.
 */
async function assertReachedDirectly(handle: ReadableFile, file: string | Buffer, root: string): Promise<void> {
  let actual: Buffer;
  try {
    // a /proc link is read from the kernel's memory, never from a disk: at once, so on this
    // thread (a few µs), where a trip through libuv's pool cost more than the read itself
    actual = readlinkSync(`/proc/self/fd/${handle.fd}`, { encoding: 'buffer' });
  } catch {
    return;
  }
  const absolute = typeof file === 'string' ? Buffer.from(file) : file;
  const prefix = Buffer.from(path.join(root, path.sep));
  if (!absolute.subarray(0, prefix.length).equals(prefix)) return;
  const rest = absolute.subarray(prefix.length);
  if (isAt(actual, await realRoot(root), rest)) return;
  // WATCH_DIR itself may be reached through a link that was pointed elsewhere since: look again
  realRoots.delete(root);
  if (isAt(actual, await realRoot(root), rest)) return;
  throw new FileReplacedError(`${pathText(file)} was reached through a link: the file opened is ${nameFromBytes(actual)}`);
}

/** Whether the kernel's path `actual` is `rest` under `real` (or that file, deleted since). */
function isAt(actual: Buffer, real: Buffer, rest: Buffer): boolean {
  const joint = real.at(-1) === path.sep.charCodeAt(0) ? real : Buffer.concat([real, Buffer.from(path.sep)]);
  const expected = Buffer.concat([joint, rest]);
  return actual.equals(expected) || actual.equals(Buffer.concat([expected, DELETED]));
}

/** Runs `work` with the opened file and closes it however `work` ends. */
export async function withRegularFile<T>(file: string | Buffer, checks: OpenChecks, work: (opened: OpenedFile) => Promise<T>): Promise<T> {
  const opened = await openRegularFile(file, checks);
  try {
    return await work(opened);
  } finally {
    await opened.handle.close();
  }
}
