import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { absoluteIn, fileVersion, fsErrorCode, isRawName, readEntries } from '@vcu/files';
import { type Logger, logEvent } from '@vcu/logger';
import type { PathSync } from './paths.js';

export interface RescanDeps {
  readonly dir: string;
  /** WATCH_RESCAN_MS; 0 turns the rescan off. */
  readonly everyMs: number;
  /** WATCH_PATTERNS (hidden and temporary files never match). */
  readonly matches: (relativePath: string) => boolean;
  readonly paths: Pick<PathSync, 'lookAt' | 'knownPaths' | 'has'>;
  /** A known file is gone and no event said so: retire its stream as an unlink would. */
  readonly gone: (relativePath: string) => Promise<void>;
  /** A file no event reported was found new or changed, and is synced: it had bytes written, as an event would say. */
  readonly found?: (relativePath: string) => void;
  readonly logger: Logger;
}

/** When a new folder is looked into again after chokidar reported it (see lookInto). */
const NEW_FOLDER_LOOKS_MS = [500, 3000];
/**
 * How long after a file arrived its folder's names are read for files that arrived with it
 * unreported (see createArrivalLooks): longer than chokidar's own second between rereads.
 */
const ARRIVAL_LOOK_MS = 1500;

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

/** Hands a found file to the path sync as an event would; what the path sync made of it. */
function look(deps: RescanDeps, rel: string, signature: string): ReturnType<PathSync['lookAt']> {
  const seen = deps.paths.lookAt(rel, signature);
  if (seen === 'new' || seen === 'changed') deps.found?.(rel);
  return seen;
}

/**
 * Files that arrive in a burst (thousands copied or linked in at once) and got no event: chokidar
 * learns of a folder's new files by reading the whole folder again on its events, at most once a
 * second, and when such a read is slow (a big folder on a busy machine) the files that arrive
 * during it can go unreported (chokidar#685, #1333), as can those the kernel drops when its event
 * queue overflows. So a moment after a folder's files arrive, and again while more arrive or the
 * last look found some, its names are read and any file the watcher does not know is synced: one
 * readdir per folder and ARRIVAL_LOOK_MS of arrivals, an lstat only for names not known. (When
 * every event of a folder is lost, nothing starts a look: the periodic rescan finds its files.)
 */
function createArrivalLooks(deps: RescanDeps, log: Logger) {
  /** Folders with a look scheduled; `arrived`: files arrived since it was scheduled. */
  const pending = new Map<string, { timer: NodeJS.Timeout; arrived: boolean }>();
  /** Looks running now (close waits for them). */
  const running = new Set<Promise<void>>();
  let closed = false;

  /** A name the watcher should know and does not (it may have learnt it since the folder was read). */
  const unknown = (entry: { kind: string; name: string; path: string }): boolean =>
    entry.kind === 'file' && !entry.name.startsWith('.') && !deps.paths.has(entry.path) && !isRawName(entry.path) && deps.matches(entry.path);

  async function lookAtNames(folder: string): Promise<number> {
    let added = 0;
    for (const entry of await readEntries(deps.dir, folder).catch(() => [])) {
      if (closed || !unknown(entry)) continue;
      // an lstat that fails here is the periodic rescan's to report
      const signature = await signatureOf(deps.dir, entry.path).catch(() => undefined);
      if (signature !== undefined && unknown(entry) && look(deps, entry.path, signature) === 'new') added += 1;
    }
    if (added > 0) logEvent(log, 'watch.arrivals-caught', { folder, added });
    return added;
  }

  function schedule(folder: string): void {
    const timer = setTimeout(() => {
      const state = pending.get(folder);
      if (state !== undefined) state.arrived = false;
      const pass = lookAtNames(folder).then(
        (added) => {
          if (!closed && (added > 0 || pending.get(folder)?.arrived === true)) schedule(folder);
          else pending.delete(folder);
        },
        (err: unknown) => {
          pending.delete(folder);
          logEvent(log, 'watch.rescan-failed', { err });
        },
      );
      running.add(pass);
      void pass.finally(() => running.delete(pass));
    }, ARRIVAL_LOOK_MS);
    timer.unref();
    pending.set(folder, { timer, arrived: false });
  }

  return {
    arrived(rel: string): void {
      if (closed) return;
      const folder = path.posix.dirname(rel) === '.' ? '' : path.posix.dirname(rel);
      const state = pending.get(folder);
      if (state === undefined) schedule(folder);
      else state.arrived = true;
    },
    async close(): Promise<void> {
      closed = true;
      for (const { timer } of pending.values()) clearTimeout(timer);
      await Promise.all(running);
    },
  };
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
      if (signature !== undefined && look(deps, rel, signature) === 'new') added += 1;
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
      const seen = look(deps, rel, signature);
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
  const arrivals = createArrivalLooks(deps, log);
  return {
    rescan,
    newFolder: (folder: string): void => folders.add(folder),
    /** A file arrived (an add event): its folder is looked at a moment later for files that arrived with it unreported. */
    arrived: (rel: string): void => arrivals.arrived(rel),
    start(): void {
      if (deps.everyMs <= 0) return;
      timer = setInterval(tick, deps.everyMs);
      timer.unref();
    },
    async close(): Promise<void> {
      clearInterval(timer);
      folders.close();
      await arrivals.close();
      await running;
    },
  };
}

export type Rescan = ReturnType<typeof createRescan>;
