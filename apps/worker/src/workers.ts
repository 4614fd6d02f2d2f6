import { Worker } from 'bullmq';
import type { Config } from '@vcu/config';
import { type Logger, logEvent } from '@vcu/logger';
import { FINALIZE_SCHEDULER_ID, type JobMap, type JobName, QUEUE_OF, type Queues, backoffStrategy, jobOptions } from '@vcu/queue';
import type { RedisClient } from '@vcu/redis';
import { type Handlers, describeFailure } from './runtime.js';
import { MAX_STALLED_COUNT, SCHEDULER_REFRESH_MS, STALLED_CHECK_MAX_MS } from './tuning.js';

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
