import { lstat } from 'node:fs/promises';
import { type Entry, absoluteIn, fsErrorCode, isRawName, lossyName, readEntries, relativeTo } from '@vcu/files';
import { type Logger, logEvent } from '@vcu/logger';
import { isHiddenOrTemporary } from './filter.js';
import type { PathSync, SyncOptions } from './paths.js';

/** With OS events, files whose names are not UTF-8 are still polled: this often. */
const POLL_WITH_EVENTS_MS = 1000;

export interface RawNamesDeps {
  readonly dir: string;
  /** WATCH_POLL_MS; 0 (OS events) polls these files every second. */
  readonly pollMs: number;
  /** WATCH_PATTERNS, on a path as text (the name's lossy form). */
  readonly matches: (relativePath: string) => boolean;
  readonly paths: Pick<PathSync, 'schedule' | 'removed'>;
  /** A file changed (bytes written): sealing looks at it a moment later. */
  readonly changed: (relativePath: string) => void;
  readonly logger: Logger;
}

/** What a file was at the last poll: size, mtime and inode, or the error that stat met. */
type Seen = string;

/**
 * Files and folders whose names are not valid UTF-8. chokidar never reports them: it lists
 * folders as text, and the name it decodes (with U+FFFD) opens nothing. So the watcher finds them
 * itself, reading folders as bytes (@vcu/files `readEntries`):
 *
 * - at start, the whole of WATCH_DIR once;
 * - a folder again when chokidar's raw events name something in it that does not decode (with
 *   OS events), or when the folder changes (when polling), at the next poll;
 * - on every poll (WATCH_POLL_MS, else every second), each such file is looked at (a change in
 *   size, mtime or inode syncs it; its disappearance retires its stream), and the whole tree of
 *   each folder whose name is not UTF-8, which chokidar cannot enter.
 *
 * Files inside such a folder are watched the same way, whatever their own names.
 */
export function createRawNames(deps: RawNamesDeps) {
  const { dir } = deps;
  const log = deps.logger.child({ module: 'watch' });
  /** Files watched here (vcu's string form) → what the last poll saw. */
  const files = new Map<string, Seen>();
  /** The lossy forms of those files: a raw event that names one of them needs no folder read. */
  const shown = new Set<string>();
  /** Folders whose names are not UTF-8: their whole trees are read on every poll. */
  const folders = new Set<string>();
  /** Folders found unreadable, said once until they can be read. */
  const unreadable = new Set<string>();
  /** Folders to read at the next poll ('' is WATCH_DIR). */
  const pending = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let polling: Promise<void> | undefined;

  /** A file to watch here: the next look at it syncs it. */
  function addFile(rel: string): void {
    if (files.has(rel) || !deps.matches(lossyName(rel))) return;
    files.set(rel, '');
    shown.add(lossyName(rel));
    logEvent(log, 'file.not-utf8', { path: rel });
  }

  /**
   * Reads a folder (and, `deep`, every folder under it) for names that are not UTF-8: files found
   * are watched from now on, and the topmost folder of such a name is read again on every poll.
   */
  async function read(relativeDir: string, deep: boolean): Promise<void> {
    let entries: Entry[];
    try {
      entries = await readEntries(dir, relativeDir);
    } catch (err) {
      // gone, or unreadable: nothing to find there (chokidar says why for a folder it sees; this
      // says it for one it cannot, and looks again when the OS next reports a change beside it)
      const code = fsErrorCode(err);
      if ((code === 'EACCES' || code === 'EPERM') && isRawName(relativeDir) && !unreadable.has(relativeDir)) {
        unreadable.add(relativeDir);
        logEvent(log, 'directory.unreadable', { path: relativeDir, err });
      }
      folders.delete(relativeDir);
      return;
    }
    unreadable.delete(relativeDir);
    for (const entry of entries) {
      if (isHiddenOrTemporary(lossyName(entry.path))) continue;
      if (entry.kind !== 'directory') {
        if (isRawName(entry.path)) addFile(entry.path);
        continue;
      }
      if (isRawName(entry.name) && !isRawName(relativeDir) && !folders.has(entry.path)) {
        folders.add(entry.path);
        logEvent(log, 'directory.not-utf8', { path: entry.path });
      }
      if (deep) await read(entry.path, deep);
    }
  }

  /** Stats one watched file: a change syncs it, its disappearance retires its stream. */
  async function look(rel: string, options: SyncOptions): Promise<void> {
    let seen: Seen;
    try {
      const s = await lstat(absoluteIn(dir, rel), { bigint: true });
      seen = `${s.size}:${s.mtimeNs}:${s.ino}`;
    } catch (err) {
      const code = fsErrorCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        files.delete(rel);
        shown.delete(lossyName(rel));
        await deps.paths.removed(rel);
        return;
      }
      seen = `error:${code ?? 'unknown'}`; // the sync says what is wrong, once
    }
    if (files.get(rel) === seen || !files.has(rel)) return;
    files.set(rel, seen);
    deps.paths.schedule(rel, options);
    deps.changed(rel);
  }

  async function poll(): Promise<void> {
    const folderReads = [...pending];
    pending.clear();
    for (const rel of folderReads) await read(rel, false);
    for (const rel of [...folders]) await read(rel, true);
    await lookAtAll(false);
  }

  async function lookAtAll(recovering: boolean): Promise<void> {
    await Promise.all([...files.keys()].map((rel) => look(rel, { idle: false, recovering, seal: false })));
  }

  return {
    /** Reads all of WATCH_DIR once (its files sync as recovering, like chokidar's first scan), then polls. */
    async start(): Promise<void> {
      await read('', true);
      await lookAtAll(true);
      timer = setInterval(() => {
        polling ??= poll()
          .catch((err: unknown) => void log.warn('could not look at files whose names are not UTF-8; the next poll does', { err }))
          .finally(() => (polling = undefined));
      }, deps.pollMs > 0 ? deps.pollMs : POLL_WITH_EVENTS_MS);
      timer.unref();
    },

    /**
     * chokidar's `raw` event: with OS events, `name` is an entry of the folder `details.watchedPath`
     * as the OS reported it, decoded; when polling, `name` is a watched path whose stats changed.
     */
    raw(name: string | null, details: unknown): void {
      const watched = (details as { watchedPath?: unknown } | null)?.watchedPath;
      if (typeof watched === 'string') {
        if (name === null || !name.includes('\uFFFD')) return;
        const folder = watched === dir ? '' : relativeTo(dir, watched);
        if (folder !== undefined && !shown.has(folder === '' ? name : `${folder}/${name}`)) pending.add(folder);
        return;
      }
      const curr = (details as { curr?: { mode?: unknown } } | null)?.curr;
      if (name === null || typeof curr?.mode !== 'number' || (curr.mode & 0o170000) !== 0o040000) return;
      const folder = name === dir ? '' : relativeTo(dir, name);
      if (folder !== undefined) pending.add(folder);
    },

    get size(): number {
      return files.size;
    },

    async close(): Promise<void> {
      clearInterval(timer);
      await polling;
    },
  };
}
