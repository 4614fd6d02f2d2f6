import { type FileFacts, mtimeMsOf } from '@vcu/domain';
import { currentFacts, fileVersion, fsErrorCode, isFileFacts, onlyChangeTimeMoved, readFacts } from '@vcu/files';
import { type Logger, logEvent } from '@vcu/logger';
import { createLimiter } from '@vcu/runtime';
import type { StreamStore } from '@vcu/state';
import type { Streams } from '@vcu/streams';

/** How one sync of a path runs. */
export interface SyncOptions {
  /** The file had no event for STREAM_IDLE_MS (or it was sealed): its last, partial chunk may go. */
  readonly idle: boolean;
  /** A start-up scan or a rescan after Redis lost its data: a new stream may already have chunks in S3. */
  readonly recovering: boolean;
  /** No process holds the file open for writing: finalize may take it without waiting STREAM_IDLE_MS. */
  readonly seal: boolean;
}

const EVENT: SyncOptions = { idle: false, recovering: false, seal: false };

/** Files synced at once; enough to keep Redis busy, few enough that a burst of events stays small. */
const SYNC_PARALLEL = 16;
/** How often a file skipped as unreadable is looked at again: nothing tells us when its mode changes. */
const UNREADABLE_RECHECK_MS = 5000;
/** A sync that failed (Redis away or full, an I/O error) is tried again after this, doubling up to the cap. */
const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 30_000;

const UNREADABLE = 'unreadable (permission denied)';
/**
 * A modification time is taken for the last write only when it is at least this much older than
 * the file's event: timestamps are coarse on some filesystems (FAT: 2 s) and set by another
 * host's clock on network shares, and a write just before the event must not look old.
 */
const MTIME_TRUSTED_BEFORE_EVENT_MS = 3000;

/** An error of a file system call (it names the call and the path), not of Redis or of vcu. */
function isFileError(err: unknown): boolean {
  const e = err as { syscall?: unknown; path?: unknown } | null;
  return typeof e?.syscall === 'string' && e.path !== undefined;
}

/** What the watcher knows of one path between syncs. */
interface PathState {
  /** The sync in progress; the next one waits for it, so one path is never synced twice at once. */
  running: Promise<void>;
  /** The options of the sync queued behind the running one; further requests fold into it. */
  queued: SyncOptions | undefined;
  /** Fires STREAM_IDLE_MS after the last event: the idle sync. */
  idleTimer: NodeJS.Timeout | undefined;
  /** Fires when a skipped (unreadable) or failed sync is tried again. */
  retryTimer: NodeJS.Timeout | undefined;
  /** When the last file event arrived (ms). */
  lastEvent: number;
  /** File events so far: a sync that saw the same count before and after it read the file read it after the last event. */
  events: number;
  /** The file's modification time (ms) as read by a sync that started after the last event; undefined when none did. */
  modified: number | undefined;
  /** The last skip reason logged, so a skipped file is reported once, not on every event. */
  skipped: string | undefined;
  /** Syncs that failed in a row: the retry delay doubles with each. */
  failures: number;
  /** Size, mtime and inode at the last sync that read the file (the rescan compares them). */
  seen: string | undefined;
}

export interface PathSyncDeps {
  readonly dir: string;
  readonly streamIdleMs: number;
  readonly streams: Pick<Streams, 'observe' | 'removed'>;
  readonly store: Pick<StreamStore, 'markIdle'>;
  /** The epoch marker this process last saw (state-guard.ts): streams created under another are recovered. */
  readonly epoch: () => string | undefined;
  readonly logger: Logger;
  /** Says "Redis is out of memory" when the error is its OOM reply (the sync is retried all the same). */
  readonly outOfMemory?: (err: unknown) => boolean;
  /** A skipped file became readable: chokidar, which could not watch it, should watch it afresh. */
  readonly onReadable?: (relativePath: string) => void;
  /**
   * Whether a look at this file, on an event, is left to the seal check that is about to look at
   * it (sealing.ts): a file that holds no whole chunk and has not been written for a while is
   * usually finished, and sealing it is the one observation it needs.
   */
  readonly leaveToSeal?: (relativePath: string, facts: FileFacts) => boolean;
}

