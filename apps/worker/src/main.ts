import { stat } from 'node:fs/promises';
import type { Worker } from 'bullmq';
import { describeConfig, limitHeapGrowth, loadConfigOrExit } from '@vcu/config';
import { connect, onShutdown } from '@vcu/runtime';
import { createStreams } from '@vcu/streams';
import { canSeeWriters } from '@vcu/files';
import { createLogger, logEvent } from '@vcu/logger';
import { QUEUE_OF, jobOptions } from '@vcu/queue';
import { warnIfRedisEvicts } from '@vcu/redis';
import { createHealthCheck, createMetrics, serveMetrics } from '@vcu/metrics';
import { chunkBudget, createS3Client, headBucket, memoryNeed } from '@vcu/storage';
import { createConcurrencyTuner } from './concurrency.js';
import { MemoryBudget } from './memory-budget.js';
import { createFinalize } from './finalize/sweep.js';
import { createUploadChunk } from './jobs/upload-chunk.js';
import { MAX_CHUNK_JOBS, READY_SWEEP_WINDOW_MS, S3_PROBE_EVERY_MS, S3_SOCKETS_PER_UPLOAD, S3_SPARE_SOCKETS } from './tuning.js';
import { keepFinalizeScheduler, startWorker, watchFinalizeWorker } from './workers.js';
import { type Handlers, waitForBucket } from './runtime.js';
import { createS3Health } from './s3-health.js';
import { memoryLimitWarning, slabSize } from './memory.js';
import { deletionProblem } from './after-upload.js';

// Memory: 140 MiB + WORKER_CONCURRENCY × CHUNK_SIZE (× 2 parts for streamed chunks): memoryNeed in @vcu/storage
limitHeapGrowth();

const config = loadConfigOrExit('worker');
const cannotDelete = await deletionProblem(config.afterUpload.mode, config.watch.dir);
if (cannotDelete !== undefined) {
  process.stderr.write(`vcu worker: ${cannotDelete}\n`);
  process.exit(2);
}
const logger = createLogger({ ...config.log, defaultMeta: { app: 'worker' } });
logEvent(logger, 'app.starting', describeConfig(config));
// compose cannot compute a container's limit from these settings, so the worker checks it (WORKER_MEMORY)
const memoryWarning = memoryLimitWarning(process.constrainedMemory(), memoryNeed(config));
if (memoryWarning !== undefined) logEvent(logger, 'worker.memory-low', memoryWarning);

// while Redis is away every queue and worker reports each failed reconnect: said once a minute
const { redis, queues, store, connectionWarning, outOfMemory, probeWrite } = connect({ config, logger, name: 'vcu-worker' });
const maxChunkJobs = Math.max(config.worker.concurrency, MAX_CHUNK_JOBS);
const s3 = createS3Client({ ...config.s3, maxSockets: maxChunkJobs * S3_SOCKETS_PER_UPLOAD + S3_SPARE_SOCKETS });
const target = { client: s3, bucket: config.s3.bucket };
const streams = createStreams({ store, queues, chunkSize: config.chunkSize, logger });

const healthCheck = createHealthCheck({ redis, probeRedisWrite: probeWrite, probeS3: () => headBucket(target), probeFiles: () => stat(config.watch.dir) });
const metrics = createMetrics({ app: 'worker', queues, store, streamIdleMs: config.streamIdleMs, health: healthCheck });

const workers: Worker[] = [];
const health = createS3Health({
  target,
  endpoint: config.s3.endpoint ?? 'AWS S3',
  region: config.s3.region,
  awsLocation: config.s3.endpoint === undefined,
  probeEveryMs: S3_PROBE_EVERY_MS,
  logger,
  onDown: async () => {
    await Promise.all(workers.filter((w) => w.name === QUEUE_OF['upload-chunk']).map((w) => w.pause(true)));
  },
  onUp: async () => {
    for (const w of workers) w.resume();
    await queues.chunks.promoteJobs();
  },
});

/**
 * A sweep of the ready streams besides the scheduler's, under one job id per window: streams that
 * become ready together share a sweep; one ready after its window's sweep ran gets another.
 */
async function requestReadySweep(): Promise<void> {
  const window = Math.floor(Date.now() / READY_SWEEP_WINDOW_MS);
  await queues.finalize.add('finalize', { ready: true }, { ...jobOptions('finalize'), jobId: `ready-${window}`, removeOnComplete: true });
}

// bytes in flight bound the worker's memory; the number of jobs it takes follows the chunks' sizes
const budget = chunkBudget(config);
const tuner = createConcurrencyTuner({
  base: config.worker.concurrency,
  max: maxChunkJobs,
  budget,
  set: (n) => workers.filter((w) => w.name === QUEUE_OF['upload-chunk']).forEach((w) => (w.concurrency = n)),
});
const memory = new MemoryBudget(budget, slabSize(config), (bytes) => tuner.observe(bytes));

const handlers: Handlers = {
  'upload-chunk': createUploadChunk({
    watchDir: config.watch.dir,
    s3Prefix: config.s3.prefix,
    store,
    streams,
    target,
    logger,
    memory,
    outOfMemory,
    contentMd5: config.s3.contentMd5,
    multipart: config.multipart,
    requestFinalize: requestReadySweep,
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
    onFailure: (err) => {
      outOfMemory(err);
      health.report(err);
    },
    onComplete: () => metrics.streamsCompleted.inc(),
    assemble: config.assemble.enabled ? { keyTemplate: config.assemble.keyTemplate } : undefined,
    forgetAfterMs: config.forgetAfterMs,
    afterUpload: { ...config.afterUpload, seesWriters: config.watch.sealWhenClosed === 'on' || (config.watch.sealWhenClosed === 'auto' && canSeeWriters()) },
  }),
};

await waitForBucket({ target, config, logger });
await warnIfRedisEvicts(redis, logger);

const workerDeps = { redis, config, logger, connectionWarning, outOfMemory };
const chunkWorker = startWorker(workerDeps, 'upload-chunk', handlers['upload-chunk'], config.worker.concurrency);
const startFinalizeWorker = () => startWorker(workerDeps, 'finalize', handlers.finalize, 1);
const firstFinalizeWorker = startFinalizeWorker();
workers.push(chunkWorker, firstFinalizeWorker);
const stopScheduler = await keepFinalizeScheduler(workerDeps, queues);
const finalizeWorker = watchFinalizeWorker(workerDeps, queues, firstFinalizeWorker, {
  start: startFinalizeWorker,
  replaced: (old, fresh) => {
    const at = workers.indexOf(old);
    if (at >= 0) workers[at] = fresh;
    else workers.push(fresh);
  },
});
const metricsServer = serveMetrics({ port: config.metricsPort, metrics, health: healthCheck, logger });
logEvent(logger, 'worker.ready', { concurrency: config.worker.concurrency });

onShutdown({
  logger,
  timeoutMs: config.shutdownTimeoutMs,
  steps: [
    ['health probe', () => Promise.resolve(health.stop())],
    ['metrics server', () => new Promise<void>((resolve) => (metricsServer ? metricsServer.close(() => resolve()) : resolve()))],
    ['scheduler upkeep', () => Promise.resolve(stopScheduler())],
    ['finalize watchdog', () => Promise.resolve(finalizeWorker.stop())],
    ['finalize worker', () => finalizeWorker.current().close()],
    ['chunk worker', () => chunkWorker.close()],
    ['queues', () => queues.close()],
    ['redis', async () => void (await redis.quit())],
    ['s3', () => Promise.resolve(s3.destroy())],
  ],
});
