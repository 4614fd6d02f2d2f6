import type { Redis } from 'ioredis';
import type { Logger } from '@vcu/logger';
import type { StreamStore } from '@vcu/state';

export interface StateGuardDeps {
  readonly redis: Redis;
  readonly store: StreamStore;
  readonly everyMs: number;
  readonly logger: Logger;
}

/**
 * Notices when Redis loses its data (restarted without persistence, flushed, failed over to an
 * empty replica): the epoch marker it remembered is gone or different. Checked after every
 * reconnect and every `everyMs`.
 */
export function guardState({ redis, store, everyMs, logger }: StateGuardDeps) {
  let known: string | undefined;
  let running: Promise<void> | undefined;
  let onLost: () => Promise<void> = () => Promise.resolve();
  let timer: NodeJS.Timeout | undefined;

  async function run(): Promise<void> {
    const current = await store.epoch();
    if (known === undefined || current === known) {
      known = current;
      return;
    }
    // the rescan runs while `known` still names the lost epoch, so every stream created meanwhile,
    // by the rescan or by any other sync, is marked recovered (see CREATE_STREAM)
    await onLost();
    known = current;
  }

  function check(): Promise<void> {
    if (running !== undefined) return running;
    const current = run()
      .catch((err: unknown) => {
        logger.debug('state check did not complete; the next one retries', { err });
      })
      .finally(() => {
        running = undefined;
      });
    running = current;
    return current;
  }

  return {
    /**
     * Learns the epoch, then checks it every `everyMs` and after every reconnect; `lost` runs each
     * time Redis is found to have lost vcu's state.
     */
    async start(lost: () => Promise<void>): Promise<void> {
      onLost = lost;
      await check();
      timer = setInterval(() => void check(), everyMs);
      timer.unref();
      redis.on('ready', () => void check());
    },
    /** The epoch this process has seen and acted on; undefined before the first check. */
    get known(): string | undefined {
      return known;
    },
    stop(): void {
      clearInterval(timer);
    },
  };
}
