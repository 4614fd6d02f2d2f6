import { constants } from 'node:fs';
import { access, realpath } from 'node:fs/promises';
import { type FSWatcher, watch } from 'chokidar';
import { type SkipReason, absoluteIn, fsErrorCode, isFileFacts, readFacts, relativeTo } from '@vcu/files';
import { createLimiter } from '@vcu/runtime';
import type { Streams } from '@vcu/streams';
import type { Logger } from '@vcu/logger';
import type { StreamStore } from '@vcu/state';
import { createMatcher, isHiddenOrTemporary } from './filter.js';
import { filesOpenForWriting } from './writers.js';

export interface WatcherDeps {
  readonly dir: string;
  readonly patterns: readonly string[];
  readonly pollMs: number;
  readonly streamIdleMs: number;
  /** Seal files as soon as no process holds them open for writing (see writers.ts). */
  readonly sealWhenClosed: boolean;
  readonly streams: Streams;
  readonly store: StreamStore;
  /** The epoch marker this process last saw (state-guard.ts); streams created under another are recovered. */
  readonly epoch: () => string | undefined;
  readonly logger: Logger;
}

const UNREADABLE: SkipReason = 'unreadable (permission denied)';
/** How often a file skipped as unreadable is looked at again: nothing tells us when its mode changes. */
const UNREADABLE_RECHECK_MS = 5000;
/** Files synced at once; enough to keep Redis busy, few enough that a burst of events stays small. */
const SYNC_PARALLEL = 16;

interface PathState {
  /** The sync in progress; the next one waits for it, so one path is never synced twice at once. */
  running: Promise<void>;
  /** A sync is already queued behind the running one: further events fold into it. */
  queued: boolean;
  /** An event folded into the queued sync came from a rescan: the sync runs as one. */
  rescanQueued: boolean;
  idleTimer: NodeJS.Timeout | undefined;
  /** When the last file event arrived (ms). */
  lastEvent: number;
  /** The last skip reason logged, so a skipped file is reported once, not on every event. */
  skipped: string | undefined;
}

/**
 * chokidar wiring. Every add/change event syncs the file (identify its version, enqueue the full
 * chunks that now exist); once a file has had no event for STREAM_IDLE_MS it is synced as idle,
 * which enqueues its last, partial chunk. The initial scan of a (re)started watcher goes through
 * the same path, which is how it resumes from Redis without uploading finished chunks again.
 */
