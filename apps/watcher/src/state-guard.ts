import type { RedisClient } from '@vcu/redis';
import { type Logger, logEvent } from '@vcu/logger';
import type { StreamStore } from '@vcu/state';

export interface StateGuardDeps {
  readonly redis: RedisClient;
  readonly store: StreamStore;
  readonly everyMs: number;
  readonly logger: Logger;
}

/**
 * Why the state is rebuilt: `lost` when the epoch marker is gone or different (Redis restarted
 * empty, was flushed, failed over to an empty replica); `server-changed` when another Redis server
 * answers with the same epoch (a Sentinel or Cluster failover, or a restart from its files): it
 * holds an earlier copy of vcu's state, which may lack the writes acknowledged last.
 */
export type StateLoss = 'lost' | 'server-changed';

/** Whether the run id is the one seen before ('' when the server would not say: no news). */
function sameServer(server: string, knownServer: string | undefined): boolean {
  return server === knownServer || server === '' || knownServer === '';
}

/**
 * Notices when Redis loses its data, whole or in part, and has vcu rebuild what may be missing.
 * Checked after every reconnect and every `everyMs`.
 *
 * A promoted replica (or a server restarted from its append-only file) has the epoch marker but
 * may lack the last writes before the failover: chunk records, new streams, added jobs. Replication
 * keeps their order, so what it holds is everything up to some point. vcu treats it as a partial
 * loss: it replaces the epoch marker (so every chunk record made before is checked in S3 again
 * before finalize trusts it, and streams created meanwhile are marked recovered), then runs the
 * same recovering rescan as after a total loss.
 */
export function guardState({ redis, store, everyMs, logger }: StateGuardDeps) {
  let known: string | undefined;
  let knownServer: string | undefined;
  let running: Promise<void> | undefined;
  let onLost: (why: StateLoss) => Promise<void> = () => Promise.resolve();
  let timer: NodeJS.Timeout | undefined;

  async function run(): Promise<void> {
    const { epoch: current, server } = await store.epochAndServer();
    if (known === undefined || (current === known && sameServer(server, knownServer))) {
      known = current;
      knownServer = server;
      return;
    }
    const why: StateLoss = current === known ? 'server-changed' : 'lost';
    if (why === 'server-changed') logEvent(logger, 'redis.server-changed', { from: knownServer, to: server });
    const epoch = why === 'server-changed' ? await store.renewEpoch(known) : current;
    // the rescan runs while `known` still names the earlier epoch, so every stream created
    // meanwhile, by the rescan or by any other sync, is marked recovered (see CREATE_STREAM)
    await onLost(why);
    known = epoch;
    knownServer = server;
  }

  function check(): Promise<void> {
    const current =
      running ??
      run()
        .catch((err: unknown) => void logger.debug('state check did not complete; the next one retries', { err }))
        .finally(() => {
          running = undefined;
        });
    running = current;
    return current;
  }

  return {
    /**
     * Learns the epoch, then checks it every `everyMs` and after every reconnect; `lost` runs each
     * time Redis is found to have lost vcu's state, whole or in part.
     */
    async start(lost: (why: StateLoss) => Promise<void>): Promise<void> {
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
