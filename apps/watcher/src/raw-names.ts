import { lstat } from 'node:fs/promises';
import { type Entry, absoluteIn, fileVersion, fsErrorCode, isRawName, lossyName, readEntries, relativeTo } from '@vcu/files';
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

/**
 * Files and folders whose names are not valid UTF-8. chokidar never reports them: it lists
 * folders as text, and the name it decodes (with U+FFFD) opens nothing. So the watcher finds them
 * itself, reading folders as bytes (@vcu/files `readEntries`):
 *
 * - at start, the whole of WATCH_DIR once;
 * - a folder again when chokidar's raw events name something in it that does not decode (with
 *   OS events), or when the folder changes (when polling), at the next poll;
 * - on every poll (WATCH_POLL_MS, else every second), the whole tree of each folder whose name is
 *   not UTF-8, which chokidar cannot enter, and each such file: a change in size, mtime or inode
 *   syncs it, its disappearance retires its stream.
 *
 * Files inside such a folder are watched the same way, whatever their own names.
 */
export function createRawNames(deps: RawNamesDeps) {
  const { dir } = deps;
  const log = deps.logger.child({ module: 'watch' });
  const files = createRawFiles(deps, log);
  const folders = createRawFolders(dir, log, (rel) => files.add(rel));
  /** Folders to read at the next poll ('' is WATCH_DIR). */
  const pending = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let polling: Promise<void> | undefined;

  async function poll(): Promise<void> {
    const reads = [...pending];
    pending.clear();
    for (const rel of reads) await folders.read(rel, false);
    await folders.readTrees();
    await files.lookAtAll(false);
  }

  return {
    /** Reads all of WATCH_DIR once (its files sync as recovering, like chokidar's first scan), then polls. */
    async start(): Promise<void> {
      await folders.read('', true);
      await files.lookAtAll(true);
      timer = setInterval(() => {
        polling ??= poll()
          .catch((err: unknown) => logEvent(log, 'names.poll-failed', { err }))
          .finally(() => (polling = undefined));
      }, deps.pollMs > 0 ? deps.pollMs : POLL_WITH_EVENTS_MS);
      timer.unref();
    },

    /**
     * chokidar's `raw` event: with OS events, `name` is an entry of the folder `details.watchedPath`
     * as the OS reported it, decoded; when polling, `name` is a watched path whose stats changed.
     */
    raw(name: string | null, details: unknown): void {
      if (name === null) return;
      const watched = (details as { watchedPath?: unknown } | null)?.watchedPath;
      const folderOf = (absolute: string): string | undefined => (absolute === dir ? '' : relativeTo(dir, absolute));
      if (typeof watched === 'string') {
        const folder = name.includes('\uFFFD') ? folderOf(watched) : undefined;
        // a file already watched here (a recording being written) needs no folder read
        if (folder !== undefined && !files.knows(folder === '' ? name : `${folder}/${name}`)) pending.add(folder);
        return;
      }
      const mode = (details as { curr?: { mode?: unknown } } | null)?.curr?.mode;
      const folder = typeof mode === 'number' && (mode & 0o170000) === 0o040000 ? folderOf(name) : undefined;
      if (folder !== undefined) pending.add(folder);
    },

    async close(): Promise<void> {
      clearInterval(timer);
      await polling;
    },
  };
}

/** Finding names that are not UTF-8 in folders read as bytes; the topmost folder of such a name is remembered and its tree read on every poll. */
function createRawFolders(dir: string, log: Logger, foundFile: (relativePath: string) => void) {
  /** Folders whose names are not UTF-8 (and whose parents' are). */
  const trees = new Set<string>();
  /** Folders found unreadable, said once until they can be read. */
  const unreadable = new Set<string>();

  function cannotRead(relativeDir: string, err: unknown): void {
    // gone, or unreadable: nothing to find there. chokidar says why for a folder it sees; this
    // says it for one it cannot, and the folder is looked at again when the OS next reports a
    // change beside it
    const code = fsErrorCode(err);
    if ((code === 'EACCES' || code === 'EPERM') && isRawName(relativeDir) && !unreadable.has(relativeDir)) {
      unreadable.add(relativeDir);
      logEvent(log, 'directory.unreadable', { path: relativeDir, err });
    }
    trees.delete(relativeDir);
  }

  /** Reads a folder (and, `deep`, every folder under it): files whose paths are not UTF-8 are handed on. */
  async function read(relativeDir: string, deep: boolean): Promise<void> {
    let entries: Entry[];
    try {
      entries = await readEntries(dir, relativeDir);
    } catch (err) {
      cannotRead(relativeDir, err);
      return;
    }
    unreadable.delete(relativeDir);
    for (const entry of entries) {
      if (isHiddenOrTemporary(lossyName(entry.path))) continue;
      if (entry.kind !== 'directory') {
        if (isRawName(entry.path)) foundFile(entry.path);
        continue;
      }
      if (isRawName(entry.name) && !isRawName(relativeDir) && !trees.has(entry.path)) {
        trees.add(entry.path);
        logEvent(log, 'directory.not-utf8', { path: entry.path });
      }
      if (deep) await read(entry.path, deep);
    }
  }

  return {
    read,
    /** Reads the whole tree of every folder whose name is not UTF-8: chokidar sees nothing in them. */
    async readTrees(): Promise<void> {
      for (const rel of [...trees]) await read(rel, true);
    },
  };
}

/** What a file was at the last look: size, mtime and inode, or the error that lstat met ('' before the first). */
type Seen = string;

/** The files watched here, each looked at on every poll. */
function createRawFiles(deps: RawNamesDeps, log: Logger) {
  const files = new Map<string, Seen>();
  /** The lossy forms of those paths, as chokidar's raw events give them. */
  const shown = new Set<string>();

  function forget(rel: string): void {
    files.delete(rel);
    shown.delete(lossyName(rel));
  }

  /** Stats one file: a change syncs it, its disappearance retires its stream. */
  async function look(rel: string, options: SyncOptions): Promise<void> {
    let seen: Seen;
    try {
      const s = await lstat(absoluteIn(deps.dir, rel), { bigint: true });
      seen = fileVersion(s);
    } catch (err) {
      const code = fsErrorCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        forget(rel);
        await deps.paths.removed(rel);
        return;
      }
      seen = `error:${code ?? 'unknown'}`; // the sync says what is wrong, once
    }
    if (!files.has(rel) || files.get(rel) === seen) return;
    files.set(rel, seen);
    deps.paths.schedule(rel, options);
    deps.changed(rel);
  }

  return {
    /** A file to watch from now on, if it matches WATCH_PATTERNS: the next look syncs it. */
    add(rel: string): void {
      if (files.has(rel) || !deps.matches(lossyName(rel))) return;
      files.set(rel, '');
      shown.add(lossyName(rel));
      logEvent(log, 'file.not-utf8', { path: rel });
    },
    knows: (shownPath: string): boolean => shown.has(shownPath),
    async lookAtAll(recovering: boolean): Promise<void> {
      await Promise.all([...files.keys()].map((rel) => look(rel, { idle: false, recovering, seal: false })));
    },
  };
}

export type RawNames = ReturnType<typeof createRawNames>;
