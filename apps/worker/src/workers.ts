import { Worker } from 'bullmq';
import type { Config } from '@vcu/config';
import { type Logger, logEvent } from '@vcu/logger';
import { FINALIZE_SCHEDULER_ID, type JobMap, type JobName, QUEUE_OF, type Queues, backoffStrategy, jobOptions } from '@vcu/queue';
import type { RedisClient } from '@vcu/redis';
import { type Handlers, describeFailure } from './runtime.js';
import { FINALIZE_STUCK_AFTER_MS, FINALIZE_WATCH_EVERY_MS, MAX_STALLED_COUNT, SCHEDULER_REFRESH_MS, STALLED_CHECK_MAX_MS } from './tuning.js';

export interface WorkerDeps {
  readonly redis: RedisClient;
  readonly config: Config;
  readonly logger: Logger;
  /** True for the first report of each distinct connection failure in a minute (connect()). */
  readonly connectionWarning: (text: string) => boolean;
  /** Says "Redis is out of memory" when the error is its OOM reply (connect()). */
  readonly outOfMemory: (err: unknown) => boolean;
}

/** A BullMQ worker for one job name, its errors, stalls and failures said as events. */
export function startWorker<N extends JobName>(deps: WorkerDeps, name: N, processor: Handlers[N], concurrency: number): Worker<JobMap[N]> {
  const { config, logger } = deps;
  const worker = new Worker<JobMap[N]>(QUEUE_OF[name], processor, {
    connection: deps.redis,
    prefix: config.redis.keyPrefix,
    concurrency,
    // a killed worker's job goes back to the queue once its lock expires
    lockDuration: config.worker.lockMs,
    stalledInterval: Math.min(config.worker.lockMs, STALLED_CHECK_MAX_MS),
    maxStalledCount: MAX_STALLED_COUNT,
    settings: { backoffStrategy: backoffStrategy(name) },
  });
  worker.on('error', (err) => deps.outOfMemory(err) || (deps.connectionWarning(err.message) && logEvent(logger, 'worker.error', { queue: worker.name, err })));
  worker.on('stalled', (jobId) => logEvent(logger, 'job.stalled', { queue: worker.name, job: jobId }));
  worker.on('failed', (job, err) => {
    // upload-chunk logs its own outcomes with stream, chunk, attempt and duration
    if (job === undefined || name === 'upload-chunk') return;
    logEvent(logger, 'job.failed', { name, job: job.id, attempt: `${job.attemptsMade}/${job.opts.attempts ?? 1}`, ...describeFailure(err) });
  });
  return worker;
}

/**
 * The finalize job scheduler (one sweep every FINALIZE_EVERY_MS, one at a time across all
 * replicas), set now, after every reconnect and every SCHEDULER_REFRESH_MS, so that it comes back
 * if Redis lost its data. Upserting is idempotent. Returns what stops the upkeep.
 */
export async function keepFinalizeScheduler({ redis, config, logger }: WorkerDeps, queues: Pick<Queues, 'finalize'>): Promise<() => void> {
  const ensure = async (): Promise<void> => {
    await queues.finalize.setGlobalConcurrency(1);
    await queues.finalize.upsertJobScheduler(FINALIZE_SCHEDULER_ID, { every: config.finalizeEveryMs }, { name: 'finalize', data: {}, opts: jobOptions('finalize') });
  };
  const refresh = (): void => void ensure().catch((err: unknown) => logEvent(logger, 'finalize.scheduler-failed', { err }));
  await ensure();
  const timer = setInterval(refresh, SCHEDULER_REFRESH_MS);
  timer.unref();
  redis.on('ready', refresh);
  return () => clearInterval(timer);
}

/** What the finalize watchdog reads of the finalize queue at one moment. */
export interface FinalizeQueueSample {
  /** Finalize jobs running, on any worker. */
  readonly active: number;
  /** Ids of the finalize jobs waiting to be taken. */
  readonly waiting: readonly string[];
}

/**
 * Tells from samples of the finalize queue, taken one after another, whether finalize is stuck:
 * some job has been waiting at every sample for `stuckAfterMs` while no sweep was running at any
 * of them. Returns how long it has waited then (undefined otherwise). A sweep running anywhere
 * (global concurrency 1: a long one holds the others back) or an empty wait list starts over.
 */
export function createStallDetector(stuckAfterMs: number): { check(sample: FinalizeQueueSample, now: number): number | undefined; reset(): void } {
  let firstSeen = new Map<string, number>();
  return {
    check(sample, now) {
      if (sample.active > 0 || sample.waiting.length === 0) {
        firstSeen = new Map();
        return undefined;
      }
      firstSeen = new Map(sample.waiting.map((id) => [id, firstSeen.get(id) ?? now]));
      const waited = now - Math.min(...firstSeen.values());
      return waited >= stuckAfterMs ? waited : undefined;
    },
    reset() {
      firstSeen = new Map();
    },
  };
}

/**
 * Keeps a finalize worker taking jobs. After a Redis Cluster failover BullMQ's worker loop was
 * seen to hang, silently and for good, on its blocking connection (a duplicate of the Cluster
 * client): the finalize jobs waited in Redis, the marker set, nothing active, and no sweep ran.
 * When a finalize job waits FINALIZE_STUCK_AFTER_MS with none running, this worker closes its
 * finalize worker (forced, not awaited: its loop may never end) and starts a new one, with new
 * connections, and says so. `replaced` lets the caller track the new worker.
 */
export function watchFinalizeWorker(
  { logger }: Pick<WorkerDeps, 'logger'>,
  queues: Pick<Queues, 'finalize'>,
  first: Worker<JobMap['finalize']>,
  { start, replaced, everyMs = FINALIZE_WATCH_EVERY_MS, stuckAfterMs = FINALIZE_STUCK_AFTER_MS }: {
    start: () => Worker<JobMap['finalize']>;
    replaced: (old: Worker<JobMap['finalize']>, fresh: Worker<JobMap['finalize']>) => void;
    everyMs?: number;
    stuckAfterMs?: number;
  },
): { current(): Worker<JobMap['finalize']>; stop(): void } {
  let current = first;
  let checking = false;
  const detector = createStallDetector(stuckAfterMs);
  const sample = async (): Promise<FinalizeQueueSample> => {
    const [counts, waiting] = await Promise.all([queues.finalize.getJobCounts('active'), queues.finalize.getRanges(['wait'], 0, 99)]);
    return { active: counts['active'] ?? 0, waiting };
  };
  const check = async (): Promise<void> => {
    const waitedMs = detector.check(await sample(), Date.now());
    if (waitedMs === undefined) return;
    detector.reset();
    const old = current;
    current = start();
    replaced(old, current);
    logEvent(logger, 'finalize.worker-restarted', { waitedMs });
    void old.close(true).catch((err: unknown) => logEvent(logger, 'worker.error', { queue: old.name, err }));
  };
  const timer = setInterval(() => {
    if (checking) return;
    checking = true;
    void check()
      .catch((err: unknown) => {
        // what waited while Redis was away says nothing about the worker: start counting afresh
        detector.reset();
        logEvent(logger, 'finalize.watch-failed', { err });
      })
      .finally(() => (checking = false));
  }, everyMs);
  timer.unref();
  return {
    current: () => current,
    stop: () => clearInterval(timer),
  };
}
