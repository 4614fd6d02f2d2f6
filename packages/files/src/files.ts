import { type BigIntStats, accessSync, constants, lstatSync } from 'node:fs';
import { access, lstat } from 'node:fs/promises';
import path from 'node:path';
import type { FileFacts } from '@vcu/domain';
import { isRawName, nameFromBytes, nameToBytes } from './names.js';
import { onLocalDisk } from './local.js';
import { type FileKind, kindOf } from './open.js';

/**
 * `a/b c.mp4` relative to `root`, always with `/`; undefined when `absolute` is outside `root`.
 * For a path that is text (from chokidar, or the command line): names that are not UTF-8 come
 * from {@link readEntries} instead.
 */
export function relativeTo(root: string, absolute: string): string | undefined {
  const rel = path.relative(root, absolute);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
  return rel.split(path.sep).join('/');
}

/**
 * The path of `relativePath` (a name in vcu's string form, see names.ts) under `root`, as the file
 * system takes it: a string, or the raw bytes when the name is not valid UTF-8. `root` is
 * WATCH_DIR, text from the environment.
 */
export function absoluteIn(root: string, relativePath: string): string | Buffer {
  const joined = path.join(root, ...relativePath.split('/'));
  return isRawName(relativePath) ? nameToBytes(joined) : joined;
}

/** A path as given to the file system, as vcu's string form of a name (for messages; printers escape it). */
export function pathText(file: string | Buffer): string {
  return typeof file === 'string' ? file : nameFromBytes(file);
}

/** Why a path is not uploaded, in words fit for a log line. */
export type SkipReason = 'symlink (not followed)' | `not a regular file: ${FileKind}` | 'unreadable (permission denied)';

/**
 * Facts about the file at `relativePath` (an empty file has size 0), or the reason it is skipped.
 * Symbolic links are never followed (a link may point outside WATCH_DIR). Throws the fs error
 * (ENOENT…) otherwise. On a local filesystem both calls run on the calling thread (see onLocalDisk).
 */
export async function readFacts(root: string, relativePath: string): Promise<FileFacts | { skip: SkipReason }> {
  const absolute = absoluteIn(root, relativePath);
  const local = await onLocalDisk(absolute);
  // lstat describes the file itself, as stat would, whenever it is not a link
  const s = local ? lstatSync(absolute, { bigint: true }) : await lstat(absolute, { bigint: true });
  if (s.isSymbolicLink()) return { skip: 'symlink (not followed)' };
  if (!s.isFile()) return { skip: `not a regular file: ${kindOf(s)}` };
  if (!(await readable(absolute, local))) return { skip: 'unreadable (permission denied)' };
  return factsOf(relativePath, s);
}

/** Whether this process may read `file`; throws an fs error other than "permission denied". */
async function readable(file: string | Buffer, local: boolean): Promise<boolean> {
  try {
    if (local) accessSync(file, constants.R_OK);
    else await access(file, constants.R_OK);
    return true;
  } catch (err) {
    if (fsErrorCode(err) === 'EACCES' || fsErrorCode(err) === 'EPERM') return false;
    throw err;
  }
}

function factsOf(relativePath: string, s: BigIntStats): FileFacts {
  return {
    path: relativePath,
    dev: s.dev.toString(),
    ino: s.ino.toString(),
    birthtimeNs: s.birthtimeNs.toString(),
    size: Number(s.size),
    mtimeNs: s.mtimeNs.toString(),
    ctimeNs: s.ctimeNs.toString(),
  };
}

/** The facts of the file at `relativePath` when it is a readable regular file now; undefined when it is gone or skipped. */
export async function currentFacts(root: string, relativePath: string): Promise<FileFacts | undefined> {
  try {
    const facts = await readFacts(root, relativePath);
    return isFileFacts(facts) ? facts : undefined;
  } catch (err) {
    const code = fsErrorCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

export function isFileFacts(value: FileFacts | { skip: SkipReason }): value is FileFacts {
  return !('skip' in value);
}

/** Node's error code (ENOENT, EACCES…) of a filesystem error, if any. */
export function fsErrorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * A file version as one string: size, modification time, change time and inode. Any write moves
 * it, and so does a modification time set back afterwards (`rsync --inplace -t`), a chmod or a
 * link (the change time). The watcher compares it between looks, finalize keys its digests by it.
 */
export function fileVersion(s: { size: number | bigint; mtimeNs: string | bigint; ctimeNs?: string | bigint | undefined; ino: string | bigint }): string {
  return `${s.size}:${s.mtimeNs}:${s.ctimeNs ?? ''}:${s.ino}`;
}

/** Whether two versions ({@link fileVersion}) differ in their change time alone: chmod, a link, a rewrite with size and mtime put back. */
export function onlyChangeTimeMoved(a: string, b: string): boolean {
  const [x, y] = [a.split(':'), b.split(':')];
  return x.length === 4 && y.length === 4 && x[0] === y[0] && x[1] === y[1] && x[3] === y[3] && x[2] !== y[2];
}
