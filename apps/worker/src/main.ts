import { Worker } from 'bullmq';
import { describeConfig, loadConfigOrExit } from '@vcu/config';
import { createObserver, onShutdown } from '@vcu/core';
import { createLogger } from '@vcu/logger';
import {
  FINALIZE_SCHEDULER_ID,
  type JobMap,
  type JobName,
  QUEUE_OF,
  backoffStrategy,
  createQueues,
  createRedis,
  jobOptions,
} from '@vcu/queue';
import { createStreamStore } from '@vcu/state';
import { createS3Client } from '@vcu/storage';
import { createFinalize } from './jobs/finalize.js';
import { createUploadChunk } from './jobs/upload-chunk.js';
import { type Handlers, describeFailure, waitForBucket } from './runtime.js';


const config = loadConfigOrExit('worker');

const logger = createLogger({ ...config.log, defaultMeta: { app: 'worker' } });
logger.info('worker starting', describeConfig(config));

const redis = createRedis({ url: config.redis.url, name: 'vcu-worker', log: logger });
const queues = createQueues({
  connection: redis,
  prefix: config.redis.prefix,
  onError: (err, queue) => logger.warn('queue error', { queue, err }),
});
const store = createStreamStore({ redis, prefix: config.redis.prefix });
const s3 = createS3Client({ ...config.s3, maxSockets: config.worker.concurrency * 2 + 8 });
const target = { client: s3, bucket: config.s3.bucket };
const observe = createObserver({ store, queues, chunkSize: config.chunkSize, logger });

const handlers: Handlers = {
  'upload-chunk': createUploadChunk({ watchDir: config.watch.dir, s3Prefix: config.s3.prefix, store, target, logger }),
  finalize: createFinalize({
    watchDir: config.watch.dir,
    s3Prefix: config.s3.prefix,
    streamIdleMs: config.streamIdleMs,
    store,
    queues,
    target,
    observe,
    logger,
  }),
};

await waitForBucket({ target, config, logger });

function startWorker<N extends JobName>(name: N, processor: Handlers[N], concurrency: number): Worker<JobMap[N]> {
  const worker = new Worker<JobMap[N]>(QUEUE_OF[name], processor, {
    connection: redis,
    prefix: config.redis.prefix,
    concurrency,
    autorun: true,
    // a killed worker's chunk goes back to the queue after lockDuration; retry it many times
    // rather than fail it: a chunk is only ever lost by moving it to the failed set
    lockDuration: 60_000,
    stalledInterval: 30_000,
    maxStalledCount: 100,
    settings: { backoffStrategy: backoffStrategy(name) },
  });
  worker.on('error', (err) => logger.warn('worker error', { queue: worker.name, err }));
  worker.on('failed', (job, err) => {
    // upload-chunk logs its own outcomes with stream, chunk, attempt and duration
    if (job === undefined || name === 'upload-chunk') return;
    logger.warn(`${name} job failed`, { job: job.id, attempt: `${job.attemptsMade}/${job.opts.attempts ?? 1}`, ...describeFailure(err) });
  });
  return worker;
}

const chunkWorker = startWorker('upload-chunk', handlers['upload-chunk'], config.worker.concurrency);
const finalizeWorker = startWorker('finalize', handlers.finalize, 1);
// one sweep at a time across every replica, whichever takes it
await queues.finalize.setGlobalConcurrency(1);
await queues.finalize.upsertJobScheduler(
  FINALIZE_SCHEDULER_ID,
  { every: config.finalizeEveryMs },
  { name: 'finalize', data: {}, opts: jobOptions('finalize') },
);
logger.info('worker ready', { concurrency: config.worker.concurrency });

onShutdown({
  logger,
  timeoutMs: config.shutdownTimeoutMs,
  steps: [
    ['finalize worker', () => finalizeWorker.close()],
    ['chunk worker', () => chunkWorker.close()],
    ['queues', () => queues.close()],
    ['redis', async () => void (await redis.quit())],
    ['s3', () => Promise.resolve(s3.destroy())],
  ],
});