/**
 * Every path the watcher has seen, and the one sync at a time each gets. A sync identifies the
 * file's version and enqueues the chunks that now exist (@vcu/streams); STREAM_IDLE_MS after a
 * path's last event it is synced as idle, which plans its last, partial chunk. A sync that fails
 * is tried again by itself (Redis away, or full), so no file waits for its next change.
 */
export class PathSync {
  private readonly paths = new Map<string, PathState>();
  private readonly limit = createLimiter(SYNC_PARALLEL);
  private readonly log: Logger;
  private closed = false;

  constructor(private readonly deps: PathSyncDeps) {
    this.log = deps.logger.child({ module: 'watch' });
  }

  get size(): number {
    return this.paths.size;
  }

  /** When `rel` last had a file event (ms), 0 when never. */
  lastEvent(rel: string): number {
    return this.paths.get(rel)?.lastEvent ?? 0;
  }

  /**
   * When the file at `rel` was last written as far as is known (ms): its last event, or its
   * modification time where a look after that event read one clearly older (a file moved, linked
   * or copied in with its times kept); 0 when never seen.
   */
  lastWrite(rel: string): number {
    const state = this.paths.get(rel);
    if (state === undefined) return 0;
    const { lastEvent, modified } = state;
    return modified !== undefined && lastEvent - modified >= MTIME_TRUSTED_BEFORE_EVENT_MS ? modified : lastEvent;
  }

  has(rel: string): boolean {
    return this.paths.has(rel);
  }

  knownPaths(): string[] {
    return [...this.paths.keys()];
  }

  /**
   * The rescan found `rel` with this version ({@link fileVersion}, rescan.ts): an unknown path, or a
   * known one that differs from its last sync with no event for STREAM_IDLE_MS, is synced.
   * 'inode' when only its change time moved, which OS events often do not report (chokidar
   * passes an attribute change on only when the file was not read since its last write).
   */
  lookAt(rel: string, signature: string): 'new' | 'changed' | 'inode' | 'same' {
    const state = this.paths.get(rel);
    if (state === undefined) {
      this.schedule(rel);
      return 'new';
    }
    if (state.seen === undefined || state.seen === signature || Date.now() - state.lastEvent < this.deps.streamIdleMs) return 'same';
    this.schedule(rel);
    return onlyChangeTimeMoved(state.seen, signature) ? 'inode' : 'changed';
  }

  /** Syncs `rel` after the sync in progress, folding into the one already queued. An event (not idle) re-arms the idle timer. */
  schedule(rel: string, options: SyncOptions = EVENT): void {
    const state = this.stateOf(rel);
    if (!options.idle) {
      state.lastEvent = Date.now();
      state.events += 1;
      state.modified = undefined;
      clearTimeout(state.idleTimer);
      state.idleTimer = setTimeout(() => this.schedule(rel, { ...EVENT, idle: true }), this.deps.streamIdleMs);
      state.idleTimer.unref();
    }
    if (state.queued !== undefined) {
      // the latest request says whether the file is idle; a recovering one stays so
      state.queued = { ...options, recovering: state.queued.recovering || options.recovering };
      return;
    }
    state.queued = options;
    state.running = state.running.then(async () => {
      const run = state.queued ?? options;
      state.queued = undefined;
      if (!this.closed) await this.limit(() => this.sync(rel, state, run));
    });
  }

  /** The file at `rel` was removed: its timers stop and its stream is retired. */
  async removed(rel: string): Promise<void> {
    const state = this.paths.get(rel);
    if (state !== undefined) {
      clearTimeout(state.idleTimer);
      clearTimeout(state.retryTimer);
      await state.running;
      this.paths.delete(rel);
    }
    try {
      await this.deps.streams.removed(rel);
    } catch (err) {
      logEvent(this.log, 'file.sync-failed', { path: rel, err });
    }
  }

