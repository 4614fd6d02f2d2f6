import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { fsErrorCode } from '@vcu/files';

/** Replies of access(W_OK) that no retry fixes: a read-only mount or a folder this user may not write. */
const NOT_WRITABLE = new Set(['EROFS', 'EACCES', 'EPERM']);

/**
 * Why AFTER_UPLOAD=delete cannot work in this process, or undefined. Said at start (as a wrong
 * setting is) rather than as a failed deletion per file forever; a folder that is missing for now
 * is the health check's to report.
 */
export async function deletionProblem(mode: 'keep' | 'delete', watchDir: string): Promise<string | undefined> {
  if (mode !== 'delete') return undefined;
  try {
    await access(watchDir, constants.W_OK);
    return undefined;
  } catch (err) {
    const code = fsErrorCode(err);
    if (code === undefined || !NOT_WRITABLE.has(code)) return undefined;
    return `AFTER_UPLOAD=delete, but this worker cannot write WATCH_DIR (${code}): mount it read-write for the workers (README, "Deploy it with Docker Compose"), or set AFTER_UPLOAD=keep`;
  }
}