export function createWatcher(deps: WatcherDeps) {
  const { dir, streams, store } = deps;
  const log = deps.logger.child({ module: 'watch' });
  const matches = createMatcher(deps.patterns);
  const paths = new Map<string, PathState>();
  const limit = createLimiter(SYNC_PARALLEL);
  let scanning = true;
  let closed = false;
  let watcher: FSWatcher | undefined;

  async function sync(rel: string, idle: boolean, recovering: boolean, state: PathState, seal = false): Promise<void> {
    // taken before anything is read: if Redis loses its data from here on, the stream is recovered
    const epoch = deps.epoch();
    const skip = (reason: string): void => {
      if (state.skipped === reason) return;
      state.skipped = reason;
      log.info(`skipping ${rel}: ${reason}`, { path: rel, reason });
    };
    try {
      const facts = await readFacts(dir, rel);
      if (!isFileFacts(facts)) {
        skip(facts.skip);
        if (facts.skip === UNREADABLE) recheckLater(rel, state);
        return;
      }
      // chokidar could not watch the file while it was unreadable: have it watch the file afresh
      // (once: watching it again sends an add event, which syncs it again)
      if (state.skipped === UNREADABLE) {
        state.skipped = undefined;
        rewatch(rel);
      }
      const seen = await streams.observe(facts, { idle, recovering, epoch });
      if (seal && seen !== undefined) await store.markIdle(seen.stream.id, deps.streamIdleMs);
      if (!idle && facts.size > 0 && sealing) sealCandidates.add(rel);
      // an empty file is usually a recording that has just been opened: say so only once it stays empty
      if (facts.size === 0) {
        if (idle) skip('empty file');
      } else {
        state.skipped = undefined;
      }
    } catch (err) {
      const code = fsErrorCode(err);
      if (code === 'ENOENT') return; // gone before we looked: the unlink event handles it
      log.warn(`cannot read ${rel}; it is retried on its next change`, { path: rel, err });
    }
  }

  function recheckLater(rel: string, state: PathState): void {
    clearTimeout(state.idleTimer);
    state.idleTimer = setTimeout(() => {
      if (paths.get(rel) === state) schedule(rel, false);
    }, UNREADABLE_RECHECK_MS);
    state.idleTimer.unref();
  }

  function rewatch(rel: string): void {
    const absolute = absoluteIn(dir, rel);
    watcher?.unwatch(absolute);
    watcher?.add(absolute);
  }

  function schedule(rel: string, idle: boolean, rescan = scanning, seal = false): void {
    let state = paths.get(rel);
    if (state === undefined) {
      state = { running: Promise.resolve(), queued: false, rescanQueued: false, idleTimer: undefined, skipped: undefined, lastEvent: 0 };
      paths.set(rel, state);
    }
    const s = state;
    if (!idle) {
      s.lastEvent = Date.now();
      clearTimeout(s.idleTimer);
      s.idleTimer = setTimeout(() => schedule(rel, true), deps.streamIdleMs);
      s.idleTimer.unref();
      if (s.queued) {
        // a file written during the start-up scan sends many events: one sync serves them all
        s.rescanQueued ||= rescan;
        return;
      }
    }
    s.queued = true;
    s.rescanQueued = rescan;
    s.running = s.running.then(async () => {
      const asRescan = rescan || s.rescanQueued;
      s.queued = false;
      s.rescanQueued = false;
      if (!closed) await limit(() => sync(rel, idle, asRescan, s, seal));
    });
  }

  /**
   * Seal on close: files that had events are checked a moment later; one that no process holds
   * open for writing is finished now, so its tail is enqueued and finalize may take it without
   * waiting STREAM_IDLE_MS. One /proc scan serves every file waiting to be checked.
   */
  let sealing = deps.sealWhenClosed;
  const sealCandidates = new Set<string>();
  // a writer that opens, appends and closes again (not a recorder) must not look finished between writes
  const SEAL_QUIET_MS = 1000;
  const sealTimer = setInterval(() => {
    if (!sealing || sealCandidates.size === 0 || sealCheck !== undefined) return;
    sealCheck = checkSeals().finally(() => {
      sealCheck = undefined;
    });
  }, 250);
  sealTimer.unref();
  let sealCheck: Promise<void> | undefined;

  /**
   * /proc names files by their real path; WATCH_DIR may reach them through a symbolic link, and
   * then no file would ever look open and every file would be finished after a second's pause.
   */
  let realDir: string | undefined;

  async function checkSeals(): Promise<void> {
    const now = Date.now();
    // walking /proc is not free: only when some file has been quiet long enough to be finished
    const quiet = (rel: string): boolean => now - (paths.get(rel)?.lastEvent ?? 0) >= SEAL_QUIET_MS;
    if (![...sealCandidates].some(quiet)) return;
    realDir ??= await realpath(dir);
    const open = await filesOpenForWriting(realDir);
    if (open === undefined) {
      sealing = false;
      sealCandidates.clear();
      log.info('cannot see which processes write to files here; files are finished after STREAM_IDLE_MS instead');
      return;
    }
    for (const rel of sealCandidates) {
      const state = paths.get(rel);
      if (state === undefined) {
        sealCandidates.delete(rel);
        continue;
      }
      if (!quiet(rel)) continue;
      // a file quiet but still open (a recorder pausing) waits for its next write to be looked at
      // again, or for STREAM_IDLE_MS, rather than being looked at four times a second
      sealCandidates.delete(rel);
      if (open.has(absoluteIn(realDir, rel))) continue;
      clearTimeout(state.idleTimer);
      schedule(rel, true, false, true);
    }
  }

  /**
   * Redis lost vcu's state (restarted without its data, or flushed): sync every known file again
   * as a rescan, which rebuilds each stream under the same id and lets workers skip the chunks
   * already in S3 with the same bytes.
   */
  async function rescanAll(): Promise<void> {
    log.warn("Redis has lost vcu's state (restarted empty?): rescanning every file to rebuild it from WATCH_DIR and S3", {
      files: paths.size,
    });
    for (const rel of paths.keys()) schedule(rel, false, true);
    await Promise.all([...paths.values()].map((s) => s.running));
    log.info('rescan finished; uploads continue', { files: paths.size });
  }

  async function forget(rel: string): Promise<void> {
    const state = paths.get(rel);
    if (state !== undefined) {
      clearTimeout(state.idleTimer);
      await state.running;
      paths.delete(rel);
    }
    try {
      await streams.removed(rel);
    } catch (err) {
      log.warn('could not record a deleted file', { path: rel, err });
    }
  }

  function onFile(event: 'add' | 'change' | 'unlink', absolute: string): void {
    const rel = relativeTo(dir, absolute);
    if (rel === undefined || !matches(rel)) return;
    if (event === 'unlink') {
      forget(rel).catch((err: unknown) => log.warn('unlink handling failed', { path: rel, err }));
    } else {
      schedule(rel, false);
    }
  }

  return {
    /** Starts watching; resolves when the initial scan has been handed to the sync queue. */
    async start(): Promise<void> {
      watcher = watch(dir, {
        persistent: true,
        ignoreInitial: false,
        followSymlinks: false,
        // without this chokidar silently drops files whose mode lacks read permission: we want to
        // see them, to say why they are skipped (and directories we cannot read, see addDir)
        ignorePermissionErrors: true,
        usePolling: deps.pollMs > 0,
        interval: deps.pollMs > 0 ? deps.pollMs : undefined,
        ignored: (absolute: string) => {
          const rel = relativeTo(dir, absolute);
          return rel !== undefined && isHiddenOrTemporary(rel);
        },
      });
      watcher.on('add', (p: string) => onFile('add', p));
      watcher.on('change', (p: string) => onFile('change', p));
      watcher.on('unlink', (p: string) => onFile('unlink', p));
      watcher.on('addDir', (p: string) => {
        const rel = relativeTo(dir, p);
        if (rel === undefined) return;
        if (matches(rel)) log.info(`skipping ${rel}: a directory, not a file`, { path: rel });
        void access(p, constants.R_OK | constants.X_OK).catch((err: unknown) => {
          const code = fsErrorCode(err);
          if (code === 'EACCES' || code === 'EPERM') log.warn(`cannot read directory ${rel}: the files in it are not seen`, { path: rel, err });
        });
      });
      watcher.on('error', (err: unknown) => log.warn('file watching error', { err }));
      await new Promise<void>((resolve) => watcher?.once('ready', () => resolve()));
      await Promise.all([...paths.values()].map((s) => s.running));
      scanning = false;
      log.info('watching', { dir, patterns: deps.patterns, files: paths.size });
    },

    rescanAll,

    async close(): Promise<void> {
      closed = true;
      clearInterval(sealTimer);
      await watcher?.close();
      for (const state of paths.values()) clearTimeout(state.idleTimer);
      await Promise.all([...paths.values()].map((s) => s.running));
    },
  };
}
