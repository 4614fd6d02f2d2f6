import { lstat } from 'node:fs/promises';
import { absoluteIn, fileVersion, fsErrorCode, isRawName, readEntries } from '@vcu/files';
import { type Logger, logEvent } from '@vcu/logger';
import type { PathSync } from './paths.js';

export interface RescanDeps {
  readonly dir: string;
  /** WATCH_RESCAN_MS; 0 turns the rescan off. */
  readonly everyMs: number;
  /** WATCH_PATTERNS (hidden and temporary files never match). */
  readonly matches: (relativePath: string) => boolean;
  readonly paths: Pick<PathSync, 'lookAt' | 'knownPaths'>;
  /** A known file is gone and no event said so: retire its stream as an unlink would. */
  readonly gone: (relativePath: string) => Promise<void>;
  readonly logger: Logger;
}

/** When a new folder is looked into again after chokidar reported it (see lookInto). */
const NEW_FOLDER_LOOKS_MS = [500, 3000];

/** What a rescan found that no OS event had reported. */
export interface RescanResult {
  readonly added: number;
  readonly changed: number;
  readonly removed: number;
  /** Files whose change time alone moved (chmod, a link, a rewrite with size and mtime put back). */
  readonly inodeChanged: number;
}

/** The version of the file at a path ({@link fileVersion}); undefined when it is not a regular file (any more). */
async function signatureOf(dir: string, rel: string): Promise<string | undefined> {
  try {
    const s = await lstat(absoluteIn(dir, rel), { bigint: true });
    return s.isFile() ? fileVersion(s) : undefined;
  } catch (err) {
    const code = fsErrorCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

/**
 * The matching regular files under WATCH_DIR, found by reading folders (symbolic links are not
 * followed; hidden folders and names that are not UTF-8, which raw-names.ts watches, are skipped).
 */
async function listFiles(dir: string, matches: (rel: string) => boolean, from = ''): Promise<string[]> {
  const files: string[] = [];
  const folders = [from];
  for (let folder = folders.pop(); folder !== undefined; folder = folders.pop()) {
    const entries = await readEntries(dir, folder).catch(() => []);
    for (const entry of entries) {
      if (entry.name.startsWith('.') || isRawName(entry.path)) continue;
      if (entry.kind === 'directory') folders.push(entry.path);
      else if (entry.kind === 'file' && matches(entry.path)) files.push(entry.path);
    }
  }
  return files;
}

/**
 * A folder that has just appeared, looked into again a moment later: chokidar reads a new folder
 * before it watches it, and a file that arrives in between (mkdir -p, a temporary file, a rename
 * into place) gets no event (chokidar#1471). Files found are synced as an event would sync them.
 */
function createNewFolderLooks(deps: RescanDeps, log: Logger) {
  const looks = new Set<NodeJS.Timeout>();
  async function lookInto(folder: string): Promise<void> {
    let added = 0;
    for (const rel of await listFiles(deps.dir, deps.matches, folder)) {
      const signature = await signatureOf(deps.dir, rel);
      if (signature !== undefined && deps.paths.lookAt(rel, signature) === 'new') added += 1;
    }
    if (added > 0) logEvent(log, 'watch.new-folder-caught', { folder, added });
  }
  return {
    add(folder: string): void {
      for (const delay of NEW_FOLDER_LOOKS_MS) {
        const look = setTimeout(() => {
          looks.delete(look);
          void lookInto(folder).catch((err: unknown) => logEvent(log, 'watch.rescan-failed', { err }));
        }, delay);
        look.unref();
        looks.add(look);
      }
    },
    close(): void {
      for (const look of looks) clearTimeout(look);
    },
  };
}

/**
 * The safety net under OS file events. The kernel drops events when a burst overflows its queue
 * (inotify's max_queued_events, 16,384 by default), and Node and chokidar drop that overflow
 * silently: a copy of thousands of files while the watcher is busy can leave files nobody sees.
 * Every WATCH_RESCAN_MS the watcher lists WATCH_DIR and syncs what the events missed: a file it
 * does not know, a known file whose size, mtime or inode differ from its last sync, a known file
 * that is gone. It costs one readdir per folder and one lstat per file.
 */
export function createRescan(deps: RescanDeps) {
  const log = deps.logger.child({ module: 'watch' });
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  async function rescan(): Promise<RescanResult> {
    const listed = await listFiles(deps.dir, deps.matches);
    const present = new Set(listed);
    let added = 0;
    let changed = 0;
    let removed = 0;
    let inodeChanged = 0;
    for (const rel of listed) {
      const signature = await signatureOf(deps.dir, rel);
      if (signature === undefined) continue;
      const seen = deps.paths.lookAt(rel, signature);
      if (seen === 'new') added += 1;
      else if (seen === 'changed') changed += 1;
      else if (seen === 'inode') inodeChanged += 1;
    }
    for (const rel of deps.paths.knownPaths()) {
      if (present.has(rel) || isRawName(rel) || (await signatureOf(deps.dir, rel)) !== undefined) continue;
      await deps.gone(rel);
      removed += 1;
    }
    if (added + changed + removed > 0) logEvent(log, 'watch.missed', { added, changed, removed });
    if (inodeChanged > 0) logEvent(log, 'watch.inode-changed', { files: inodeChanged });
    return { added, changed, removed, inodeChanged };
  }

  function tick(): void {
    running ??= rescan()
      .then(() => undefined)
      .catch((err: unknown) => logEvent(log, 'watch.rescan-failed', { err }))
      .finally(() => (running = undefined));
  }

  const folders = createNewFolderLooks(deps, log);
  return {
    rescan,
    newFolder: (folder: string): void => folders.add(folder),
    start(): void {
      if (deps.everyMs <= 0) return;
      timer = setInterval(tick, deps.everyMs);
      timer.unref();
    },
    async close(): Promise<void> {
      clearInterval(timer);
      folders.close();
      await running;
    },
  };
}

export type Rescan = ReturnType<typeof createRescan>;
