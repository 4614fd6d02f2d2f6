import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { type FSWatcher, watch } from 'chokidar';
import { absoluteIn, fsErrorCode, relativeTo } from '@vcu/files';
import { type Logger, logEvent } from '@vcu/logger';
import type { StreamStore } from '@vcu/state';
import type { Streams } from '@vcu/streams';
import { createMatcher, isHiddenOrTemporary } from './filter.js';
import { type PathSync, createPathSync } from './paths.js';
import { type RawNames, createRawNames } from './raw-names.js';
import { type Rescan, createRescan } from './rescan.js';
import { type Sealing, createSealing } from './sealing.js';

export interface WatcherOptions {
  readonly dir: string;
  readonly patterns: readonly string[];
  /** Poll files at this interval instead of OS events; 0 = events. */
  readonly pollMs: number;
  /** WATCH_RESCAN_MS (rescan.ts); 0 = never. */
  readonly rescanMs: number;
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
  /** Says "Redis is out of memory" when the error is its OOM reply (connect()). */
  readonly outOfMemory?: (err: unknown) => boolean;
}

/**
 * chokidar wiring: every add or change event of a matching file syncs it (paths.ts), an unlink
 * retires its stream; names that are not UTF-8, which chokidar cannot see, are raw-names.ts's.
 * The initial scan of a (re)started watcher goes through the same path as a recovering sync,
 * which is how it resumes from Redis without uploading finished chunks again. (Finished streams
 * whose file left while no watcher ran are the worker's: finalize's housekeeping looks at a batch
 * of kept files per sweep, so a restart costs what is in WATCH_DIR, not what Redis keeps.)
 */
export class Watcher {
  private readonly log: Logger;
  private readonly matches: (relativePath: string) => boolean;
  private readonly paths: PathSync;
  private readonly sealing: Sealing | undefined;
  private readonly rawNames: RawNames;
  private readonly rescan: Rescan;
  private scanning = true;
  private chokidar: FSWatcher | undefined;

  constructor(
    private readonly options: WatcherOptions,
    deps: WatcherDeps,
  ) {
    const { dir } = options;
    this.log = deps.logger.child({ module: 'watch' });
    this.matches = createMatcher(options.patterns);
    this.paths = createPathSync({
      dir,
      streamIdleMs: options.streamIdleMs,
      streams: deps.streams,
      store: deps.store,
      epoch: deps.epoch,
      logger: deps.logger,
      outOfMemory: deps.outOfMemory,
      onReadable: (rel) => this.rewatch(rel),
      // a file moved, linked or copied in whole: one observation, when sealed, not one per event
      leaveToSeal: (rel, facts) => this.sealing?.takesSoon(rel) === true && deps.streams.recordsOnly(facts),
    });
    const paths = this.paths;
    this.sealing = options.sealWhenClosed
      ? createSealing({
          dir,
          lastWrite: (rel) => paths.lastWrite(rel),
          lastEvent: (rel) => paths.lastEvent(rel),
          known: (rel) => paths.has(rel),
          seal: (rel) => paths.schedule(rel, { idle: true, recovering: false, seal: true }),
          logger: deps.logger,
        })
      : undefined;
    this.rawNames = createRawNames({ dir, pollMs: options.pollMs, matches: this.matches, paths, changed: (rel) => this.sealing?.candidate(rel), logger: deps.logger });
    this.rescan = createRescan({ dir, everyMs: options.rescanMs, matches: this.matches, paths, gone: (rel) => paths.removed(rel), found: (rel) => this.sealing?.candidate(rel), logger: deps.logger });
  }

