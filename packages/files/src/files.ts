import { constants } from 'node:fs';
import { access, lstat } from 'node:fs/promises';
import path from 'node:path';
import type { FileFacts } from '@vcu/domain';
import { type FileKind, kindOf } from './open.js';

/** `a/b c.mp4` relative to `root`, always with `/`; undefined when `absolute` is outside `root`. */
export function relativeTo(root: string, absolute: string): string | undefined {
  const rel = path.relative(root, absolute);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
  return rel.split(path.sep).join('/');
}

export function absoluteIn(root: string, relativePath: string): string {
  return path.join(root, ...relativePath.split('/'));
}

/** Why a path is not uploaded, in words fit for a log line. */
export type SkipReason = 'symlink (not followed)' | `not a regular file: ${FileKind}` | 'unreadable (permission denied)';

/**
 * Facts about the file at `relativePath` (an empty file has size 0), or the reason it is skipped.
 * Symbolic links are never followed (a link may point outside WATCH_DIR). Throws the fs error
 * (ENOENT…) otherwise.
 */
export async function readFacts(root: string, relativePath: string): Promise<FileFacts | { skip: SkipReason }> {
  const absolute = absoluteIn(root, relativePath);
  // lstat describes the file itself, as stat would, whenever it is not a link
  const s = await lstat(absolute, { bigint: true });
  if (s.isSymbolicLink()) return { skip: 'symlink (not followed)' };
  if (!s.isFile()) return { skip: `not a regular file: ${kindOf(s)}` };
  try {
    await access(absolute, constants.R_OK);
  } catch (err) {
    if (fsErrorCode(err) === 'EACCES' || fsErrorCode(err) === 'EPERM') return { skip: 'unreadable (permission denied)' };
    throw err;
  }
  return {
    path: relativePath,
    dev: s.dev.toString(),
    ino: s.ino.toString(),
    birthtimeNs: s.birthtimeNs.toString(),
    size: Number(s.size),
    mtimeNs: s.mtimeNs.toString(),
  };
}

export function isFileFacts(value: FileFacts | { skip: SkipReason }): value is FileFacts {
  return !('skip' in value);
}

/** Node's error code (ENOENT, EACCES…) of a filesystem error, if any. */
export function fsErrorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
