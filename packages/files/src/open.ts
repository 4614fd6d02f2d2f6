import { type BigIntStats, constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { type FileFacts, sameFile } from '@vcu/domain';
import { fsErrorCode, pathText } from './files.js';

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

export interface OpenedFile {
  readonly handle: FileHandle;
  /** fstat of the open handle: what was opened, not what the path names a moment later. */
  readonly stats: BigIntStats;
}

/**
 * Opens `file` for reading only if it is a regular file and, when `expected` is given, the very
 * file (inode and birth time) a stream recorded. Everything vcu reads from the watched folder goes
 * through here. Throws {@link NotRegularFileError} or {@link FileReplacedError}, closing the handle;
 * other fs errors (ENOENT, EACCES…) as they are.
 */
export async function openRegularFile(file: string | Buffer, expected?: FileIdentity): Promise<OpenedFile> {
  const shown = pathText(file);
  let handle: FileHandle;
  try {
    handle = await open(file, FLAGS);
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
    return { handle, stats };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** Runs `work` with the opened file and closes it however `work` ends. */
export async function withRegularFile<T>(file: string | Buffer, expected: FileIdentity | undefined, work: (opened: OpenedFile) => Promise<T>): Promise<T> {
  const opened = await openRegularFile(file, expected);
  try {
    return await work(opened);
  } finally {
    await opened.handle.close();
  }
}