  /** Starts watching; resolves when the initial scan has been synced. */
  async start(): Promise<void> {
    const chokidar = this.watchDir();
    this.chokidar = chokidar;
    chokidar.on('add', (p: string) => this.onFile('add', p));
    chokidar.on('change', (p: string) => this.onFile('change', p));
    chokidar.on('unlink', (p: string) => this.onFile('unlink', p));
    chokidar.on('addDir', (p: string) => this.onDirectory(p));
    chokidar.on('raw', (_event, name: string | null, details) => this.rawNames.raw(name, details));
    chokidar.on('error', (err: unknown) => logEvent(this.log, 'watch.error', { err }));
    await new Promise<void>((resolve) => chokidar.once('ready', () => resolve()));
    await this.rawNames.start();
    await this.paths.drain();
    this.scanning = false;
    this.rescan.start();
    logEvent(this.log, 'watcher.ready', { dir: this.options.dir, patterns: this.options.patterns, files: this.paths.size });
  }

  /**
   * Redis lost vcu's state (restarted without its data, or flushed), or another server answers
   * that may lack the last writes (a failover): sync every known file again as recovering, which
   * rebuilds each stream under the same id, re-adds its missing jobs and lets workers skip the
   * chunks already in S3 with the same bytes. The state guard has said why already when the
   * server changed.
   */
  async rescanAll(why: 'lost' | 'server-changed' = 'lost'): Promise<void> {
    if (why === 'lost') logEvent(this.log, 'rescan.started', { files: this.paths.size });
    await this.paths.syncAll({ idle: false, recovering: true, seal: false });
    logEvent(this.log, 'rescan.finished', { files: this.paths.size });
  }

  async close(): Promise<void> {
    this.sealing?.close();
    await this.rescan.close();
    await this.rawNames.close();
    await this.chokidar?.close();
    await this.paths.close();
  }

  private onFile(event: 'add' | 'change' | 'unlink', absolute: string): void {
    const rel = relativeTo(this.options.dir, absolute);
    if (rel === undefined || !this.matches(rel)) return;
    if (event === 'unlink') {
      void this.paths.removed(rel);
      return;
    }
    this.paths.schedule(rel, { idle: false, recovering: this.scanning, seal: false });
    this.sealing?.candidate(rel);
    // the initial scan reads every folder whole; afterwards a burst of arrivals can lose events
    if (event === 'add' && !this.scanning) this.rescan.arrived(rel);
  }

  private onDirectory(absolute: string): void {
    const rel = relativeTo(this.options.dir, absolute);
    if (rel === undefined) return;
    if (this.matches(rel)) logEvent(this.log, 'file.skipped', { path: rel, reason: 'a directory, not a file' });
    if (!this.scanning) this.rescan.newFolder(rel);
    void access(absolute, constants.R_OK | constants.X_OK).catch((err: unknown) => {
      const code = fsErrorCode(err);
      if (code === 'EACCES' || code === 'EPERM') logEvent(this.log, 'directory.unreadable', { path: rel, err });
    });
  }

  /**
   * chokidar could not watch the file while it was unreadable: have it watch the file afresh
   * (a name that is not UTF-8 is raw-names.ts's, which polls it anyway).
   */
  private rewatch(rel: string): void {
    const absolute = absoluteIn(this.options.dir, rel);
    if (typeof absolute !== 'string') return;
    this.chokidar?.unwatch(absolute);
    this.chokidar?.add(absolute);
  }

  private watchDir(): FSWatcher {
    const { dir, pollMs } = this.options;
    return watch(dir, {
      persistent: true,
      ignoreInitial: false,
      followSymlinks: false,
      // without this chokidar silently drops files whose mode lacks read permission: we want to
      // see them, to say why they are skipped (and directories we cannot read, see onDirectory)
      ignorePermissionErrors: true,
      usePolling: pollMs > 0,
      interval: pollMs > 0 ? pollMs : undefined,
      ignored: (absolute: string) => {
        const rel = relativeTo(dir, absolute);
        return rel !== undefined && isHiddenOrTemporary(rel);
      },
    });
  }
}

export function createWatcher(options: WatcherOptions, deps: WatcherDeps): Watcher {
  return new Watcher(options, deps);
}
