import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { type FSWatcher, watch } from 'chokidar';
import { absoluteIn, fsErrorCode, relativeTo } from '@vcu/files';
import { type Logger, logEvent } from '@vcu/logger';
import type { StreamStore } from '@vcu/state';
import type { Streams } from '@vcu/streams';
import { createMatcher, isHiddenOrTemporary } from './filter.js';
import { createPathSync } from './paths.js';
import { createRawNames } from './raw-names.js';
import { createSealing } from './sealing.js';

export interface WatcherOptions {
  readonly dir: string;
  readonly patterns: readonly string[];
  /** Poll files at this interval instead of OS events; 0 = events. */
  readonly pollMs: number;
  readonly streamIdleMs: number;
  /** Seal files as soon as no process holds them open for writing (sealing.ts). */
  readonly sealWhenClosed: boolean;
}

export interface WatcherDeps {
  readonly streams: Streams;
  readonly store: StreamStore;
  /** The epoch marker this process last saw (state-guard.ts); streams created under another are recovered. */
  readonly epoch: () => string | undefined;
  readonly logger: Logger;
}

/**
 * chokidar wiring: every add or change event of a matching file syncs it (paths.ts), an unlink
 * retires its stream; names that are not UTF-8, which chokidar cannot see, are raw-names.ts's.
 * The initial scan of a (re)started watcher goes through the same path as a recovering sync,
 * which is how it resumes from Redis without uploading finished chunks again.
 */
export function createWatcher(options: WatcherOptions, deps: WatcherDeps) {
  const { dir } = options;
  const log = deps.logger.child({ module: 'watch' });
  const matches = createMatcher(options.patterns);
  let scanning = true;
  let watcher: FSWatcher | undefined;

  const paths = createPathSync({
    dir,
    streamIdleMs: options.streamIdleMs,
    streams: deps.streams,
    store: deps.store,
    epoch: deps.epoch,
    logger: deps.logger,
    // chokidar could not watch the file while it was unreadable: have it watch the file afresh
    // (a name that is not UTF-8 is raw-names.ts's, which polls it anyway)
    onReadable: (rel) => {
      const absolute = absoluteIn(dir, rel);
      if (typeof absolute !== 'string') return;
      watcher?.unwatch(absolute);
      watcher?.add(absolute);
    },
  });
  const sealing = options.sealWhenClosed
    ? createSealing({
        dir,
        lastEvent: (rel) => paths.lastEvent(rel),
        known: (rel) => paths.has(rel),
        seal: (rel) => paths.schedule(rel, { idle: true, recovering: false, seal: true }),
        logger: deps.logger,
      })
    : undefined;
  const rawNames = createRawNames({
    dir,
    pollMs: options.pollMs,
    matches,
    paths,
    changed: (rel) => sealing?.candidate(rel),
    logger: deps.logger,
  });

  function onFile(event: 'add' | 'change' | 'unlink', absolute: string): void {
    const rel = relativeTo(dir, absolute);
    if (rel === undefined || !matches(rel)) return;
    if (event === 'unlink') {
      void paths.removed(rel);
      return;
    }
    paths.schedule(rel, { idle: false, recovering: scanning, seal: false });
    sealing?.candidate(rel);
  }

  function onDirectory(absolute: string): void {
    const rel = relativeTo(dir, absolute);
    if (rel === undefined) return;
    if (matches(rel)) logEvent(log, 'file.skipped', { path: rel, reason: 'a directory, not a file' });
    void access(absolute, constants.R_OK | constants.X_OK).catch((err: unknown) => {
      const code = fsErrorCode(err);
      if (code === 'EACCES' || code === 'EPERM') logEvent(log, 'directory.unreadable', { path: rel, err });
    });
  }

  function watchDir(): FSWatcher {
    return watch(dir, {
      persistent: true,
      ignoreInitial: false,
      followSymlinks: false,
      // without this chokidar silently drops files whose mode lacks read permission: we want to
      // see them, to say why they are skipped (and directories we cannot read, see onDirectory)
      ignorePermissionErrors: true,
      usePolling: options.pollMs > 0,
      interval: options.pollMs > 0 ? options.pollMs : undefined,
      ignored: (absolute: string) => {
        const rel = relativeTo(dir, absolute);
        return rel !== undefined && isHiddenOrTemporary(rel);
      },
    });
  }

  return {
    /** Starts watching; resolves when the initial scan has been synced. */
    async start(): Promise<void> {
      watcher = watchDir();
      watcher.on('add', (p: string) => onFile('add', p));
      watcher.on('change', (p: string) => onFile('change', p));
      watcher.on('unlink', (p: string) => onFile('unlink', p));
      watcher.on('addDir', (p: string) => onDirectory(p));
      watcher.on('raw', (_event, name: string | null, details) => rawNames.raw(name, details));
      watcher.on('error', (err: unknown) => logEvent(log, 'watch.error', { err }));
      await new Promise<void>((resolve) => watcher?.once('ready', () => resolve()));
      await rawNames.start();
      await paths.drain();
      scanning = false;
      logEvent(log, 'watcher.ready', { dir, patterns: options.patterns, files: paths.size });
    },

    /**
     * Redis lost vcu's state (restarted without its data, or flushed): sync every known file
     * again as recovering, which rebuilds each stream under the same id and lets workers skip the
     * chunks already in S3 with the same bytes.
     */
    async rescanAll(): Promise<void> {
      logEvent(log, 'rescan.started', { files: paths.size });
      await paths.syncAll({ idle: false, recovering: true, seal: false });
      logEvent(log, 'rescan.finished', { files: paths.size });
    },

    async close(): Promise<void> {
      sealing?.close();
      await rawNames.close();
      await watcher?.close();
      await paths.close();
    },
  };
}
