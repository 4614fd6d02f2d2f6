import { realpath } from 'node:fs/promises';
import { absoluteIn, pathText } from '@vcu/files';
import { type Logger, logEvent } from '@vcu/logger';
import { filesOpenForWriting } from '@vcu/files';

/**
 * A writer that opens, appends and closes again (not a recorder) must not look finished between
 * writes: a file is sealed only once it has been quiet this long (see {@link SealingDeps.lastWrite}).
 */
const SEAL_QUIET_MS = 1000;
/** How often candidates are looked at; /proc is walked only when one has been quiet long enough. */
const CHECK_EVERY_MS = 250;

export interface SealingDeps {
  readonly dir: string;
  /**
   * When the file at a path was last written, as far as is known (ms): its last file event, or
   * its modification time where a look taken after that event read one clearly older (a file
   * moved, linked or copied in with its times kept was written before its event; paths.ts).
   */
  readonly lastWrite: (relativePath: string) => number;
  /** When a path last had a file event (ms): one that came after /proc was read may then have been open under another name. */
  readonly lastEvent: (relativePath: string) => number;
  /** Whether the watcher still knows the path (a removed file is no candidate). */
  readonly known: (relativePath: string) => boolean;
  /** Finish the file now: its tail is planned and finalize may take it. */
  readonly seal: (relativePath: string) => void;
  readonly logger: Logger;
}

/**
 * Seal on close: files that had events are checked a moment later; one that no process holds open
 * for writing is finished at once, so its tail is planned and finalize may take it without waiting
 * STREAM_IDLE_MS. One /proc walk serves every file waiting to be checked. If the writers cannot
 * all be seen, sealing turns itself off and files are finished after STREAM_IDLE_MS.
 */
export function createSealing(deps: SealingDeps) {
  const log = deps.logger.child({ module: 'seal' });
  const candidates = new Set<string>();
  let enabled = true;
  let checking: Promise<void> | undefined;
  // /proc names files by their real path; WATCH_DIR may reach them through a symbolic link, and
  // then no file would ever look open and every file would be finished after a second's pause
  let realDir: string | undefined;

  const quiet = (rel: string, now: number): boolean => now - deps.lastWrite(rel) >= SEAL_QUIET_MS;

  async function check(): Promise<void> {
    const now = Date.now();
    if (![...candidates].some((rel) => quiet(rel, now))) return;
    realDir ??= await realpath(deps.dir);
    const open = await filesOpenForWriting(realDir);
    if (open === undefined) {
      enabled = false;
      candidates.clear();
      logEvent(log, 'sealing.off');
      return;
    }
    for (const rel of candidates) {
      if (!deps.known(rel)) candidates.delete(rel);
      else if (quiet(rel, now) && deps.lastEvent(rel) < now) {
        // a file quiet but still open (a recorder pausing) waits for its next write to be looked
        // at again, or for STREAM_IDLE_MS, rather than being looked at four times a second
        candidates.delete(rel);
        if (!open.has(pathText(absoluteIn(realDir, rel)))) deps.seal(rel);
      }
    }
  }

  const timer = setInterval(() => {
    if (!enabled || candidates.size === 0 || checking !== undefined) return;
    checking = check()
      .catch((err: unknown) => {
        log.debug('seal check failed; the next one retries', { err });
      })
      .finally(() => {
        checking = undefined;
      });
  }, CHECK_EVERY_MS);
  timer.unref();

  return {
    /** A file had bytes written: look at it once it has been quiet a moment. */
    candidate(rel: string): void {
      if (enabled) candidates.add(rel);
    },
    /** Whether the next check will look at `rel` and find it quiet (it seals it unless a process holds it open for writing). */
    takesSoon(rel: string): boolean {
      return enabled && candidates.has(rel) && quiet(rel, Date.now());
    },
    close(): void {
      clearInterval(timer);
    },
  };
}

export type Sealing = ReturnType<typeof createSealing>;
