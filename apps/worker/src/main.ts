import { stat } from 'node:fs/promises';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'bullmq';
import { describeConfig, loadConfigOrExit } from '@vcu/config';
import { connect, onShutdown } from '@vcu/runtime';
import { createStreams } from '@vcu/streams';
import { createLogger, logEvent } from '@vcu/logger';
import {
  FINALIZE_SCHEDULER_ID,
  type JobMap,
  type JobName,
  QUEUE_OF,
  backoffStrategy,
  jobOptions,
} from '@vcu/queue';
import { warnIfRedisEvicts } from '@vcu/redis';
import { createHealthCheck, createMetrics, serveMetrics } from '@vcu/metrics';
import { createS3Client, headBucket } from '@vcu/storage';
import { BufferPool } from './buffers.js';
import { createFinalize } from './finalize/sweep.js';
import { createUploadChunk } from './jobs/upload-chunk.js';
import { type Handlers, describeFailure, waitForBucket } from './runtime.js';
import { createS3Health } from './s3-health.js';
import { memoryLimitWarning, memoryNeed } from './memory.js';

// V8's default heap growth let the worker's garbage reach well past its live set: peak RSS 150 MiB
// with 4 × 10 MiB chunk buffers. Favouring size keeps it near 127 MiB at the same throughput
// (bench/: 100 MiB + WORKER_CONCURRENCY × CHUNK_SIZE is the budget).
setFlagsFromString('--optimize-for-size');

const config = loadConfigOrExit('worker');
const logger = createLogger({ ...config.log, defaultMeta: { app: 'worker' } });
logEvent(logger, 'app.starting', describeConfig(config));
// compose cannot compute a container's limit from these settings, so the worker checks it (WORKER_MEMORY)
const memoryWarning = memoryLimitWarning(process.constrainedMemory(), memoryNeed(config));
if (memoryWarning !== undefined) logEvent(logger, 'worker.memory-low', memoryWarning);

// while Redis is away every queue and worker reports each failed reconnect: said once a minute
const { redis, queues, store, connectionWarning } = connect({ config, logger, name: 'vcu-worker' });
const s3 = createS3Client({ ...config.s3, maxSockets: config.worker.concurrency * 2 + 8 });
const target = { client: s3, bucket: config.s3.bucket };
const streams = createStreams({ store, queues, chunkSize: config.chunkSize, logger });

const healthCheck = createHealthCheck({ redis, probeS3: () => headBucket(target), probeFiles: () => stat(config.watch.dir) });
const metrics = createMetrics({ app: 'worker', queues, store, streamIdleMs: config.streamIdleMs, health: healthCheck });

const workers: Worker[] = [];
const health = createS3Health({
  target,
  endpoint: config.s3.endpoint ?? 'AWS S3',
  region: config.s3.region,
  awsLocation: config.s3.endpoint === undefined,
  probeEveryMs: 2000,
  logger,
  onDown: async () => {
    await Promise.all(workers.filter((w) => w.name === QUEUE_OF['upload-chunk']).map((w) => w.pause(true)));
  },
  onUp: async () => {
    for (const w of workers) w.resume();
    await queues.chunks.promoteJobs();
  },
});

const handlers: Handlers = {
  'upload-chunk': createUploadChunk({
    watchDir: config.watch.dir,
    s3Prefix: config.s3.prefix,
    store,
    streams,
    target,
    logger,
    // chunks above MULTIPART_ABOVE are streamed, not read into one of these buffers
    buffers: new BufferPool(Math.min(config.chunkSize, config.multipart.above), config.worker.concurrency),
    contentMd5: config.s3.contentMd5,
    multipart: config.multipart,
    requestFinalize: async () => {
      // a sweep of the ready streams besides the scheduler's; one job id per 100 ms, so a thousand
      // small files finishing together ask for a handful of sweeps, not a thousand
      const window = Math.floor(Date.now() / 100);
      await queues.finalize.add('finalize', { ready: true }, { ...jobOptions('finalize'), jobId: `ready-${window}`, removeOnComplete: true });
    },
    events: {
      uploaded(bytes, seconds) {
        metrics.chunksUploaded.inc();
        metrics.bytesUploaded.inc(bytes);
        metrics.chunkUploadSeconds.observe(seconds);
      },
      failed(err, final) {
        metrics.chunksFailed.inc({ final: String(final) });
        health.report(err);
      },
    },
  }),
  finalize: createFinalize({
    watchDir: config.watch.dir,
    s3Prefix: config.s3.prefix,
    streamIdleMs: config.streamIdleMs,
    uploadGraceMs: config.worker.lockMs,
    store,
    queues,
    target,
    streams,
    logger,
    s3Up: () => health.up,
    onFailure: (err) => health.report(err),
    onComplete: () => metrics.streamsCompleted.inc(),
    assemble: config.assemble.enabled ? { keyTemplate: config.assemble.keyTemplate } : undefined,
  }),
};