  /** Every known path synced again as recovering (Redis lost its data); resolves when all are done. */
  async syncAll(options: SyncOptions): Promise<void> {
    for (const rel of this.paths.keys()) this.schedule(rel, options);
    await this.drain();
  }

  /** Resolves when every sync queued so far has run. */
  async drain(): Promise<void> {
    await Promise.all([...this.paths.values()].map((s) => s.running));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const state of this.paths.values()) {
      clearTimeout(state.idleTimer);
      clearTimeout(state.retryTimer);
    }
    await this.drain();
  }

  private stateOf(rel: string): PathState {
    let state = this.paths.get(rel);
    if (state === undefined) {
      state = { running: Promise.resolve(), queued: undefined, idleTimer: undefined, retryTimer: undefined, lastEvent: 0, events: 0, modified: undefined, skipped: undefined, failures: 0, seen: undefined };
      this.paths.set(rel, state);
    }
    return state;
  }

  private skip(rel: string, state: PathState, reason: string): void {
    if (state.skipped === reason) return;
    state.skipped = reason;
    logEvent(this.log, 'file.skipped', { path: rel, reason });
  }

  private retryLater(rel: string, state: PathState, options: SyncOptions, delayMs: number): void {
    clearTimeout(state.retryTimer);
    state.retryTimer = setTimeout(() => {
      if (this.paths.get(rel) === state) this.schedule(rel, options);
    }, delayMs);
    state.retryTimer.unref();
  }

  private async sync(rel: string, state: PathState, options: SyncOptions): Promise<void> {
    const { dir, streams, store } = this.deps;
    // taken before anything is read: if Redis loses its data from here on, the stream is recovered
    const epoch = this.deps.epoch();
    const events = state.events;
    try {
      const facts = await readFacts(dir, rel);
      if (!isFileFacts(facts)) {
        this.skip(rel, state, facts.skip);
        if (facts.skip === UNREADABLE) this.retryLater(rel, state, EVENT, UNREADABLE_RECHECK_MS);
        return;
      }
      if (state.skipped === UNREADABLE) this.deps.onReadable?.(rel);
      state.seen = fileVersion(facts);
      if (state.events === events) state.modified = mtimeMsOf(facts);
      if (!options.idle && !options.recovering && this.deps.leaveToSeal?.(rel, facts) === true) {
        state.failures = 0;
        return;
      }
      const seen = await streams.observe(facts, { idle: options.idle, recovering: options.recovering, epoch, reread: () => currentFacts(dir, rel) });
      if (options.seal && seen !== undefined) await store.markIdle(seen.stream.id, this.deps.streamIdleMs);
      // sealed, and not written since: the idle sync would look at the same file again
      if (options.seal && state.events === events) clearTimeout(state.idleTimer);
      // an empty file is usually a recording that has just been opened: said only once it stays empty
      if (facts.size === 0) {
        if (options.idle) this.skip(rel, state, 'empty file');
      } else {
        state.skipped = undefined;
      }
      state.failures = 0;
    } catch (err) {
      this.failed(rel, state, options, err);
    }
  }

  private failed(rel: string, state: PathState, options: SyncOptions, err: unknown): void {
    const code = fsErrorCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return; // gone before we looked: the unlink event handles it
    const delay = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** state.failures);
    state.failures += 1;
    if (this.deps.outOfMemory?.(err) !== true) logEvent(this.log, isFileError(err) ? 'file.unreadable' : 'file.sync-failed', { path: rel, retryInMs: delay, err });
    this.retryLater(rel, state, options, delay);
  }
}

export function createPathSync(deps: PathSyncDeps): PathSync {
  return new PathSync(deps);
}
