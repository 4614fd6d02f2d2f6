import { type Logger, logEvent } from '@vcu/logger';
import { exitProcess } from './exit.js';

export type ShutdownStep = readonly [name: string, close: () => Promise<void>];

export interface ShutdownOptions {
  readonly logger: Logger;
  /** After this long the process exits even if a step has not finished. */
  readonly timeoutMs: number;
  /** Run in order: stop taking work first, close connections last. */
  readonly steps: readonly ShutdownStep[];
}

/**
 * Graceful, then forceful shutdown. The first SIGTERM or SIGINT runs the steps in order (each
 * failure is logged, never blocks the next) and exits 0; a second signal, or the timeout, exits 1
 * at once. Exiting never hangs: a process whose exit is held by a thread stuck in the kernel is
 * killed two seconds later (exit.ts). Nothing is lost either way: unfinished jobs stay in Redis
 * and run again.
 */
export function onShutdown({ logger, timeoutMs, steps }: ShutdownOptions): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logEvent(logger, 'shutdown.second-signal', { signal });
      exitProcess(1);
    }
    stopping = true;
    logEvent(logger, 'shutdown.started', { signal, timeoutMs });
    const timer = setTimeout(() => {
      logEvent(logger, 'shutdown.timed-out', { timeoutMs });
      exitProcess(1);
    }, timeoutMs);
    timer.unref();
    void (async () => {
      for (const [name, close] of steps) {
        try {
          await close();
        } catch (err) {
          logEvent(logger, 'shutdown.step-failed', { step: name, err });
        }
      }
      logEvent(logger, 'shutdown.done');
      exitProcess(0);
    })();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