await waitForBucket({ target, config, logger });
await warnIfRedisEvicts(redis, logger);

function startWorker<N extends JobName>(name: N, processor: Handlers[N], concurrency: number): Worker<JobMap[N]> {
  const worker = new Worker<JobMap[N]>(QUEUE_OF[name], processor, {
    connection: redis,
    prefix: config.redis.prefix,
    concurrency,
    // a killed worker's chunk goes back to the queue once its lock expires; let that happen many
    // times rather than fail the job: a chunk is only ever lost by moving it to the failed set
    lockDuration: config.worker.lockMs,
    stalledInterval: Math.min(config.worker.lockMs, 30_000),
    maxStalledCount: 1000,
    settings: { backoffStrategy: backoffStrategy(name) },
  });
  worker.on('error', (err) => connectionWarning(err.message) && logEvent(logger, 'worker.error', { queue: worker.name, err }));
  worker.on('stalled', (jobId) =>
    logEvent(logger, 'job.stalled', { queue: worker.name, job: jobId }),
  );
  worker.on('failed', (job, err) => {
    // upload-chunk logs its own outcomes with stream, chunk, attempt and duration
    if (job === undefined || name === 'upload-chunk') return;
    logEvent(logger, 'job.failed', { name, job: job.id, attempt: `${job.attemptsMade}/${job.opts.attempts ?? 1}`, ...describeFailure(err) });
  });
  workers.push(worker);
  return worker;
}

/**
 * The finalize scheduler and its global concurrency of 1 live in Redis: set them at start, after
 * every reconnect and every 30 s, so they come back if Redis lost its data. Upserting is idempotent.
 */
async function ensureFinalizeScheduler(): Promise<void> {
  await queues.finalize.setGlobalConcurrency(1);
  await queues.finalize.upsertJobScheduler(
    FINALIZE_SCHEDULER_ID,
    { every: config.finalizeEveryMs },
    { name: 'finalize', data: {}, opts: jobOptions('finalize') },
  );
}
const keepScheduler = (): void =>
  void ensureFinalizeScheduler().catch((err: unknown) => logger.debug('could not refresh the finalize scheduler', { err }));

const chunkWorker = startWorker('upload-chunk', handlers['upload-chunk'], config.worker.concurrency);
const finalizeWorker = startWorker('finalize', handlers.finalize, 1);
await ensureFinalizeScheduler();
const schedulerTimer = setInterval(keepScheduler, 30_000);
schedulerTimer.unref();
redis.on('ready', keepScheduler);
const metricsServer = serveMetrics({ port: config.metricsPort, metrics, health: healthCheck, logger });
logEvent(logger, 'worker.ready', { concurrency: config.worker.concurrency });

onShutdown({
  logger,
  timeoutMs: config.shutdownTimeoutMs,
  steps: [
    ['health probe', () => Promise.resolve(health.stop())],
    ['metrics server', () => new Promise<void>((resolve) => (metricsServer ? metricsServer.close(() => resolve()) : resolve()))],
    ['scheduler upkeep', () => Promise.resolve(clearInterval(schedulerTimer))],
    ['finalize worker', () => finalizeWorker.close()],
    ['chunk worker', () => chunkWorker.close()],
    ['queues', () => queues.close()],
    ['redis', async () => void (await redis.quit())],
    ['s3', () => Promise.resolve(s3.destroy())],
  ],
});
